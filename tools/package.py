"""Build the installable extension zip: `make package` -> dist/anima-<version>.zip.

    python tools/package.py --out dist/ [--source .] [--allow-untracked] [--python PY]

`blender --command extension build` rules: the manifest is validated like `extension validate`
does (plus an SPDX licence) and a bad one fails naming the field, writing nothing; the files are
the tree minus `[build] paths_exclude_pattern` (gitignore-style as Blender reads it: anchored
only with a leading "/", a trailing "/" for folders only, `**` across folders, `!` re-includes,
the last match wins) or exactly `[build] paths`; the manifest (at the zip's root) and its
`wheels` always ship. Unlike Blender's build the zip is deterministic (sorted entries, fixed
dates and modes). Before the zip is kept, the packed tree is checked: every .py compiles and its
imports of the add-on's own modules resolve in the package; no excluded or development path
slipped in; every backend module imports from the extracted zip with the backend's python
(`--python`, default the repository's .venv); in a git checkout every packed file is tracked
(`--allow-untracked` lifts this). docs/install.md, section Packaging.
"""
from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
MANIFEST_NAME = "blender_manifest.toml"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)           # the earliest date a zip entry can hold
STORED_SUFFIXES = (".whl", ".zip", ".gz", ".bz2", ".xz", ".zst", ".7z")   # already compressed
DEV_ROOTS = {"tests", "tools", "docs", "out", "dist", "build"}      # at the top of the tree
DEV_FOLDERS = {".venv", ".cache", ".git", ".pytest_cache", "__pycache__"}  # at any depth
DEV_SUFFIXES = (".pyc", ".pyo", ".blend1")
PERMISSION_KEYS = {"files", "network", "clipboard", "camera", "microphone"}
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                    r"(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
SPDX = re.compile(r"^SPDX:[A-Za-z0-9][A-Za-z0-9.+-]*$")
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
TERSE_MAX = 64                               # Blender's limit for tagline and permission reasons


class PackageError(Exception):
    """The package cannot be built; str() says what to fix (one problem per line)."""


# ----------------------------------------------------------------------------- manifest
def _terse_text_error(value: str) -> str | None:
    """Blender's rule for one-line texts (tagline, permission reasons)."""
    if len(value) > TERSE_MAX:
        return f"must be at most {TERSE_MAX} characters (has {len(value)})"
    if not (value[-1].isalnum() or value[-1] in ")]}"):
        return "must not end with punctuation"
    return None


def _string_list(value, may_be_empty: bool = False) -> bool:
    return isinstance(value, list) and (may_be_empty or bool(value)) and all(
        isinstance(v, str) and v.strip() for v in value)


def blender_tags() -> set[str] | None:
    """The add-on tags Blender accepts (read from the installed `bpy`, without importing it),
    or None when no `bpy` is installed."""
    import importlib.util
    spec = importlib.util.find_spec("bpy")
    for root in (spec.submodule_search_locations or []) if spec else []:
        for tags_py in Path(root).glob("*/scripts/modules/_bpy_internal/extensions/tags.py"):
            for node in ast.parse(tags_py.read_text(encoding="utf-8")).body:
                if (isinstance(node, ast.Assign) and len(node.targets) == 1
                        and getattr(node.targets[0], "id", "") == "addons"):
                    return set(ast.literal_eval(node.value))
    return None


def _is_identifier(v: str) -> bool:
    return v.isidentifier() and "__" not in v and not v.startswith("_") and not v.endswith("_")


# field: (required, check(value) -> None or what is wrong); strings are checked for emptiness,
# surrounding spaces and control characters first.
TEXT_FIELDS = {
    "schema_version": (True, lambda v: None if SEMVER.match(v) else
                       f"must be a semantic version like 1.0.0, found {v!r}"),
    "id": (True, lambda v: None if _is_identifier(v) else "must be a Python identifier "
           f"without leading, trailing or double underscores, found {v!r}"),
    "version": (True, lambda v: None if SEMVER.match(v) else
                f"must be a semantic version like 1.0.0, found {v!r}"),
    "name": (True, lambda v: None),
    "tagline": (True, _terse_text_error),
    "maintainer": (True, lambda v: None),
    "type": (True, lambda v: None if v in ("add-on", "theme") else
             f"must be 'add-on' or 'theme', found {v!r}"),
    "blender_version_min": (True, lambda v: None if re.fullmatch(r"\d+\.\d+\.\d+", v) else
                            f"must be three numbers like 4.2.0, found {v!r}"),
    "blender_version_max": (False, lambda v: None if re.fullmatch(r"\d+\.\d+\.\d+", v) else
                            f"must be three numbers like 4.2.0, found {v!r}"),
    "website": (False, lambda v: None),
}


def manifest_errors(data: dict, source: Path | None = None) -> list[str]:
    """Every problem of a parsed manifest, each naming its field ([] when valid)."""
    errors = []
    for key, (required, check) in TEXT_FIELDS.items():
        value = data.get(key)
        if value is None:
            why = "missing (required)" if required else None
        elif not isinstance(value, str):
            why = f"must be a string, not {type(value).__name__}"
        elif not value.strip() or value != value.strip() or CONTROL_CHARS.search(value):
            why = "must be non-empty, without surrounding spaces or control characters"
        else:
            why = check(value)
        if why:
            errors.append(f"{key}: {why}")
    licences = data.get("license")
    if not _string_list(licences):
        errors.append("license: missing or empty (a list such as [\"SPDX:GPL-3.0-or-later\"])")
    else:
        errors += [f"license: {item!r} is not an SPDX identifier such as "
                   f"\"SPDX:GPL-3.0-or-later\"" for item in licences if not SPDX.match(item)]
    permissions = data.get("permissions", {})
    if not isinstance(permissions, dict):
        errors.append("permissions: must be a table of reasons, e.g. files = \"Read clips\"")
        permissions = {}
    for key, reason in permissions.items():
        if key not in PERMISSION_KEYS:
            errors.append(f"permissions.{key}: unknown permission (one of "
                          f"{', '.join(sorted(PERMISSION_KEYS))})")
        elif not isinstance(reason, str) or not reason.strip():
            errors.append(f"permissions.{key}: needs a reason (a non-empty string)")
        elif why := _terse_text_error(reason):
            errors.append(f"permissions.{key}: the reason {why}")
    for key in ("tags", "platforms", "wheels", "copyright"):
        if key in data and not _string_list(data[key]):
            errors.append(f"{key}: must be a non-empty list of non-empty strings")
    if _string_list(data.get("tags")) and data.get("type") == "add-on":
        valid = blender_tags() or set(data["tags"])         # no bpy installed: not checked
        errors += [f"tags: {t!r} is not one of Blender's add-on tags ({', '.join(sorted(valid))})"
                   for t in data["tags"] if t not in valid]
    if _string_list(wheels := data.get("wheels")):
        if not data.get("platforms"):
            errors.append("platforms: required when wheels are bundled (e.g. [\"linux-x64\"])")
        for wheel in wheels:
            if not wheel.endswith(".whl") or "\\" in wheel:
                errors.append(f"wheels: {wheel!r} must be a forward-slash path to a .whl file")
            elif source is not None and not (source / wheel).is_file():
                errors.append(f"wheels: {wheel!r} does not exist")
    build = data.get("build", {})
    if not isinstance(build, dict):
        return errors + ["build: must be a table"]
    if "generated" in build:
        errors.append("build.generated: reserved for Blender, remove it from the source manifest")
    if "paths" in build and "paths_exclude_pattern" in build:
        errors.append("build: set either paths or paths_exclude_pattern, not both")
    errors += [f"build.{key}: must be a list of non-empty strings"
               for key in ("paths", "paths_exclude_pattern")
               if key in build and not _string_list(build[key], may_be_empty=True)]
    return errors


def load_manifest(source: Path) -> dict:
    """The validated manifest of `source` (PackageError naming every bad field)."""
    path = source / MANIFEST_NAME
    if not path.is_file():
        raise PackageError(f"{path}: not found (the extension manifest is required)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise PackageError(f"{path}: not valid TOML: {e}") from None
    if errors := manifest_errors(data, source):
        raise PackageError(f"{path}: invalid manifest:\n  " + "\n  ".join(errors))
    return data


# ----------------------------------------------------------------------------- file selection
def _component_regex(part: str) -> str:
    """One path component of a glob ('*.py', 'a?c', '[!x]y') as a regex (never crosses '/')."""
    out, i = [], 0
    while i < len(part):
        c = part[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and (end := part.find("]", i + 2)) > 0:
            body = part[i + 1:end]
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@dataclass
class ExcludePattern:
    text: str
    negate: bool = False
    dir_only: bool = False
    regex: re.Pattern = field(init=False)

    def __post_init__(self):
        pattern = self.text
        if pattern.startswith("!"):
            self.negate, pattern = True, pattern[1:]
        elif pattern.startswith("\\!"):
            pattern = pattern[1:]
        self.dir_only = pattern.endswith("/")
        anchored = pattern.startswith("/")
        parts = [p for p in pattern.strip("/").split("/") if p]
        body = ""
        for k, part in enumerate(parts):
            if part == "**":
                body += "(?:[^/]+/)*" if k < len(parts) - 1 else "(?:[^/]+/)*[^/]+"
            else:
                body += _component_regex(part) + ("/" if k < len(parts) - 1 else "")
        self.regex = re.compile((r"\A" if anchored else r"(?:\A|.*/)") + body + r"\Z", re.S)

    def matches(self, rel: str, is_dir: bool) -> bool:
        return (is_dir or not self.dir_only) and bool(self.regex.match(rel))


def _verdict(patterns: list[ExcludePattern], rel: str, is_dir: bool) -> bool:
    verdict = False
    for p in patterns:                        # the last matching pattern wins
        if p.matches(rel, is_dir):
            verdict = not p.negate
    return verdict


def is_excluded(patterns: list[ExcludePattern], rel: str, is_dir: bool) -> bool:
    """gitignore-style verdict for one path (relative, '/'-separated): excluded when it or
    one of its folders is."""
    parts = rel.split("/")
    return (any(_verdict(patterns, "/".join(parts[:k]), True) for k in range(1, len(parts)))
            or _verdict(patterns, rel, is_dir))


def select_files(source: Path, manifest: dict) -> list[str]:
    """The packed files as sorted '/'-separated paths relative to `source`."""
    build = manifest.get("build", {})
    chosen: set[str] = {MANIFEST_NAME, *(manifest.get("wheels") or ())}
    if "paths" in build:
        for item in build["paths"]:
            path = source / item
            if not path.exists():
                raise PackageError(f"build.paths: {item!r} does not exist in {source}")
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            chosen.update(p.relative_to(source).as_posix() for p in files)
        return sorted(chosen)
    patterns = [ExcludePattern(t) for t in build.get("paths_exclude_pattern",
                                                     ["__pycache__/", ".*", "/*.zip"])]

    def walk(folder: Path, prefix: str):
        for entry in sorted(folder.iterdir()):
            rel = prefix + entry.name
            if entry.is_symlink() and entry.is_dir():
                continue                      # a linked folder (e.g. a venv) is never packed
            if entry.is_dir():
                if not is_excluded(patterns, rel, True):
                    walk(entry, rel + "/")
            elif entry.is_file() and not is_excluded(patterns, rel, False):
                chosen.add(rel)

    walk(source, "")
    return sorted(chosen)


# ----------------------------------------------------------------------------- checks
def _module_exists(modules: set[str], dotted: str) -> bool:
    path = dotted.replace(".", "/")
    return f"{path}.py" in modules or f"{path}/__init__.py" in modules


def import_problems(sources: dict[str, str]) -> list[str]:
    """Compile every packed module and resolve the imports of the add-on's own code.

    sources: {'/'-separated path in the zip: source text} of the packed .py files."""
    modules = set(sources)
    problems = []
    for rel, text in sorted(sources.items()):
        try:
            tree = ast.parse(text, filename=rel)
            compile(tree, rel, "exec")
        except SyntaxError as e:
            problems.append(f"{rel}: does not compile: {e}")
            continue
        package = rel.rsplit("/", 1)[0].split("/") if "/" in rel else []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                if node.level - 1 > len(package):
                    problems.append(f"{rel}:{node.lineno}: relative import leaves the add-on")
                    continue
                base = package[:len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                if node.module:
                    if not _module_exists(modules, target):
                        problems.append(f"{rel}:{node.lineno}: imports {'.' * node.level}"
                                        f"{node.module}, which is not in the package")
                    continue
                init = sources.get("/".join(base + ["__init__.py"]), "")
                for alias in node.names:
                    if not (_module_exists(modules, ".".join(base + [alias.name]))
                            or re.search(rf"\b{re.escape(alias.name)}\b", init)):
                        problems.append(f"{rel}:{node.lineno}: imports {'.' * node.level}"
                                        f"{alias.name}, which is not in the package")
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module
                     and not node.level else [])
            for name in names:
                top = name.split(".")[0]
                if top in ("tools", "tests", "addon_loader"):
                    problems.append(f"{rel}:{node.lineno}: imports {name} (development code "
                                    f"that is not packed)")
                elif top == "backend" and not _module_exists(modules, name):
                    problems.append(f"{rel}:{node.lineno}: imports {name}, which is not in "
                                    f"the package")
    return problems


def slipped_in(names: list[str], manifest: dict) -> list[str]:
    """Packed paths that an exclusion or a development folder should have kept out."""
    patterns = [ExcludePattern(t) for t in manifest.get("build", {}).get(
        "paths_exclude_pattern", [])]
    wheels = set(manifest.get("wheels") or ())
    bad = []
    for name in names:
        if name == MANIFEST_NAME or name in wheels:
            continue
        folders = name.split("/")[:-1]
        if (folders[:1] and folders[0] in DEV_ROOTS or set(folders) & DEV_FOLDERS
                or name.endswith(DEV_SUFFIXES)
                or is_excluded(patterns, name, False)):
            bad.append(name)
    return bad


def untracked(source: Path, names: list[str]) -> list[str] | None:
    """Packed files git does not track (None when `source` is not a git checkout)."""
    try:
        out = subprocess.run(["git", "-C", str(source), "ls-files", "-z"], capture_output=True,
                             check=True, timeout=60).stdout
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None
    tracked = set(out.decode("utf-8", "replace").split("\0"))
    return [n for n in names if n not in tracked]


IMPORT_ALL = """
import importlib, os, pkgutil, sys, traceback
root = os.path.realpath(sys.argv[1])
def failed(name):
    print("FAIL", name, traceback.format_exc().strip().splitlines()[-1], flush=True)
for info in pkgutil.walk_packages([os.path.join(root, "backend")], "backend.", onerror=failed):
    if info.name.rsplit(".", 1)[-1] == "__main__":
        continue
    try:
        module = importlib.import_module(info.name)
    except Exception:
        failed(info.name)
        continue
    if not os.path.realpath(module.__file__).startswith(root + os.sep):
        print("FAIL", info.name, "imported from outside the package:", module.__file__)
"""


def import_check(zip_path: Path, python: str) -> list[str]:
    """Import every backend module of the zip, extracted to a throw-away folder, with the
    backend's `python` (the Blender layer needs Blender: the install test imports it)."""
    with tempfile.TemporaryDirectory(prefix="anima-package-") as tmp:
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(tmp)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        try:
            run = subprocess.run([python, "-c", IMPORT_ALL, tmp], capture_output=True, text=True,
                                 cwd=tmp, env=env, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            return [f"import check with {python} could not run: {e}"]
    problems = [line[5:] for line in run.stdout.splitlines() if line.startswith("FAIL ")]
    if run.returncode and not problems:
        problems.append(f"import check with {python} failed: {run.stderr.strip()[-500:]}")
    return problems


# ----------------------------------------------------------------------------- build
def write_zip(source: Path, names: list[str], zip_path: Path) -> None:
    """A deterministic zip of `names` (sorted, fixed dates and modes)."""
    with zipfile.ZipFile(zip_path, "w") as zf:
        for name in sorted(names):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.create_system = 3                       # unix, so that the mode below is read
            info.external_attr = 0o100644 << 16
            stored = name.lower().endswith(STORED_SUFFIXES)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            zf.writestr(info, (source / name).read_bytes(), compresslevel=None if stored else 9)


class BuildResult(NamedTuple):
    path: Path              # the zip
    files: int              # entries in it
    size: int               # bytes
    warnings: list[str]


def default_python() -> str | None:
    """The backend's interpreter for the import check: the repository's .venv, if made."""
    venv = REPO / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    return str(venv) if venv.exists() else None


def build(source: Path = REPO, out_dir: Path = REPO / "dist", allow_untracked: bool = False,
          python: str | None = None) -> BuildResult:
    """Validate, select, check and write `<out_dir>/<id>-<version>.zip` (PackageError when any
    check fails; then nothing is written). `python`: import every packed backend module with
    it (None: no import check)."""
    source = Path(source).resolve()
    manifest = load_manifest(source)
    if manifest["type"] == "add-on" and not (source / "__init__.py").is_file():
        raise PackageError(f"{source}: an add-on needs __init__.py at its root")
    names = select_files(source, manifest)
    problems = [f"{n}: excluded path in the package" for n in slipped_in(names, manifest)]
    py_sources = {n: (source / n).read_text(encoding="utf-8") for n in names if n.endswith(".py")}
    problems += import_problems(py_sources)
    warnings = []
    extra = untracked(source, names)
    if extra is None:
        warnings.append("not a git checkout: could not check that every packed file is tracked")
    elif extra and allow_untracked:
        warnings += [f"{n}: not tracked by git (packed, --allow-untracked)" for n in extra]
    elif extra:
        problems += [f"{n}: not tracked by git (commit it, exclude it in [build] "
                     f"paths_exclude_pattern, or pass --allow-untracked)" for n in extra]
    if problems:
        raise PackageError("the package would be broken:\n  " + "\n  ".join(problems))
    out_dir = Path(out_dir).resolve()
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    out_file = out_dir / f"{manifest['id']}-{manifest['version']}.zip"
    part = out_dir / f".{out_file.name}.part"
    try:
        write_zip(source, names, part)
        if python and (problems := import_check(part, python)):
            raise PackageError("packed modules do not import:\n  " + "\n  ".join(problems))
        part.replace(out_file)
    finally:
        part.unlink(missing_ok=True)
        if created and not any(out_dir.iterdir()):
            out_dir.rmdir()
    return BuildResult(out_file, len(names), out_file.stat().st_size, warnings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="output folder")
    parser.add_argument("--source", type=Path, default=REPO, help="the extension's folder")
    parser.add_argument("--allow-untracked", action="store_true",
                        help="pack files git does not track (a local build)")
    parser.add_argument("--python", default=default_python(),
                        help="interpreter with the backend's dependencies that imports every "
                             "packed backend module (default: the repository's .venv; "
                             "\"\": compile and resolve imports only)")
    args = parser.parse_args(argv)
    if not args.python:
        print("package: warning: packed modules compiled and their imports resolved, not "
              "imported (no --python, no .venv)", file=sys.stderr)
    try:
        result = build(args.source, args.out, args.allow_untracked, args.python or None)
    except PackageError as e:
        print(f"package: error: {e}", file=sys.stderr)
        return 1
    for warning in result.warnings:
        print(f"package: warning: {warning}", file=sys.stderr)
    print(f"{result.path}: {result.files} files, {result.size / 1e6:.1f} MB ({result.size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
