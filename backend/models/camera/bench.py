"""`python -m backend bench camera`: seconds to plan a 10 s camera path on a shipped test scene
(assets/camera_scenes/10_warehouse: shelves and crates, 300 frames at 30 fps), every shot type
in turn, the job's defaults (3 alternatives), ``--repeat`` rounds (default 2, i.e. 18 plans).

A plan is the whole job without the transport: read the .npz, index the triangles near the
shot, plan and measure the variants. Run as a script (cli_bench starts it in its own process):

    python backend/models/camera/bench.py [--repeat N] [--scene NAME]

The last line: ``p50_s= p95_s= crashes=`` (crashes: frames of the selected paths that break
the six-ray rule, summed over all plans), after a line with ``plans= scene= index_s=
in_frame_min= unoccluded_min= per-shot <shot>_s=``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def benchmark(repeat: int = 2, scene: str = "10_warehouse") -> tuple[dict, dict]:
    """(details, headline) of the bench."""
    import numpy as np

    from backend.models.camera.alternatives import build_scene
    from backend.models.camera.evaluate import SCENES_DIR, load_scenes, scene_params
    from backend.models.camera.job import check_params, make_subject, run_camera
    from backend.models.camera.shots import SHOTS, ShotOptions
    from backend.models.camera.wire import load_mesh_file

    found = {name: (npz, track) for name, npz, track in load_scenes(SCENES_DIR)}
    if scene not in found:
        raise SystemExit(f"error: no scene {scene!r} in {SCENES_DIR} ({', '.join(found)})")
    npz, track = found[scene]
    run_camera(scene_params(npz, track, "orbit", alternatives=1))          # warm up imports
    seconds, per_shot, crashes, in_frame, unoccluded = [], {}, 0, [], []
    for _ in range(max(1, repeat)):
        for shot in SHOTS:
            t0 = time.perf_counter()
            result = run_camera(scene_params(npz, track, shot))
            dt = time.perf_counter() - t0
            seconds.append(dt)
            per_shot.setdefault(shot, []).append(dt)
            m = result["paths"][0]["metrics"]
            crashes += m["crashes"]
            in_frame.append(m["in_frame"])
            unoccluded.append(m["unoccluded"])
    p = check_params(scene_params(npz, track, "orbit"))
    subject = make_subject(p["fps"], p["positions"], p["radius"], None)
    t0 = time.perf_counter()
    build_scene(*load_mesh_file(npz), subject, ShotOptions())
    index_s = time.perf_counter() - t0
    details = {"plans": len(seconds), "frames": len(track["positions"]), "scene": scene,
               "index_s": round(index_s, 3), "in_frame_min": min(in_frame),
               "unoccluded_min": min(unoccluded)}
    details.update({f"{shot}_s": round(float(np.median(v)), 3) for shot, v in per_shot.items()})
    headline = {"p50_s": round(float(np.median(seconds)), 3),
                "p95_s": round(float(np.percentile(seconds, 95)), 3), "crashes": crashes}
    return details, headline


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="camera planner bench")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--scene", default="10_warehouse")
    args = parser.parse_args(argv)
    details, headline = benchmark(args.repeat, args.scene)
    print(" ".join(f"{k}={v}" for k, v in details.items()))
    print(" ".join(f"{k}={v}" for k, v in headline.items()))
    return 0


if __name__ == "__main__":
    # run as a script: put the repository root (not this folder) on the import path
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(here.parents[2]))
    raise SystemExit(main())
