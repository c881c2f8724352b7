"""A compact library of canonical-skeleton clips with captions, searchable by text.

File layout (`.npz`, no pickles):
  format, version                 identification
  entries                         JSON list, one dict per clip (name, captions, source, licence,
                                  commercial_ok, attribution, fps, start, length, labels)
  local_rotations (N, 22, 4) f16  all clips' frames, concatenated
  root_translation (N, 3) f32
  caption_embeddings (C, 384) f16 one row per caption (may be absent: computed on load)
  caption_owner (C,) i32          entry index of each caption row
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..fileio import atomic_write
from ..motion import quat
from ..motion.clip import Clip
from ..motion.skeleton import CANONICAL, NUM_JOINTS

LIBRARY_FORMAT = "anima-library"
LIBRARY_VERSION = 1
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LIBRARY = REPO_ROOT / "assets" / "library" / "cmu_canonical.npz"


@dataclass
class LibraryEntry:
    name: str
    captions: list[str]
    source: str
    licence: str
    commercial_ok: bool
    attribution: str
    fps: float
    start: int = 0
    length: int = 0
    labels: dict = field(default_factory=dict)


class LibraryError(ValueError):
    pass


class MotionLibrary:
    def __init__(self, entries=None, local_rotations=None, root_translation=None,
                 caption_embeddings=None, caption_owner=None):
        self.entries: list[LibraryEntry] = list(entries or [])
        self.local_rotations = (np.zeros((0, NUM_JOINTS, 4), np.float16)
                                if local_rotations is None else local_rotations)
        self.root_translation = (np.zeros((0, 3), np.float32)
                                 if root_translation is None else root_translation)
        self.caption_embeddings = caption_embeddings
        self.caption_owner = caption_owner

    def __len__(self) -> int:
        return len(self.entries)

    # ---------------------------------------------------------------- building
    def add(self, clip: Clip, entry: LibraryEntry) -> None:
        if clip.skeleton.names != CANONICAL.names:
            raise LibraryError(f"{entry.name}: only canonical-skeleton clips go in a library")
        entry.start = int(self.local_rotations.shape[0])
        entry.length = clip.num_frames
        entry.fps = float(clip.fps)
        rots = quat.unroll(quat.normalize(clip.local_rotations)).astype(np.float16)
        self.local_rotations = np.concatenate([self.local_rotations, rots])
        self.root_translation = np.concatenate(
            [self.root_translation, clip.root_translation.astype(np.float32)])
        self.entries.append(entry)
        self.caption_embeddings = None
        self.caption_owner = None

    def embed_captions(self, encoder) -> None:
        captions, owner = [], []
        for i, e in enumerate(self.entries):
            for c in e.captions:
                captions.append(c)
                owner.append(i)
        if captions:
            # Templated captions repeat a lot (Bandai: 12k captions, <1k distinct): embed each
            # distinct text once.
            unique, inverse = np.unique(np.array(captions, dtype=object).astype(str),
                                        return_inverse=True)
            vectors = encoder.encode(list(unique)).astype(np.float16)
            self.caption_embeddings = vectors[inverse]
        else:
            self.caption_embeddings = np.zeros((0, 384), np.float16)
        self.caption_owner = np.asarray(owner, dtype=np.int32)

    # -------------------------------------------------------------------- access
    def clip(self, i: int) -> Clip:
        e = self.entries[i]
        rots = quat.normalize(self.local_rotations[e.start:e.start + e.length].astype(np.float64))
        root = self.root_translation[e.start:e.start + e.length].astype(np.float64)
        meta = {"name": e.name, "caption": e.captions[0] if e.captions else "",
                "source": e.source, "licence": e.licence, "commercial_ok": e.commercial_ok,
                "attribution": e.attribution, "labels": e.labels}
        return Clip(rots, root, e.fps, CANONICAL.copy(), meta)

    def captions(self) -> list[tuple[int, str]]:
        return [(i, c) for i, e in enumerate(self.entries) for c in e.captions]

    # ------------------------------------------------------------------------ io
    def save(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = dict(format=np.array(LIBRARY_FORMAT), version=np.int64(LIBRARY_VERSION),
                      entries=np.array(json.dumps([asdict(e) for e in self.entries])),
                      local_rotations=self.local_rotations.astype(np.float16),
                      root_translation=self.root_translation.astype(np.float32))
        if self.caption_embeddings is not None:
            arrays["caption_embeddings"] = self.caption_embeddings.astype(np.float16)
            arrays["caption_owner"] = self.caption_owner.astype(np.int32)
        with atomic_write(path) as f:
            np.savez_compressed(f, **arrays)
        return path

    @classmethod
    def load(cls, path) -> "MotionLibrary":
        path = Path(path)
        if not path.is_file():
            raise LibraryError(f"motion library not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as z:
                if "format" not in z.files or str(z["format"]) != LIBRARY_FORMAT:
                    raise LibraryError(f"{path}: not an Anima motion library")
                if int(z["version"]) > LIBRARY_VERSION:
                    raise LibraryError(f"{path}: library version {int(z['version'])} is newer "
                                       f"than this Anima understands ({LIBRARY_VERSION})")
                entries = [LibraryEntry(**e) for e in json.loads(str(z["entries"]))]
                emb = z["caption_embeddings"] if "caption_embeddings" in z.files else None
                owner = z["caption_owner"] if "caption_owner" in z.files else None
                library = cls(entries, z["local_rotations"], z["root_translation"], emb, owner)
        except LibraryError:
            raise
        except (KeyError, ValueError, OSError, TypeError, EOFError, zipfile.BadZipFile) as e:
            raise LibraryError(f"{path}: unreadable motion library ({type(e).__name__}: "
                               f"{str(e)[:200]}); import it again") from None
        library.check(path)
        return library

    def check(self, path) -> None:
        """``LibraryError`` naming the file unless the arrays agree with the entries and
        every value is finite (a NaN pose would reach the user's rig)."""
        rots, root = self.local_rotations, self.root_translation
        T = rots.shape[0]
        if rots.ndim != 3 or rots.shape[1:] != (NUM_JOINTS, 4) or root.shape != (T, 3):
            raise LibraryError(f"{path}: motion arrays of shape {rots.shape} and {root.shape} "
                               f"do not hold {NUM_JOINTS} joints per frame")
        for e in self.entries:
            if e.start < 0 or e.length < 1 or e.start + e.length > T \
                    or not (e.fps > 0 and np.isfinite(e.fps)):
                raise LibraryError(f"{path}: entry {e.name!r} (frames {e.start}.."
                                   f"{e.start + e.length - 1} at {e.fps} fps) does not fit the "
                                   f"{T} stored frames")
        bad = ~(np.isfinite(rots).all(axis=(1, 2)) & np.isfinite(root).all(axis=1))
        if bad.any():
            names = sorted({e.name for e in self.entries
                            if bad[e.start:e.start + e.length].any()})
            raise LibraryError(f"{path}: {int(bad.sum())} frames hold NaN or infinite values "
                               f"(clips {', '.join(names[:3])}{' ...' if len(names) > 3 else ''})"
                               f"; import the library again")

    @classmethod
    def merge(cls, libraries: list["MotionLibrary"]) -> "MotionLibrary":
        out = cls()
        rots, roots, embs, owners, entries = [], [], [], [], []
        offset = 0
        for lib in libraries:
            for e in lib.entries:
                d = asdict(e)
                d["start"] = e.start + offset
                entries.append(LibraryEntry(**d))
            if lib.caption_embeddings is not None:
                embs.append(lib.caption_embeddings)
                owners.append(lib.caption_owner + len(entries) - len(lib.entries))
            rots.append(lib.local_rotations)
            roots.append(lib.root_translation)
            offset += lib.local_rotations.shape[0]
        out.entries = entries
        if rots:
            out.local_rotations = np.concatenate(rots)
            out.root_translation = np.concatenate(roots)
        if embs and len(embs) == len(libraries):
            out.caption_embeddings = np.concatenate(embs)
            out.caption_owner = np.concatenate(owners)
        return out
