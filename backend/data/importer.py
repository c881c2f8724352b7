"""Import mocap from ../shared/data (or a user's folders) onto the canonical skeleton.

Every source clip goes through the same path:
  parse (backend.data.sources) -> Y-up to Blender axes (backend.motion.axes, the one place)
  -> retarget onto the canonical skeleton (backend.motion.retarget, the same code that later
  drives the user's rig) -> resample to LIBRARY_FPS -> stand on the floor, start at the origin,
  face -Y (backend.motion.normalize) -> a MotionLibrary entry.
Failures never stop an import: each is recorded with its reason.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..fileio import write_text
from ..motion import axes
from ..motion.bonemap import MappingError, auto_map
from ..motion.clip import Clip
from ..motion.normalize import standardize
from ..motion.resample import resample
from ..motion.retarget import RetargetError, retarget
from ..motion.skeleton import CANONICAL, CANONICAL_NAMES
from .library import LibraryEntry, MotionLibrary

LIBRARY_FPS = 30.0
MIN_SECONDS = 0.5
# A canonical clip whose pelvis moves faster than this is a broken import, not motion.
MAX_PELVIS_SPEED = 15.0   # m/s
IDENTITY_MAP = {n: n for n in CANONICAL_NAMES}


@dataclass
class ImportReport:
    source: str
    imported: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        s = f"{self.source}: {self.imported} clips imported ({self.seconds / 60:.1f} min)"
        if self.failures:
            s += f", {len(self.failures)} failed"
        return s


def to_canonical(src_clip, joint_map: dict | None = None) -> Clip:
    """One parsed source clip (Y-up) -> a standardized canonical Clip at LIBRARY_FPS."""
    skel, rots, root = src_clip.skeleton, src_clip.local_rotations, src_clip.root_translation
    if getattr(src_clip, "axes", "y_up") == "y_up":
        skel, rots, root = axes.skeleton_clip_y_up_to_blender(skel, rots, root)
    if joint_map is None:
        joint_map = auto_map(skel.names, list(skel.parents)).bones
    joint_map = {k: v for k, v in joint_map.items() if v}
    pose = retarget(skel, rots, root, joint_map, CANONICAL, IDENTITY_MAP,
                    root_mode="hips", foot_ik=True, fps=src_clip.fps)
    # The pose covers the driven bones only (a canonical joint the source lacks, e.g. a toe,
    # is left out): unlisted joints keep their rest (identity), as the retargeter intends.
    rotations, locations = pose.expanded(CANONICAL)
    positions = CANONICAL.fk(rotations, None, locations)[1]
    clip = Clip(rotations, positions[:, 0], src_clip.fps, CANONICAL.copy())
    clip = resample(clip, LIBRARY_FPS)
    clip = standardize(clip)
    _check(clip)
    return clip


def _check(clip: Clip) -> None:
    if clip.seconds < MIN_SECONDS:
        raise ValueError(f"too short ({clip.seconds:.2f} s < {MIN_SECONDS} s)")
    if not (np.isfinite(clip.local_rotations).all() and np.isfinite(clip.root_translation).all()):
        raise ValueError("non-finite values after retargeting")
    speed = np.linalg.norm(np.diff(clip.root_translation, axis=0), axis=-1) * clip.fps
    if speed.size and speed.max() > MAX_PELVIS_SPEED:
        raise ValueError(f"pelvis moves at {speed.max():.1f} m/s: broken data")


def import_sources(iterator, source_name: str, joint_maps: dict,
                   library: MotionLibrary | None = None) -> tuple[MotionLibrary, ImportReport]:
    """Run every clip from `iterator` (SourceClip objects) into a library."""
    library = library if library is not None else MotionLibrary()
    report = ImportReport(source_name)
    for src in iterator:
        try:
            clip = to_canonical(src, joint_maps.get(src.skeleton_type))
        except (ValueError, MappingError, RetargetError) as e:
            report.failures.append((src.name, f"{type(e).__name__}: {e}"))
            continue
        library.add(clip, LibraryEntry(
            name=src.name, captions=list(src.captions) or [src.name], source=source_name,
            licence=src.licence, commercial_ok=bool(src.commercial_ok),
            attribution=src.attribution, fps=clip.fps, labels=dict(src.labels)))
        report.imported += 1
        report.seconds += clip.seconds
    return library, report


def import_all(shared_root: Path, out_shipped: Path, out_local: Path, raw_cache: Path,
               encoder=None, sources=("cmu", "bandai", "deepmimic"), log=print) -> list:
    """Import the corpora in `shared_root`. The commercially usable CMU library goes to
    `out_shipped` (committed with the add-on); the others to `out_local` (user machine only:
    Bandai-Namco is CC BY-NC 4.0)."""
    from . import sources as src_mod

    reports = []
    plans = {
        "cmu": (lambda rep: src_mod.iter_cmu(shared_root, raw_cache, rep),
                out_shipped / "cmu_canonical.npz"),
        "bandai": (lambda rep: src_mod.iter_bandai(shared_root, raw_cache, rep),
                   out_local / "bandai_canonical.npz"),
        "deepmimic": (lambda rep: src_mod.iter_deepmimic(shared_root, rep),
                      out_local / "deepmimic_canonical.npz"),
    }
    for name in sources:
        make_iter, out = plans[name]
        t0 = time.perf_counter()
        parse_report = src_mod.SourceReport(name)
        library, report = import_sources(make_iter(parse_report), name,
                                         src_mod.SOURCE_JOINT_MAPS)
        report.failures = [(n, f"parse: {why}") for n, why in parse_report.failed] + \
            [(n, f"skipped: {why}") for n, why in parse_report.skipped] + report.failures
        if encoder is not None and len(library):
            library.embed_captions(encoder)
        if len(library):
            library.save(out)
        log(f"{report.summary()} -> {out} in {time.perf_counter() - t0:.1f} s")
        for clip_name, reason in report.failures:
            log(f"  failed: {clip_name}: {reason}")
        reports.append(report)
    return reports


def write_report(reports, path: Path) -> None:
    write_text(path, json.dumps([{"source": r.source, "imported": r.imported,
                                 "minutes": round(r.seconds / 60, 2),
                                 "failures": [{"clip": n, "reason": why}
                                              for n, why in r.failures]}
                                for r in reports], indent=2))
