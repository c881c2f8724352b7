"""Text-to-motion training data in the HumanML3D representation (263-dim features, 20 fps).

Two ways in, one `T2MDataset` out:

- ``build_dataset(library_paths)`` from Anima's canonical motion libraries
  (assets/library/cmu_canonical.npz, the user's bandai_canonical.npz / deepmimic_canonical.npz):
  each clip is resampled to 20 fps, cut into overlapping windows when longer than
  ``window_seconds`` (every window is its own HumanML3D clip: on the floor, starting at the
  origin, facing +Z), turned into features with ``backend.motion.humanml3d.clip_to_features``,
  and mirrored (``backend.motion.mirror``) with the captions and labels mirrored as well.
- ``load_humanml3d(root)`` reads the HumanML3D layout (``new_joint_vecs/*.npy``,
  ``texts/<id>.txt``, ``train.txt``/``val.txt``/``test.txt``, ``Mean.npy``/``Std.npy``), so a user
  who owns HumanML3D trains on it with the same code.

Features are stored **un-normalised** (float32); ``mean``/``std`` (263,) are computed on the
train split, with the std averaged within each feature block as HumanML3D's ``Std.npy`` is
(so no single dimension of a block dominates) and floored at ``STD_FLOOR``. Normalise with
``(features - mean) / std``.

Splits never change: ``split_of(take)`` hashes the *take* (the original recording: a Bandai
file, a CMU trial whichever conversion it came from, a DeepMimic motion and its ``_mirror``
twin) to train 80 / val 10 / test 10. Windows and mirrored copies share their take's split, so
no recording leaks across splits.

Labels (``T2MItem.labels``): ``action`` (Bandai's content label; for CMU and DeepMimic a coarse
action derived from the trial description / file name, or None) and ``style`` (Bandai only;
dataset-1 and dataset-2 synonyms merged, see ``STYLE_SYNONYMS``; None elsewhere).

File format (``save``/``load``; one ``.npz``, no pickles): ``format``, ``version``,
``features`` (sum T, 263) float32 concatenated, ``lengths`` (N,) int64, ``items`` (JSON list,
one dict per item without features), ``mean``/``std`` (263,) float32, ``label_vocab`` and
``meta`` (JSON).
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import shlex
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..fileio import atomic_write
from ..motion import humanml3d as H
from ..motion.mirror import mirror_caption, mirror_clip, mirror_label
from ..motion.resample import resample

FPS = 20.0
MAX_SECONDS = 10.0        # window length
MIN_SECONDS = 1.0         # shorter items are dropped
HOP_SECONDS = 5.0         # window hop
STD_FLOOR = 1e-3
SPLITS = ("train", "val", "test")
DATASET_FORMAT = "anima-t2m-dataset"
DATASET_VERSION = 1
HUMANML3D_LICENCE = "HumanML3D (AMASS licences: non-commercial research)"

# Bandai dataset-1 and dataset-2 name the same styles differently.
STYLE_SYNONYMS = {"masculinity": "masculine", "old": "elderly", "tired": "exhausted"}


class DatasetError(ValueError):
    pass


# ======================================================================================
# items
# ======================================================================================
@dataclass
class T2MItem:
    name: str                 # unique: library entry name, "@<start row>" for windows,
                              # ":mirror" for mirrored copies
    take: str                 # the original recording (split key)
    features: np.ndarray      # (T, 263) float32, NOT normalised
    captions: list[str]
    labels: dict              # {"action": str | None, "style": str | None, ...}
    source: str               # "bandai" | "cmu" | "deepmimic" | "humanml3d" | ...
    licence: str
    commercial_ok: bool
    split: str                # "train" | "val" | "test"
    mirrored: bool = False

    @property
    def num_frames(self) -> int:
        return int(self.features.shape[0])

    @property
    def seconds(self) -> float:
        return self.num_frames / FPS

    def info(self) -> dict:
        """JSON-serialisable fields (everything but the features) plus the length."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "features"}
        d["length"] = self.num_frames
        return d


def split_of(take: str) -> str:
    """The split of a take: sha1 of its name -> train 80 / val 10 / test 10. Never changes."""
    h = int(hashlib.sha1(str(take).encode("utf-8")).hexdigest()[:8], 16) % 100
    return "train" if h < 80 else ("val" if h < 90 else "test")


# ======================================================================================
# the dataset
# ======================================================================================
def block_averaged_std(features: np.ndarray, floor: float = STD_FLOOR) -> np.ndarray:
    """Per-dimension std (263,) averaged within each HumanML3D feature block (as the data
    set's Std.npy is), floored at `floor`."""
    std = np.asarray(features, dtype=np.float64).std(axis=0)
    out = np.empty_like(std)
    for s in H.BLOCKS.values():
        out[s] = std[s].mean()
    return np.maximum(out, floor).astype(np.float32)


def mean_std(items: list[T2MItem]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and block-averaged std over the frames of `items` (float32)."""
    if not items:
        return (np.zeros(H.FEATURE_DIM, np.float32), np.ones(H.FEATURE_DIM, np.float32))
    # Two passes in float64 without concatenating everything at once.
    n = sum(it.num_frames for it in items)
    total = np.zeros(H.FEATURE_DIM)
    for it in items:
        total += it.features.sum(axis=0, dtype=np.float64)
    mean = total / n
    sq = np.zeros(H.FEATURE_DIM)
    for it in items:
        sq += ((it.features.astype(np.float64) - mean) ** 2).sum(axis=0)
    var = sq / n
    std = np.empty(H.FEATURE_DIM)
    for s in H.BLOCKS.values():
        std[s] = np.sqrt(var[s]).mean()
    return mean.astype(np.float32), np.maximum(std, STD_FLOOR).astype(np.float32)


def make_label_vocab(items: Iterable[T2MItem]) -> dict[str, list[str]]:
    vocab: dict[str, set] = {}
    for it in items:
        for k, v in it.labels.items():
            if k in ("action", "style") and isinstance(v, str):
                vocab.setdefault(k, set()).add(v)
    return {k: sorted(v) for k, v in sorted(vocab.items())}


class T2MDataset:
    """Items + normalisation statistics + label vocabulary + provenance."""

    def __init__(self, items: list[T2MItem], mean=None, std=None, label_vocab=None,
                 meta: dict | None = None):
        self.items: list[T2MItem] = list(items)
        if mean is None or std is None:
            m, s = mean_std([it for it in self.items if it.split == "train"] or self.items)
            mean = m if mean is None else mean
            std = s if std is None else std
        self.mean = np.asarray(mean, dtype=np.float32).reshape(H.FEATURE_DIM)
        self.std = np.asarray(std, dtype=np.float32).reshape(H.FEATURE_DIM)
        self.label_vocab = label_vocab if label_vocab is not None else \
            make_label_vocab(self.items)
        self.meta = dict(meta or {})
        self._fingerprint = None

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i) -> T2MItem:
        return self.items[i]

    def __iter__(self):
        return iter(self.items)

    def normalize(self, features) -> np.ndarray:
        return ((np.asarray(features, dtype=np.float32) - self.mean) / self.std).astype(
            np.float32)

    def denormalize(self, features) -> np.ndarray:
        return (np.asarray(features, dtype=np.float32) * self.std + self.mean).astype(np.float32)

    # ------------------------------------------------------------------ subsets
    def filter(self, split=None, commercial_only: bool = False, sources=None) -> "T2MDataset":
        """The items of `split` (a name or a list of names; None: all), only commercially
        usable ones when asked, only from `sources` (names; None: all). Same mean/std and
        label vocabulary; the items (and their feature arrays) are shared, not copied."""
        splits = None if split is None else ({split} if isinstance(split, str) else set(split))
        srcs = None if sources is None else ({sources} if isinstance(sources, str)
                                             else set(sources))
        if splits is not None and not splits <= set(SPLITS):
            raise ValueError(f"unknown split(s) {sorted(splits - set(SPLITS))}; "
                             f"use {', '.join(SPLITS)}")
        items = [it for it in self.items
                 if (splits is None or it.split in splits)
                 and (not commercial_only or it.commercial_ok)
                 and (srcs is None or it.source in srcs)]
        meta = dict(self.meta)
        meta["filter"] = {"split": sorted(splits) if splits else None,
                          "commercial_only": bool(commercial_only),
                          "sources": sorted(srcs) if srcs else None}
        return T2MDataset(items, self.mean, self.std, self.label_vocab, meta)

    # ------------------------------------------------------------------ summary
    def stats(self) -> dict:
        """Counts and minutes per source, split and licence (JSON-serialisable)."""
        def bucket(key):
            out: dict = {}
            for it in self.items:
                b = out.setdefault(key(it), {"items": 0, "takes": set(), "mirrored": 0,
                                             "minutes": 0.0})
                b["items"] += 1
                b["takes"].add(it.take)
                b["mirrored"] += int(it.mirrored)
                b["minutes"] += it.seconds / 60.0
            return {k: {"items": v["items"], "takes": len(v["takes"]),
                        "mirrored": v["mirrored"], "minutes": round(v["minutes"], 2)}
                    for k, v in sorted(out.items())}

        return {
            "items": len(self.items),
            "takes": len({it.take for it in self.items}),
            "minutes": round(sum(it.seconds for it in self.items) / 60.0, 2),
            "frames": int(sum(it.num_frames for it in self.items)),
            "by_source": bucket(lambda it: it.source),
            "by_split": bucket(lambda it: it.split),
            "by_licence": bucket(lambda it: f"{it.licence} "
                                 f"({'commercial ok' if it.commercial_ok else 'non-commercial'})"),
            "by_source_split": bucket(lambda it: f"{it.source}/{it.split}"),
            "labels": {k: len(v) for k, v in self.label_vocab.items()},
        }

    def fingerprint(self) -> str:
        """sha1 of the items (names, splits, captions, labels) and their features: the key
        under which models trained on this exact data are cached."""
        if self._fingerprint is None:
            h = hashlib.sha1()
            h.update(json.dumps([it.info() for it in self.items], sort_keys=True).encode())
            for it in self.items:
                h.update(np.ascontiguousarray(it.features, dtype=np.float32).tobytes())
            h.update(self.mean.tobytes())
            h.update(self.std.tobytes())
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    # ------------------------------------------------------------------------ io
    def save(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        lengths = np.array([it.num_frames for it in self.items], dtype=np.int64)
        feats = (np.concatenate([it.features for it in self.items]).astype(np.float32)
                 if self.items else np.zeros((0, H.FEATURE_DIM), np.float32))
        meta = dict(self.meta)
        meta["fingerprint"] = self.fingerprint()
        with atomic_write(path) as f:
            np.savez(f, format=np.array(DATASET_FORMAT), version=np.int64(DATASET_VERSION),
                     features=feats, lengths=lengths,
                     items=np.array(json.dumps([it.info() for it in self.items])),
                     mean=self.mean, std=self.std,
                     label_vocab=np.array(json.dumps(self.label_vocab)),
                     meta=np.array(json.dumps(meta)))
        return path

    @classmethod
    def load(cls, path) -> "T2MDataset":
        path = Path(path)
        if not path.is_file():
            raise DatasetError(f"text-to-motion dataset not found: {path} (build it with "
                               f"`python -m backend dataset build`)")
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["format"]) != DATASET_FORMAT:
                    raise DatasetError(f"{path}: not an Anima text-to-motion dataset")
                if int(z["version"]) > DATASET_VERSION:
                    raise DatasetError(f"{path}: dataset version {int(z['version'])} is newer "
                                       f"than this Anima understands ({DATASET_VERSION})")
                feats = z["features"]
                lengths = z["lengths"]
                infos = json.loads(str(z["items"]))
                mean, std = z["mean"], z["std"]
                vocab = json.loads(str(z["label_vocab"]))
                meta = json.loads(str(z["meta"]))
        except (KeyError, ValueError, OSError, json.JSONDecodeError) as e:
            if isinstance(e, DatasetError):
                raise
            raise DatasetError(f"{path}: unreadable text-to-motion dataset ({e})") from e
        if len(infos) != len(lengths) or int(lengths.sum()) != feats.shape[0] \
                or feats.shape[1:] != (H.FEATURE_DIM,):
            raise DatasetError(f"{path}: items and features disagree ({len(infos)} items, "
                               f"{int(lengths.sum())} frames listed, features {feats.shape})")
        names = {f.name for f in fields(T2MItem)}
        items = []
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        for i, info in enumerate(infos):
            kw = {k: v for k, v in info.items() if k in names and k != "features"}
            items.append(T2MItem(features=feats[offsets[i]:offsets[i + 1]], **kw))
        ds = cls(items, mean, std, vocab, meta)
        ds._fingerprint = meta.get("fingerprint")
        return ds


# ======================================================================================
# labels and captions of library entries
# ======================================================================================
# Coarse CMU actions from the trial description (first rule that matches wins).
_CMU_ACTION_RULES = [
    (("salsa", "dance", "indian"), "dance"),
    (("basketball", "dribble"), "dribble"),
    (("kick", "mawashigeri"), "kick"),
    (("punch", "oiduki", "strike"), "punch"),
    (("empi", "gedanbarai", "heiansyodan", "syutouuke", "karate"), "karate"),
    (("sword",), "swordplay"),
    (("jump",), "jump"),
    (("run", "jog"), "run"),
    (("walk", "stride"), "walk"),
]
ACTION_CAPTIONS = {
    "walk": "a person walks", "run": "a person runs", "jump": "a person jumps",
    "dance": "a person dances", "dribble": "a person dribbles a basketball",
    "kick": "a person kicks", "punch": "a person punches",
    "karate": "a person performs karate moves", "swordplay": "a person fights with a sword",
}
# DeepMimic file stem (without "humanoid3d_" and "_mirror") -> coarse action.
_DEEPMIMIC_ACTIONS = [
    (r"flip", "flip"), (r"cartwheel", "cartwheel"), (r"crawl", "crawl"), (r"dance", "dance"),
    (r"getup", "get-up"), (r"spinkick|kick", "kick"), (r"punch", "punch"), (r"roll", "roll"),
    (r"spin", "spin"), (r"jog|run", "run"), (r"jump", "jump"), (r"walk|zombie", "walk"),
]


def cmu_action(description: str | None) -> str | None:
    d = (description or "").lower()
    words = re.findall(r"[a-z]+", d)
    for keys, action in _CMU_ACTION_RULES:
        if any(k in w for k in keys for w in words):
            return action
    return None


def deepmimic_action(name: str) -> str | None:
    stem = re.sub(r"^(deepmimic-)?humanoid3d_", "", name)
    stem = re.sub(r"_mirror$", "", stem)
    for pattern, action in _DEEPMIMIC_ACTIONS:
        if re.search(pattern, stem):
            return action
    return None


def _dedup(captions) -> list[str]:
    out = []
    for c in captions:
        c = " ".join(str(c).split())
        if c and c not in out:
            out.append(c)
    return out


def entry_take(entry) -> str:
    """The recording an entry comes from (split key): CMU trials share it across
    conversions, a DeepMimic `_mirror` file shares it with its original."""
    if entry.source == "cmu" and entry.labels.get("trial_id"):
        return f"cmu-{entry.labels['trial_id']}"
    if entry.source == "deepmimic":
        return re.sub(r"_mirror$", "", entry.name)
    return entry.name


def entry_labels_and_captions(entry) -> tuple[dict, list[str]]:
    """(labels {"action", "style"}, captions) of a library entry."""
    lab = entry.labels or {}
    if entry.source == "bandai" and lab.get("content"):
        from .sources import bandai_captions

        content, style = lab["content"], lab.get("style")
        captions = list(entry.captions)
        if len(captions) < 3 and style:
            try:
                captions += bandai_captions(content, style)
            except KeyError:
                pass
        return ({"action": content, "style": STYLE_SYNONYMS.get(style, style)},
                _dedup(captions))
    if entry.source == "cmu":
        desc = lab.get("description") or ""
        subj = lab.get("subject_description") or ""
        action = cmu_action(desc or subj)
        # The subject description covers the subject's whole session ("various expressions
        # and human behaviors"): used only when the trial has no description of its own.
        captions = [ACTION_CAPTIONS.get(action, "")] + ([desc] if desc else [subj])
        captions = _dedup(captions) or _dedup(entry.captions)
        return {"action": action, "style": None}, captions
    if entry.source == "deepmimic":
        return {"action": deepmimic_action(entry.name), "style": None}, _dedup(entry.captions)
    action = lab.get("action") if isinstance(lab.get("action"), str) else None
    style = lab.get("style") if isinstance(lab.get("style"), str) else None
    return {"action": action, "style": style}, _dedup(entry.captions) or [entry.name]


def mirror_labels(labels: dict) -> dict:
    return {k: mirror_label(v) for k, v in labels.items()}


def window_starts(num_rows: int, window_rows: int, hop_rows: int) -> list[int]:
    """Start rows of overlapping windows covering `num_rows` rows (the last window ends at
    the end); one window at 0 when the clip fits."""
    if num_rows <= window_rows:
        return [0]
    hop_rows = max(1, hop_rows)
    starts = list(range(0, num_rows - window_rows + 1, hop_rows))
    if starts[-1] + window_rows < num_rows:
        starts.append(num_rows - window_rows)
    return starts


# ======================================================================================
# building from libraries
# ======================================================================================
def _clip_items(clip, entry, labels, captions, take, split, window_rows, hop_rows,
                min_rows, mirrored: bool) -> list[T2MItem]:
    rows = clip.num_frames - 1
    starts = window_starts(rows, window_rows, hop_rows)
    items = []
    for s in starts:
        sub = clip.slice(s, min(s + window_rows, rows) + 1)
        if sub.num_frames - 1 < min_rows:
            continue
        feats = H.clip_to_features(sub).astype(np.float32)
        name = entry.name + (f"@{s}" if len(starts) > 1 else "") + (":mirror" if mirrored
                                                                   else "")
        items.append(T2MItem(name=name, take=take, features=feats, captions=list(captions),
                             labels=dict(labels), source=entry.source, licence=entry.licence,
                             commercial_ok=bool(entry.commercial_ok), split=split,
                             mirrored=mirrored))
    return items


def build_dataset(library_paths: list[Path], mirror: bool = True,
                  window_seconds: float = MAX_SECONDS, hop_seconds: float = HOP_SECONDS,
                  min_seconds: float = MIN_SECONDS, log: Callable[[str], None] | None = None
                  ) -> T2MDataset:
    """A dataset from canonical MotionLibrary files (see the module notes).

    Missing library files raise DatasetError (the CLI checks first and reports them)."""
    from .library import MotionLibrary

    if window_seconds <= 0 or hop_seconds <= 0:
        raise ValueError("window_seconds and hop_seconds must be positive")
    window_rows = int(round(window_seconds * FPS))
    hop_rows = int(round(hop_seconds * FPS))
    min_rows = int(math.ceil(min_seconds * FPS - 1e-9))
    items: list[T2MItem] = []
    sources: dict = {}
    libs = []
    dropped = 0
    counts: dict = {}
    t0 = time.perf_counter()
    for path in library_paths:
        path = Path(path)
        lib = MotionLibrary.load(path)
        libs.append(str(path))
        n_before = len(items)
        for i, entry in enumerate(lib.entries):
            clip = lib.clip(i)
            if clip.fps != FPS:
                clip = resample(clip, FPS)
            c = counts.setdefault(entry.source, {"clips": 0, "minutes": 0.0,
                                                 "dropped_short": 0})
            if clip.num_frames - 1 < min_rows:
                dropped += 1
                c["dropped_short"] += 1
                continue
            c["clips"] += 1
            c["minutes"] += (clip.num_frames - 1) / FPS / 60.0
            labels, captions = entry_labels_and_captions(entry)
            take = entry_take(entry)
            split = split_of(take)
            items += _clip_items(clip, entry, labels, captions, take, split, window_rows,
                                 hop_rows, min_rows, False)
            if mirror:
                items += _clip_items(mirror_clip(clip), entry, mirror_labels(labels),
                                     [mirror_caption(c) for c in captions], take, split,
                                     window_rows, hop_rows, min_rows, True)
            sources.setdefault(entry.source, {"licence": entry.licence,
                                              "commercial_ok": bool(entry.commercial_ok),
                                              "attribution": entry.attribution})
        if log:
            log(f"{path.name}: {len(lib)} clips -> {len(items) - n_before} items "
                f"({time.perf_counter() - t0:.1f} s)")
    meta = {
        "sources": sources,
        "licences": sorted({s["licence"] for s in sources.values()}),
        "commercial_ok": all(s["commercial_ok"] for s in sources.values()) if sources else True,
        "libraries": libs,
        "fps": FPS, "window_seconds": window_seconds, "hop_seconds": hop_seconds,
        "min_seconds": min_seconds, "mirror": bool(mirror),
        "dropped_short_clips": dropped,
        # per source: library clips used and their minutes (before windows and mirroring)
        "clip_counts": {k: {**v, "minutes": round(v["minutes"], 2)} for k, v in counts.items()},
        "build_command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "build_seconds": round(time.perf_counter() - t0, 1),
    }
    return T2MDataset(items, meta=meta)


# ======================================================================================
# HumanML3D layout
# ======================================================================================
def _read_ids(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def _parse_texts(path: Path) -> list[tuple[str, float, float]]:
    """(caption, start, end) per line of a HumanML3D texts file ("caption#tokens#start#end";
    NaN or missing times mean the whole clip)."""
    out = []
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        parts = line.strip().split("#")
        caption = parts[0].strip()
        try:
            start = float(parts[2]) if len(parts) > 2 else 0.0
            end = float(parts[3]) if len(parts) > 3 else 0.0
        except ValueError:
            start, end = 0.0, 0.0
        start = 0.0 if math.isnan(start) else start
        end = 0.0 if math.isnan(end) else end
        if caption:
            out.append((caption, start, end))
    return out


def load_humanml3d(root, split_files: bool = True, window_seconds: float = MAX_SECONDS,
                   hop_seconds: float = HOP_SECONDS, min_seconds: float = MIN_SECONDS,
                   log: Callable[[str], None] | None = None) -> T2MDataset:
    """A dataset from a folder in the HumanML3D layout.

    - ``new_joint_vecs/<id>.npy`` (T, 263) features at 20 fps; ids starting with "M" are
      HumanML3D's mirrored copies (take = the id without the "M").
    - ``texts/<id>.txt``: captions; lines whose start/end are both 0 describe the whole clip
      (one item), others a sub-range in seconds (one item per distinct range, its rows sliced
      as HumanML3D's loader does). A clip without a texts file is skipped.
    - ``train.txt`` / ``val.txt`` / ``test.txt``: ids per split (``split_files=True``; ids in
      none are skipped). With ``split_files=False`` or no split files, ``split_of(take)``.
    - ``Mean.npy`` / ``Std.npy``: used when present, else computed on the train split.
    Items longer than ``window_seconds`` are cut into windows by slicing rows.
    """
    root = Path(root)
    vec_dir = root / "new_joint_vecs"
    if not vec_dir.is_dir():
        raise DatasetError(f"{root}: no new_joint_vecs/ folder (not the HumanML3D layout)")
    split_by_id: dict[str, str] = {}
    have_split_files = all((root / f"{s}.txt").is_file() for s in SPLITS)
    if split_files and have_split_files:
        for s in SPLITS:
            for i in _read_ids(root / f"{s}.txt"):
                split_by_id[i] = s
        ids = sorted(split_by_id)
    else:
        if split_files and log:
            log(f"{root}: no train/val/test.txt; splitting by take hash")
        ids = sorted(p.stem for p in vec_dir.glob("*.npy"))
    window_rows = int(round(window_seconds * FPS))
    hop_rows = int(round(hop_seconds * FPS))
    min_rows = int(math.ceil(min_seconds * FPS - 1e-9))
    items: list[T2MItem] = []
    skipped: dict[str, int] = {}

    def skip(why):
        skipped[why] = skipped.get(why, 0) + 1

    for cid in ids:
        vec_path = vec_dir / f"{cid}.npy"
        if not vec_path.is_file():
            skip("missing features")
            continue
        feats = np.load(vec_path, allow_pickle=False)
        if feats.ndim != 2 or feats.shape[1] != H.FEATURE_DIM or not np.isfinite(feats).all():
            skip("bad features")
            continue
        texts = _parse_texts(root / "texts" / f"{cid}.txt")
        if not texts:
            skip("no captions")
            continue
        mirrored = cid.startswith("M")
        take = cid[1:] if mirrored else cid
        split = split_by_id.get(cid) or split_of(take)
        groups: dict[tuple[float, float], list[str]] = {}
        for cap, s, e in texts:
            key = (0.0, 0.0) if (s == 0.0 and e == 0.0) else (s, e)
            groups.setdefault(key, []).append(cap)
        for (s, e), caps in groups.items():
            if (s, e) == (0.0, 0.0):
                seg, base = feats, cid
            else:
                seg = feats[int(s * FPS):int(e * FPS)]
                base = f"{cid}@{s:g}-{e:g}"
            starts = window_starts(len(seg), window_rows, hop_rows)
            for w in starts:
                part = seg[w:w + window_rows]
                if len(part) < min_rows:
                    skip("too short")
                    continue
                name = base + (f"@{w}" if len(starts) > 1 else "")
                items.append(T2MItem(name=name, take=take,
                                     features=np.ascontiguousarray(part, dtype=np.float32),
                                     captions=_dedup(caps), labels={"action": None,
                                                                    "style": None},
                                     source="humanml3d", licence=HUMANML3D_LICENCE,
                                     commercial_ok=False, split=split, mirrored=mirrored))
    mean = std = None
    if (root / "Mean.npy").is_file() and (root / "Std.npy").is_file():
        mean, std = H.load_mean_std(root)
    meta = {"sources": {"humanml3d": {"licence": HUMANML3D_LICENCE, "commercial_ok": False,
                                      "attribution": "HumanML3D (Guo et al., CVPR 2022)"}},
            "licences": [HUMANML3D_LICENCE], "commercial_ok": False,
            "humanml3d_root": str(root), "split_files": bool(split_files and
                                                             have_split_files),
            "mean_std": "Mean.npy/Std.npy" if mean is not None else "train split",
            "fps": FPS, "window_seconds": window_seconds, "hop_seconds": hop_seconds,
            "min_seconds": min_seconds, "skipped": skipped,
            "build_command": " ".join(shlex.quote(a) for a in
                                      [Path(sys.executable).name, *sys.argv]),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    return T2MDataset(items, mean, std, meta=meta)
