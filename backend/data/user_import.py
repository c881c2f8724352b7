"""A folder of the user's own clips -> a canonical MotionLibrary (numpy only).

    python -m backend import --folder DIR [--captions F.csv] [--name NAME] [--licence TEXT]

Every ``.bvh`` under DIR (any rig: bones are mapped by the skeleton's shape and names,
backend/motion/bonemap.py) goes through the same path as the shipped corpora
(backend/data/importer.py: axes -> retarget onto the canonical skeleton -> 30 fps -> on the
floor, at the origin, facing -Y). Captions come from a CSV file (columns ``file, caption[,
style]``, ``file`` relative to DIR with or without its extension, an optional header row; a
file may have several rows, one caption each) or from the file name ("walk_happy_01.bvh" ->
"walk happy"). FBX files need Blender's importer, which the backend does not have: they are
listed as skipped with a note (import them in Blender and export BVH, or use the add-on).

Errors that stop the import before anything is written (``UserImportError``): a missing or
empty folder, a malformed CSV (with its line number), a CSV row naming a file that is not in
the folder, an invalid library name, every clip failing. A clip that fails to parse or
retarget is skipped and listed in the report.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..motion import axes
from ..motion.bonemap import MappingError, auto_map
from ..motion.bvh import BvhError, read_bvh
from ..motion.retarget import RetargetError
from .importer import to_canonical
from .library import LibraryEntry, MotionLibrary
from .sources import leading_reference_frames

USER_SOURCE = "user"
DEFAULT_LICENCE = "user data: your own licence"
MOTION_SUFFIXES = (".bvh", ".fbx")
# Names of the libraries `python -m backend import --shared` writes: a user library must not
# replace them.
RESERVED_NAMES = ("default", "cmu", "bandai", "deepmimic")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Words skipped when looking for a caption's action word ("a person slowly walks" -> "walk").
_NOT_ACTIONS = {
    "a", "an", "the", "person", "man", "woman", "someone", "somebody", "he", "she", "they",
    "human", "character", "figure", "guy", "girl", "boy", "people", "actor", "is", "are",
    "was", "who", "then", "and", "slowly", "quickly", "casually", "happily", "sadly",
    "angrily", "carefully", "it", "this", "that", "one", "my", "his", "her", "their",
    "old", "young", "tired", "happy", "sad", "angry", "proud", "elderly", "child", "kid",
}


class UserImportError(ValueError):
    """A folder, captions file or option that cannot be imported; the message says why."""


@dataclass
class CaptionInfo:
    captions: list[str] = field(default_factory=list)
    style: str | None = None
    line: int = 0                       # first CSV line naming the file (0: from the name)


@dataclass
class UserImportReport:
    library_path: Path | None = None
    imported: list[str] = field(default_factory=list)     # file paths relative to the folder
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)   # (file, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)    # (file, note)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        s = f"imported {len(self.imported)} clips ({self.seconds / 60:.1f} min)"
        if self.failures:
            s += f", {len(self.failures)} failed"
        if self.skipped:
            s += f", {len(self.skipped)} skipped"
        return s


# ============================================================================ captions
def caption_from_name(path: str | Path) -> str:
    """"walk_happy_01.bvh" -> "walk happy": the file stem's words, numbers dropped."""
    stem = Path(path).stem
    stem = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem)           # camelCase -> camel Case
    words = [w.lower() for w in re.split(r"[\s_\-.]+", stem) if w]
    words = [w for w in words if not re.fullmatch(r"\d+", w)]
    return " ".join(words) or stem


def action_of(caption: str) -> str | None:
    """The caption's first verb-ish word, in a base form ("a person walks forward" -> "walk",
    "jumping jacks" -> "jump"), or None when there is no word to take."""
    for w in re.findall(r"[a-z]+", caption.lower()):
        if w in _NOT_ACTIONS or len(w) < 2:
            continue
        if w.endswith("ing") and len(w) > 5:
            w = w[:-3]
            if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]                                     # running -> run
        elif w.endswith("es") and w[-3:-2] in ("s", "x", "z") or w.endswith(("ches", "shes")):
            w = w[:-2]                                         # punches -> punch
        elif w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
            w = w[:-1]                                         # walks -> walk
        return w
    return None


def _file_key(name: str) -> str:
    """A CSV ``file`` cell or a relative path -> the key both are matched on."""
    s = name.strip().replace("\\", "/")
    while s.startswith("./"):
        s = s[2:]
    if s.lower().endswith(MOTION_SUFFIXES):
        s = s[:s.rfind(".")]
    return s.lower()


def read_captions_csv(path: Path) -> dict[str, CaptionInfo]:
    """{file key: CaptionInfo} from a CSV with the columns file, caption[, style]. A first
    row ``file, caption[, style]`` is a header. Raises UserImportError with the line number
    of a malformed row."""
    path = Path(path)
    if not path.is_file():
        raise UserImportError(f"captions file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise UserImportError(f"{path}: cannot read the captions file ({e})") from None
    out: dict[str, CaptionInfo] = {}
    reader = csv.reader(text.splitlines())
    try:
        for row in reader:
            line = reader.line_num
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if line == 1 and cells[0].lower() == "file" and len(cells) > 1 \
                    and cells[1].lower() == "caption":
                continue
            while cells and not cells[-1] and len(cells) > 2:
                cells.pop()                                    # trailing empty cells
            if len(cells) not in (2, 3):
                raise UserImportError(f"{path}, line {line}: expected 2 or 3 columns (file, "
                                      f"caption[, style]), got {len(cells)}: {row!r}")
            if not cells[0]:
                raise UserImportError(f"{path}, line {line}: the file column is empty")
            if not cells[1]:
                raise UserImportError(f"{path}, line {line}: no caption for {cells[0]!r}")
            info = out.setdefault(_file_key(cells[0]), CaptionInfo(line=line))
            if cells[1] not in info.captions:
                info.captions.append(" ".join(cells[1].split()))
            style = cells[2] if len(cells) == 3 and cells[2] else None
            if style and info.style and style.lower() != info.style:
                raise UserImportError(f"{path}, line {line}: style {style!r} for "
                                      f"{cells[0]!r} contradicts line {info.line} "
                                      f"({info.style!r})")
            info.style = info.style or (style.lower() if style else None)
    except csv.Error as e:
        raise UserImportError(f"{path}, line {reader.line_num}: malformed CSV ({e})") from None
    if not out:
        raise UserImportError(f"{path}: no captions in the file (expected rows "
                              f"'file, caption[, style]')")
    return out


# ============================================================================== motion
def _up_axis(skeleton) -> str:
    """"y_up" or "z_up": the axis along which the rest skeleton is tallest (BVH is Y-up
    almost always; some exporters write Blender's Z-up axes)."""
    _, pos = skeleton.rest_world()
    ext = np.ptp(pos, axis=0)
    return "z_up" if ext[2] > 1.5 * ext[1] and ext[2] > 1.5 * ext[0] else "y_up"


def bvh_to_canonical(path: Path):
    """One BVH file of any humanoid rig -> (canonical Clip at 30 fps, notes (list of str)).
    Raises BvhError / MappingError / RetargetError / ValueError with the reason."""
    d = read_bvh(path)
    notes = list(d.warnings)
    skel, rots, root = d.skeleton, d.local_rotations, d.root_translation
    n_ref, why = leading_reference_frames(root, d.fps)
    if n_ref:
        rots, root = rots[n_ref:], root[n_ref:]
        notes.append(f"dropped {n_ref} reference frame(s): {why}")
    if _up_axis(skel) == "y_up":
        skel, rots, root = axes.skeleton_clip_y_up_to_blender(skel, rots, root)
    else:
        notes.append("the skeleton stands along Z: read as Z-up")
    _, heads = skel.rest_world()
    bonemap = auto_map(skel.names, list(skel.parents), heads, skel.rest_tails_world())
    low = bonemap.low_confidence()
    if low:
        notes.append(f"bone mapping unsure for {', '.join(low)} ({bonemap.method})")
    src = SimpleNamespace(skeleton=skel, local_rotations=rots, root_translation=root,
                          fps=d.fps, axes="z_up")
    return to_canonical(src, bonemap.bones), notes


# ============================================================================== import
def check_library_name(name: str) -> str:
    if not _NAME_RE.match(name or ""):
        raise UserImportError(f"library name {name!r}: use letters, digits, '_', '-' or '.' "
                              f"(at most 64, starting with a letter or digit)")
    if name.lower() in RESERVED_NAMES:
        raise UserImportError(f"library name {name!r} is reserved for the shipped corpora; "
                              f"choose another --name")
    return name


def default_library_name(folder: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(folder).resolve().name).strip("_.-")
    name = name[:64] or "user"
    return name + "_user" if name.lower() in RESERVED_NAMES else name


def find_motion_files(folder: Path) -> list[Path]:
    """Every .bvh / .fbx under `folder` (any depth, case-insensitive suffix), sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and p.suffix.lower() in MOTION_SUFFIXES)


def import_folder(folder: Path, out_dir: Path, name: str | None = None,
                  captions_csv: Path | None = None, licence: str = DEFAULT_LICENCE,
                  commercial_ok: bool = False, attribution: str = "", encoder=None,
                  log=print) -> UserImportReport:
    """Import the clips under `folder` into ``out_dir/<name>_canonical.npz``.

    encoder: a TextEncoder for the caption embeddings (None: computed when searched).
    Raises UserImportError (nothing written) for the cases in the module notes."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise UserImportError(f"folder not found: {folder}")
    name = check_library_name(name or default_library_name(folder))
    licence = " ".join((licence or "").split()) or DEFAULT_LICENCE
    files = find_motion_files(folder)
    if not files:
        raise UserImportError(f"{folder}: no .bvh (or .fbx) files in the folder or below it")
    rel = {p: p.relative_to(folder).as_posix() for p in files}
    table = read_captions_csv(captions_csv) if captions_csv is not None else {}
    keys = {_file_key(r) for r in rel.values()}
    missing = sorted((info.line, k) for k, info in table.items() if k not in keys)
    if missing:
        listed = ", ".join(f"line {ln}: {k!r}" for ln, k in missing[:5])
        raise UserImportError(f"{captions_csv}: {len(missing)} row(s) name files that are "
                              f"not in {folder}: {listed}")
    report = UserImportReport()
    library = MotionLibrary()
    for path in files:
        r = rel[path]
        if path.suffix.lower() == ".fbx":
            report.skipped.append((r, "FBX needs Blender's importer, which the backend "
                                      "does not have: import it in Blender (File > Import > "
                                      "FBX) and export BVH, or retarget it with the add-on"))
            continue
        info = table.get(_file_key(r))
        if info is None:
            info = CaptionInfo([caption_from_name(r)])
            if table:
                report.notes.append(f"{r}: not in the captions file; caption from its name "
                                    f"({info.captions[0]!r})")
        try:
            clip, notes = bvh_to_canonical(path)
        except (BvhError, MappingError, RetargetError, ValueError) as e:
            report.failures.append((r, f"{type(e).__name__}: {e}"))
            continue
        report.notes += [f"{r}: {n}" for n in notes]
        labels = {"action": action_of(info.captions[0]), "style": info.style, "file": r}
        library.add(clip, LibraryEntry(
            name=f"{name}/{r}", captions=list(info.captions), source=USER_SOURCE,
            licence=licence, commercial_ok=bool(commercial_ok), attribution=attribution,
            fps=clip.fps, labels=labels))
        report.imported.append(r)
        report.seconds += clip.seconds
    if not report.imported:
        why = "; ".join(f"{f}: {w}" for f, w in (report.failures + report.skipped)[:5])
        raise UserImportError(f"{folder}: no clip could be imported ({why})")
    if encoder is not None:
        library.embed_captions(encoder)
    out = Path(out_dir) / f"{name}_canonical.npz"
    tmp = out.with_name(out.stem + ".tmp.npz")
    library.save(tmp)
    tmp.replace(out)
    report.library_path = out
    log(f"{name}: {report.summary()} -> {out}")
    for f, why in report.failures:
        log(f"  failed: {f}: {why}")
    for f, why in report.skipped:
        log(f"  skipped: {f}: {why}")
    return report
