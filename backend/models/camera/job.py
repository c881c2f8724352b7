"""Backend job kind `camera`: plan drone-camera paths around a subject through the scene
(issue 12).

params:
  geometry      the obstacles' triangles: {"path": ".npz"} (arrays vertices (V, 3) float32,
                triangles (F, 3) int32) or the inline {"format": "anima-mesh-b64", ...}
                (backend/models/camera/wire.py); empty geometry is open sky
  subject       {"fps": float, "positions": [[x, y, z] per frame] (>= 2), "radius": float,
                "points": optional, per frame [[x, y, z] * K] points on the body (K <= 32):
                visibility is checked against them instead of the sphere}
  shot          orbit | reveal | fly_through | follow | fly_by | crane | dronie | top_down |
                surprise (default orbit)
  options       {"duration_s", "distance", "height", "speed", "side": left|right, "lens_mm",
                "drone": cinematic|fpv}, all optional
  alternatives  1..6 (default 3); seed: int (default 0)
result: {"fps", "frames": T, "paths": [{"name", "shot", "location": [[x, y, z]] * T,
"rotation": [[w, x, y, z]] * T, "lens_mm": [float] * T, "metrics": {...}}], "selected": 0,
"warnings": [...]} (metrics: backend/models/camera/metrics.py). No free path gives the best
partial path and a warning, never an error.
"""
from __future__ import annotations

import math

from ...jobs import JobContext, JobError, param, register
from ...params import Spec
from ...protocol import ErrorCode
from .shots import SHOTS

MAX_POINTS = 32
MAX_FRAMES = 20_000
MAX_ALTERNATIVES = 6
OPTION_RANGES = {"duration_s": (0.05, 600.0), "distance": (0.5, 500.0),
                 "height": (-100.0, 500.0), "speed": (0.0, 60.0), "lens_mm": (5.0, 400.0)}
OPTION_CHOICES = {"side": ("left", "right"), "drone": ("cinematic", "fpv")}
SCHEMA = {
    "geometry": Spec("object", "the obstacles: {'path': .npz} or inline (camera/wire.py)", None),
    "subject": Spec("object", "what is filmed: {fps, positions, radius, points?}",
                    required=True, nullable=False),
    "shot": Spec("string", "the kind of camera move", "orbit", choices=tuple(SHOTS)),
    "options": Spec("object", "duration_s, distance, height, speed, side, lens_mm, drone", None),
    "alternatives": Spec("integer", "how many paths to plan", 3, min=1, max=MAX_ALTERNATIVES),
    "seed": Spec("integer", "random seed", 0, min=0, max=2**31 - 1),
}


def _bad(message: str) -> JobError:
    return JobError(ErrorCode.BAD_PARAMS, message)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def check_subject(spec) -> tuple[float, list, float]:
    """(fps, positions, radius) of the ``subject`` parameter, checked."""
    if not isinstance(spec, dict):
        raise _bad('subject must be {"fps": float, "positions": [[x, y, z], ...], '
                   '"radius": float}')
    fps, positions, radius = spec.get("fps"), spec.get("positions"), spec.get("radius")
    if not _finite(fps) or fps <= 0:
        raise _bad(f"subject.fps must be a number above 0, got {fps!r:.40}")
    if not isinstance(positions, list):
        raise _bad("subject.positions must be a list of [x, y, z] per frame")
    if len(positions) < 2:
        raise _bad(f"the frame range holds {len(positions)} frame(s): a camera move needs at "
                   f"least 2")
    if len(positions) > MAX_FRAMES:
        raise _bad(f"at most {MAX_FRAMES} frames, got {len(positions)}")
    for i, p in enumerate(positions):
        if not (isinstance(p, list) and len(p) == 3 and all(_finite(v) for v in p)):
            raise _bad(f"subject.positions[{i}] must be three finite numbers, got {p!r:.60}")
    if not _finite(radius) or radius <= 0:
        raise _bad(f"subject.radius must be a number above 0, got {radius!r:.40}")
    return float(fps), positions, float(radius)


def check_points(spec, frames: int):
    """The optional ``subject.points``: per frame, K <= MAX_POINTS [x, y, z] body points."""
    import numpy as np
    points = spec.get("points") if isinstance(spec, dict) else None
    if points is None:
        return None
    try:
        arr = np.asarray(points, dtype=float)
    except (TypeError, ValueError):
        raise _bad("subject.points must be, per frame, a list of [x, y, z] points") from None
    if arr.ndim != 3 or arr.shape[0] != frames or arr.shape[2] != 3 \
            or not 1 <= arr.shape[1] <= MAX_POINTS:
        raise _bad(f"subject.points must hold, for each of the {frames} frames, 1 to "
                   f"{MAX_POINTS} [x, y, z] points; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise _bad("subject.points contains NaN or infinite values")
    return arr


def check_options(spec) -> dict:
    """The ``options`` parameter, checked (unknown keys are an error: likely a typo)."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise _bad("options must be an object")
    unknown = set(spec) - set(OPTION_RANGES) - set(OPTION_CHOICES)
    if unknown:
        raise _bad(f"unknown option(s) {', '.join(sorted(unknown))}; known: "
                   f"{', '.join(sorted([*OPTION_RANGES, *OPTION_CHOICES]))}")
    out = {}
    for name, (lo, hi) in OPTION_RANGES.items():
        value = spec.get(name)
        if value is None:
            continue
        if not _finite(value) or not lo <= value <= hi:
            raise _bad(f"option {name} must be a number from {lo:g} to {hi:g}, got "
                       f"{value!r:.40}")
        out[name] = float(value)
    for name, choices in OPTION_CHOICES.items():
        value = spec.get(name)
        if value is None:
            continue
        if value not in choices:
            raise _bad(f"option {name} must be one of {', '.join(choices)}, got {value!r:.40}")
        out[name] = value
    return out


def check_params(params: dict) -> dict:
    """Validated parameters (JobError bad_params with the reason), geometry still unread."""
    geometry = params.get("geometry")
    if geometry is None:
        raise _bad('missing parameter geometry ({"path": ".npz"} or inline; an empty mesh for '
                   'open sky)')
    fps, positions, radius = check_subject(params.get("subject"))
    points = check_points(params.get("subject"), len(positions))
    shot = param(params, "shot", str, "orbit")
    if shot not in SHOTS:
        raise _bad(f"shot must be one of {', '.join(SHOTS)}, got {shot!r:.40}")
    options = check_options(params.get("options"))
    alternatives = param(params, "alternatives", int, 3, minimum=1, maximum=MAX_ALTERNATIVES)
    seed = param(params, "seed", int, 0)
    return {"geometry": geometry, "fps": fps, "positions": positions, "radius": radius,
            "points": points, "shot": shot, "options": options, "alternatives": alternatives, "seed": seed}


def make_subject(fps: float, positions, radius: float, duration_s: float | None,
                 points=None):
    """The Subject over the shot's frames: ``duration_s`` (if given) cuts the track or holds
    its last position."""
    import numpy as np

    from .shots import Subject
    track = np.asarray(positions, float)
    if duration_s is not None:
        frames = int(round(duration_s * fps))
        if frames < 2:
            raise _bad(f"duration_s {duration_s:g} s at {fps:g} fps is {frames} frame(s): a "
                       f"camera move needs at least 2")
        if frames > MAX_FRAMES:
            raise _bad(f"duration_s {duration_s:g} s at {fps:g} fps is over {MAX_FRAMES} frames")
        if frames <= len(track):
            track = track[:frames]
            points = None if points is None else points[:frames]
        else:
            extra = frames - len(track)
            track = np.concatenate([track, np.repeat(track[-1:], extra, 0)])
            if points is not None:
                points = np.concatenate([points, np.repeat(points[-1:], extra, 0)])
    return Subject(track, fps, radius, points)


def run_camera(params: dict, check=lambda: None, progress=lambda f, m="": None) -> dict:
    """The job without a JobContext (used by the job, the bench and the evaluation)."""
    from .alternatives import build_scene, plan_shot
    from .shots import ShotOptions
    from .wire import MeshError, geometry_from_param
    p = check_params(params)
    options = ShotOptions(**p["options"])
    subject = make_subject(p["fps"], p["positions"], p["radius"], options.duration_s,
                           p.get("points"))
    progress(0.0, "reading the scene")
    try:
        vertices, triangles = geometry_from_param(p["geometry"])
    except MeshError as e:
        raise _bad(f"parameter 'geometry': {e}") from None
    check()
    scene = build_scene(vertices, triangles, subject, options, check,
                        lambda f, m="": progress(0.3 * f, m))
    return plan_shot(subject, p["shot"], options, scene, alternatives=p["alternatives"],
                     seed=p["seed"], check=check,
                     progress=lambda f, m="": progress(0.3 + 0.7 * f, m))


@register("camera", SCHEMA)
def camera_job(params: dict, ctx: JobContext) -> dict:
    geometry = params.get("geometry")
    if isinstance(geometry, dict) and isinstance(geometry.get("path"), str):
        ctx.input_path(geometry["path"], "geometry.path")
    return run_camera(params, check=ctx.check_cancelled, progress=ctx.progress)
