"""Make wheel files without network access: from an installed distribution, or from a few
source files. For an offline wheel folder assembled from a working environment (same Python
and system), and for the installer's tests, which must not download anything.

STANDARD LIBRARY ONLY.

    repack_installed("numpy", "/wheels")                    # -> /wheels/numpy-1.26.4-cp311-….whl
    build_wheel("/wheels", "tiny-pkg", "1.0", {"tiny_pkg/__init__.py": "X = 1\n"},
                requires=["numpy<2"])                      # -> /wheels/tiny_pkg-1.0-py3-none-any.whl

A wheel is a zip: the package files plus `<name>-<version>.dist-info/` with METADATA, WHEEL
and RECORD (every file's sha256, urlsafe base64 without padding, and size).
"""
from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import os
import re
import zipfile
from pathlib import Path
from typing import Iterable, Mapping

# Files of an installed dist-info that belong to the installation, not to the wheel.
_INSTALL_ONLY = {"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"}


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _dist_name(name: str) -> str:
    """The file-name form of a project name (PEP 427: runs of -_. become _)."""
    return re.sub(r"[-_.]+", "_", name)


def write_wheel(path: Path, files: Iterable[tuple[str, bytes]], dist_info: str) -> Path:
    """Zip (arcname, bytes) pairs into `path` and add the RECORD of them."""
    records = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for arcname, data in files:
            zf.writestr(arcname, data)
            records.append(_record_line(arcname, data))
        records.append(f"{dist_info}/RECORD,,")
        zf.writestr(f"{dist_info}/RECORD", "\n".join(records) + "\n")
    return path


def build_wheel(folder: str | os.PathLike, name: str, version: str,
                files: Mapping[str, str], requires: Iterable[str] = ()) -> Path:
    """A pure-Python wheel of `files` ({archive path: text}) that depends on `requires`."""
    dist = _dist_name(name)
    dist_info = f"{dist}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    wheel = ("Wheel-Version: 1.0\nGenerator: anima-installer\nRoot-Is-Purelib: true\n"
             "Tag: py3-none-any\n")
    content = [(arc, text.encode()) for arc, text in files.items()]
    content += [(f"{dist_info}/METADATA", meta.encode()), (f"{dist_info}/WHEEL", wheel.encode())]
    return write_wheel(Path(folder) / f"{dist}-{version}-py3-none-any.whl", content, dist_info)


def repack_installed(name: str, folder: str | os.PathLike) -> Path:
    """A wheel of the distribution `name` as installed in this interpreter (its RECORD lists
    the files; compiled caches and files outside site-packages, e.g. scripts, are left out:
    pip makes scripts again from entry_points.txt)."""
    dist = metadata.distribution(name)
    wheel_text = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel_text.splitlines()
            if line.startswith("Tag:")]
    if not tags:
        raise ValueError(f"{name} has no WHEEL tag (not installed from a wheel)")
    version = dist.version
    dist_info = f"{_dist_name(dist.metadata['Name'])}-{version}.dist-info"
    base = Path(dist.locate_file(""))
    content = []
    for item in dist.files or ():
        arc = item.as_posix()
        if arc.startswith("..") or "__pycache__" in arc or arc.endswith(".pyc"):
            continue
        top = arc.split("/", 1)[0]
        if top.endswith(".dist-info"):
            leaf = arc.split("/", 1)[1]
            if leaf in _INSTALL_ONLY:
                continue
            arc = f"{dist_info}/{leaf}"
        source = base / item
        if source.is_file():
            content.append((arc, source.read_bytes()))
    filename = f"{_dist_name(dist.metadata['Name'])}-{version}-{tags[0]}.whl"
    return write_wheel(Path(folder) / filename, content, dist_info)
