"""The model store: installed checkpoints, importing one from disk, downloading one.
Standard library only (it runs inside Blender; the torch check of the weights is
backend/models/store_job.py, run by the add-on in the backend's own Python; downloads are
backend/modeldownload.py).

    entries = catalogue(shipped_dir, user_dir)          # [ModelEntry], shipped first
    info = inspect_checkpoint(path)                     # CheckpointInfo or ModelStoreError
    entry = import_checkpoint(path, user_dir, name="mine", verify=None)
    path = resolve_user_model(user_dir, "mine")         # what a job may load: inside user_dir

A checkpoint is torch.save's zip archive. ``inspect_checkpoint`` proves it whole (every
member's CRC) and reads its top-level dict with an unpickler that imports nothing (every
class it names becomes an inert placeholder), so format, version and licence are known
without torch and without running code from the file.
"""
from __future__ import annotations

import hashlib
import io
import json
import pickle
import re
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from . import fileio

# format string of each family -> (family, what it is, readable versions (min, max), key of
# its licence dict). Kept equal to the families' own constants by tests/test_modelstore.py.
FAMILIES = {
    "anima-text2motion": ("text2motion", "text-to-motion", (2, 2), "dataset"),
    "anima-inbetween": ("inbetween", "in-betweening", (1, 1), "meta"),
    "anima-camera-next-pose": ("camera_next_pose", "next-camera-pose", (1, 1), None),
    "anima-reader-net": ("reader_net", "prompt-reader", (1, 1), "meta"),
}
RESERVED_NAMES = {"starter", "clean"}          # the generate job's names of shipped models
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_PICKLE_BYTES = 16 << 20                    # a checkpoint's data.pkl (weights are apart)
CHUNK = 1 << 20


class ModelStoreError(Exception):
    """A model file or request that cannot be used; str() is a message for the user."""


@dataclass
class CheckpointInfo:
    family: str
    version: int
    licence: str = "unknown"
    commercial_ok: bool = False
    attribution: str = ""


@dataclass
class ModelEntry:
    """One installed checkpoint. id: the file's stem; source: "shipped" | "user"."""
    id: str
    path: Path
    source: str
    size: int
    family: str = "unknown"
    licence: str = "unknown"
    commercial_ok: bool = False
    title: str = ""
    data_card: str = ""
    card_path: Path | None = None
    problem: str = ""                           # why the file is not usable ("" if it is)
    sha256: str = ""


# ----------------------------------------------------------------------------- reading
class _Inert:
    """Stands for any object the pickle names (tensors, storages, dtypes)."""

    def __init__(self, *args, **kwargs):
        self.args = args

    def __setstate__(self, state):
        self.state = state


class _PeekUnpickler(pickle.Unpickler):
    def find_class(self, module, name):        # never imports: no code from the file runs
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        return type(f"{module}.{name}", (_Inert,), {})

    def persistent_load(self, pid):
        return _Inert(pid)


def _read_top_dict(path: Path) -> dict:
    if not path.is_file():
        raise ModelStoreError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise ModelStoreError(f"{path}: the file is empty")
    if not zipfile.is_zipfile(path):
        raise ModelStoreError(f"{path}: not a PyTorch checkpoint (no zip archive: the file is "
                              f"truncated, corrupt or of another kind)")
    try:
        with zipfile.ZipFile(path) as zf:
            pkl = [i for i in zf.infolist() if i.filename.endswith("/data.pkl")]
            if len(pkl) != 1:
                raise ModelStoreError(f"{path}: not a PyTorch checkpoint (no data.pkl inside)")
            bad = zf.testzip()
            if bad is not None:
                raise ModelStoreError(f"{path}: the file is corrupt ({bad} fails its checksum)")
            if pkl[0].file_size > MAX_PICKLE_BYTES:
                raise ModelStoreError(f"{path}: checkpoint header too large")
            data = zf.read(pkl[0])
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise ModelStoreError(f"{path}: the file is corrupt or truncated ({e})") from None
    try:
        obj = _PeekUnpickler(io.BytesIO(data)).load()
    except Exception as e:  # noqa: BLE001 - any unpickling failure means "corrupt"
        raise ModelStoreError(f"{path}: unreadable checkpoint ({type(e).__name__})") from None
    if not isinstance(obj, dict):
        raise ModelStoreError(f"{path}: not an Anima checkpoint (holds {type(obj).__name__})")
    return obj


def inspect_checkpoint(path, expect_family: str | None = None) -> CheckpointInfo:
    """Family, version and licence of an Anima checkpoint, or ModelStoreError saying why it
    is not one this Anima reads (missing, empty, truncated, corrupt, other format/version,
    another family than `expect_family`)."""
    path = Path(path)
    ck = _read_top_dict(path)
    fmt = ck.get("format")
    if fmt not in FAMILIES:
        raise ModelStoreError(f"{path}: not an Anima model checkpoint (format {fmt!r}; known: "
                              f"{', '.join(sorted(FAMILIES))})")
    family, what, (low, high), licence_key = FAMILIES[fmt]
    version = ck.get("version")
    if not isinstance(version, int) or not low <= version <= high:
        raise ModelStoreError(f"{path}: {what} checkpoint version {version!r}; this Anima "
                              f"reads version {low}..{high} (update Anima or the model)")
    if expect_family and family != expect_family:
        raise ModelStoreError(f"{path}: a {family} checkpoint, not the {expect_family} model "
                              f"expected")
    meta = ck.get(licence_key) if licence_key else None
    info = CheckpointInfo(family, version)
    if isinstance(meta, dict):
        info.licence = str(meta.get("licence") or "unknown")
        info.commercial_ok = meta.get("commercial_ok") is True
        info.attribution = str(meta.get("attribution") or "")
    return info


def file_sha256(path, cancel=None) -> str:
    """Hex SHA-256 of a file; `cancel` (a threading.Event) stops it between chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            if cancel is not None and cancel.is_set():
                raise ModelStoreError("cancelled")
            h.update(chunk)
    return h.hexdigest()


_CACHE: dict[tuple, object] = {}               # (kind, path, size, mtime) -> result


def _cached(kind: str, path: Path, compute):
    st = path.stat()
    key = (kind, str(path), st.st_size, st.st_mtime_ns)
    if key not in _CACHE:
        _CACHE[key] = compute(path)
    return _CACHE[key]


def parse_model_card(text: str) -> dict:
    """{"title", "licence", "data_card"} of a model card (.md): the first heading, the first
    bold words of its "Licence" section, its "Training data" section."""
    sections, current = {}, ""
    title = ""
    for line in text.splitlines():
        if line.startswith("# ") and not title:
            title = line[2:].strip()
        elif line.startswith("## "):
            current = line[3:].strip().lower()
            sections[current] = []
        elif current:
            sections[current].append(line)
    lic = "\n".join(sections.get("licence", sections.get("license", []))).strip()
    bold = re.search(r"\*\*(.+?)\*\*", lic)
    licence = (bold.group(1) if bold else lic.split("\n")[0]).strip().rstrip(".:")
    data = "\n".join(sections.get("training data", [])).strip()
    return {"title": title, "licence": licence or "unknown", "data_card": data}


def _entry(path: Path, source: str) -> ModelEntry:
    entry = ModelEntry(path.stem, path, source, path.stat().st_size)
    try:
        info = _cached("inspect", path, inspect_checkpoint)
        entry.family, entry.licence, entry.commercial_ok = (info.family, info.licence,
                                                            info.commercial_ok)
    except ModelStoreError as e:
        entry.problem = str(e).split(": ", 1)[-1]
    summary = path.with_suffix(".json")
    if summary.is_file():
        try:
            data = json.loads(summary.read_text(encoding="utf-8"))
            entry.licence = str(data.get("licence") or entry.licence)
            entry.commercial_ok = data.get("commercial_ok") is True
        except (OSError, ValueError, AttributeError):
            pass
    card = path.with_suffix(".md")
    if card.is_file():
        parsed = parse_model_card(card.read_text(encoding="utf-8", errors="replace"))
        entry.card_path, entry.title, entry.data_card = card, parsed["title"], parsed["data_card"]
        if entry.licence == "unknown":
            entry.licence = parsed["licence"]
    entry.sha256 = _cached("sha256", path, file_sha256)
    return entry


def catalogue(shipped_dir, user_dir=None) -> list[ModelEntry]:
    """Every .pt in `shipped_dir` (source "shipped") then in `user_dir` ("user"), sorted by
    name; files that are not usable checkpoints are listed with `problem` set."""
    out = []
    for folder, source in ((shipped_dir, "shipped"), (user_dir, "user")):
        if folder is not None and Path(folder).is_dir():
            out += [_entry(p, source) for p in sorted(Path(folder).glob("*.pt"))]
    return out


# ----------------------------------------------------------------------------- installing
def check_model_name(name: str, shipped_dir=None) -> str:
    if not NAME_RE.match(name or ""):
        raise ModelStoreError(f"model name {name!r}: use letters, digits, '_', '-' or '.' (at "
                              f"most 64, starting with a letter or digit)")
    shipped = {p.stem for p in Path(shipped_dir).glob("*.pt")} if shipped_dir else set()
    if name in RESERVED_NAMES | shipped:
        raise ModelStoreError(f"model name {name!r} is a shipped model's: choose another name")
    return name


def resolve_user_model(user_dir, model_id: str) -> Path:
    """The checkpoint of user model `model_id` (a name, never a path) inside `user_dir`."""
    check_model_name(model_id)
    folder = Path(user_dir).resolve()
    path = (folder / f"{model_id}.pt").resolve()
    if path.parent != folder or not path.is_file():
        raise ModelStoreError(f"no installed model named {model_id!r} in {folder}")
    return path


def write_summary(dest: Path, info: CheckpointInfo, sha: str, origin: str) -> None:
    summary = {"family": info.family, "licence": info.licence,
               "commercial_ok": info.commercial_ok, "attribution": info.attribution,
               "sha256": sha, "origin": origin}
    fileio.write_text(dest.with_suffix(".json"), json.dumps(summary, indent=1))


def import_checkpoint(src, user_dir, name: str | None = None, shipped_dir=None,
                      verify=None, expect_family: str | None = None
                      ) -> tuple[ModelEntry, bool]:
    """Copy checkpoint `src` into `user_dir` as `<name>.pt` (default: its own name) with its
    model card (the .md beside it, if any) and a summary .json. `verify(path)` may add a
    deeper check (raising ModelStoreError); `expect_family` refuses other families. Returns (entry, True) when copied, (entry, False)
    when the same file was already installed; a different file of that name is refused."""
    src = Path(src)
    name = check_model_name(name or src.stem, shipped_dir)
    info = inspect_checkpoint(src, expect_family)
    sha = file_sha256(src)                     # the copy must have these bytes: the checked
    if verify is not None:
        verify(src)
    folder = Path(user_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelStoreError(f"models folder {folder} cannot be created: {e.strerror}") from None
    dest = folder / f"{name}.pt"
    if dest.exists():
        if file_sha256(dest) == sha:
            return _entry(dest, "user"), False
        raise ModelStoreError(f"another model named {name!r} is already installed: choose "
                              f"another name or remove it first")
    copied = hashlib.sha256()

    try:
        card = src.with_suffix(".md")
        if card.is_file():
            fileio.write_bytes(dest.with_suffix(".md"), card.read_bytes())
        write_summary(dest, info, sha, f"imported from {src.name}")
        with fileio.atomic_write(dest) as f, open(src, "rb") as s:
            while chunk := s.read(CHUNK):
                copied.update(chunk)
                f.write(chunk)
            if copied.hexdigest() != sha:
                raise ModelStoreError(f"{src} changed while it was copied; try again")
    except (OSError, ModelStoreError) as e:
        if not dest.exists():                  # nothing half-installed stays behind
            for extra in (dest.with_suffix(".md"), dest.with_suffix(".json")):
                if extra.exists():
                    extra.unlink()
        if isinstance(e, ModelStoreError):
            raise
        raise ModelStoreError(f"cannot write {dest}: {e.strerror or e}") from None
    return _entry(dest, "user"), True


def remove_user_model(user_dir, model_id: str) -> None:
    path = resolve_user_model(user_dir, model_id)
    for p in (path, path.with_suffix(".json"), path.with_suffix(".md")):
        if p.exists():
            p.unlink()
