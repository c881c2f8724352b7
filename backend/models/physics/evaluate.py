"""`python -m backend eval physics`: the simulated humanoid tracking held-out and generated
clips, against the issue's targets (issue 11).

Clips:
* ``heldout``: the shipped CMU library's test-split takes (never used to build anything);
* ``deepmimic``: the DeepMimic reference clips from the user's imported library
  (``<user data>/library/deepmimic_canonical.npz``, made by ``python -m backend import
  --shared ../shared/data --sources deepmimic``; skipped when missing);
* ``generated``: N clips of the starter generator (varied prompts, seed 0..N-1) - the motion
  the issue says floats, sinks and slides.

Per clip, default options (``TrackOptions()``): success (PHC's rule: the mean joint position
error never above 0.5 m), MPJPE (mm, mean over frames), penetration / floating / foot skating
before and after (``eval.metrics``), residual force, CPU seconds per motion second (one
thread, ``time.process_time``). Last line: ``clips= success= mpjpe_mm= penetration_after=
floating_after= floating_after_flight= floating_after_ground= ... skate_gen_before=
skate_gen_after_simulated= skate_gen_after= planted_speed_gen_* contact_slide_gen_simulated=
contact_slide_gen_after= ... root_help_pct_weight= cpu_s_per_motion_s= <group>_success=
<group>_mpjpe_mm= <group>_root_help_pct_weight= <group>_fell=``. ``skate`` is
``eval.metrics.foot_skating_ratio`` (share of frames with a foot joint under 5 cm moving
faster than 0.5 m/s: swing feet near the floor count); ``planted_speed`` is footplant's mean
speed of planted feet (m/s, sliding only); ``contact_slide`` the speed of feet the contact
labels say touch the floor; ``*_simulated`` the simulation before the contact pass;
``floating_after_flight`` / ``_ground`` split the floating figure into the frames where no
foot of the reference is near the floor and the rest (``report.flight_split``);
``skate_gen_<before|reference|after>_<touching|swing>`` split the skating figure into
transitions where the skating foot stands at floor level and those where it swings low
(``report.skate_split``).

``python -m backend.models.physics.evaluate --groups generated --assistance 0.2 --planner``
runs the same with other options (the planner comparison in docs/physics.md);
``--groups train fresh`` runs the clips not used to choose the controller (16 train-split
CMU clips, 10 generated clips of other prompts and seeds; round 13). When both
``generated`` and ``fresh`` run, the ``*_gen_*`` keys pool them.
"""
from __future__ import annotations

import time

import numpy as np

GEN_PROMPTS = ("a person walks forward", "a person runs forward", "a person jumps",
               "a person waves with the right hand", "a person walks backwards",
               "a person bows", "a person kicks", "a person dances", "a person walks sadly",
               "a person turns around")


# Not used to choose the controller (docs/physics.md, round 13): the "train" and "fresh"
# groups, run with ``--groups train fresh``.
FRESH_PROMPTS = ("a man jogs in a circle", "someone sidesteps to the left",
                 "a person stomps angrily forward", "a woman skips happily",
                 "a person climbs stairs", "a tired person shuffles forward",
                 "a person crouches down and stands up", "a person throws a ball",
                 "a person hops on one foot", "a person marches like a soldier")
FRESH_SEED = 100
TRAIN_CLIPS, TRAIN_MAX_FRAMES = 16, 360


def train_clips(fps: float = 30.0) -> list[tuple[str, object]]:
    """Every k-th train-split clip of the shipped CMU library (16, at most 12 s each)."""
    from ..editing.evaluate import held_out_clips
    train = held_out_clips(fps, split="train")
    return [(f"train:{cap[:40]}", clip.slice(0, min(clip.num_frames, TRAIN_MAX_FRAMES)))
            for cap, clip in train[::max(1, len(train) // TRAIN_CLIPS)][:TRAIN_CLIPS]]


def fresh_clips(model: str = "starter") -> list[tuple[str, object]]:
    """The starter's clips of FRESH_PROMPTS, seeds FRESH_SEED.. (never simulated while the
    controller was chosen)."""
    from ..text2motion.sample import load_generator
    gen = load_generator(model)
    return [(f"fresh:{p}", gen.to_clip(gen.generate([p], [None], [FRESH_SEED + k])[0]))
            for k, p in enumerate(FRESH_PROMPTS)]


def heldout_clips(fps: float = 30.0) -> list[tuple[str, object]]:
    from ..editing.evaluate import held_out_clips
    return [(f"heldout:{cap[:40]}", c) for cap, c in held_out_clips(fps)]


def deepmimic_clips() -> list[tuple[str, object]]:
    from ...data.library import MotionLibrary
    from ...paths import user_data_dir
    path = user_data_dir() / "library" / "deepmimic_canonical.npz"
    if not path.is_file():
        return []
    lib = MotionLibrary.load(path)
    return [(f"deepmimic:{e.name}", lib.clip(i)) for i, e in enumerate(lib.entries)]


def generated_clips(n: int, model: str = "starter") -> list[tuple[str, object]]:
    from ..text2motion.sample import load_generator
    gen = load_generator(model)
    out = []
    for i in range(n):
        text = GEN_PROMPTS[i % len(GEN_PROMPTS)]
        out.append((f"generated:{text}", gen.to_clip(gen.generate([text], [None], [i])[0])))
    return out


def run_one(clip, options=None) -> dict:
    from .track import TrackOptions, track_clip
    t0 = time.process_time()
    result = track_clip(clip, options or TrackOptions())
    cpu = time.process_time() - t0
    r = dict(result.report)
    r.update({"success": bool(result.success), "fell": bool(result.fell),
              "mpjpe_mm": float(np.mean(result.mpjpe) * 1000.0),
              "cpu_s_per_motion_s": cpu / max(clip.seconds, 1e-6)})
    return r


def evaluate(groups: dict, log=print, options=None) -> dict:
    rows: dict[str, list[dict]] = {}
    for group, clips in groups.items():
        for name, clip in clips:
            r = run_one(clip, options)
            rows.setdefault(group, []).append(r)
            log(f"{name}: {'ok' if r['success'] else 'FAILED'}{' fell' if r['fell'] else ''}, "
                f"mpjpe {r['mpjpe_mm']:.1f} mm, pen {r.get('penetration_before', 0):.3f} -> "
                f"{r.get('penetration_after', 0):.3f}, float {r.get('floating_before', 0):.3f} "
                f"-> {r.get('floating_after', 0):.3f}, skate {r.get('skate_before', 0):.3f} -> "
                f"{r.get('skate_after', 0):.3f}, {r['cpu_s_per_motion_s']:.2f} cpu-s/s")
    every = [r for rs in rows.values() for r in rs]
    if not every:
        return {"clips": 0}

    def mean(rs, key):
        vals = [float(r.get(key, 0.0)) for r in rs]
        return round(float(np.mean(vals)), 4) if vals else 0.0
    out = {"clips": len(every), "success": round(np.mean([r["success"] for r in every]), 3),
           "mpjpe_mm": round(float(np.mean([r["mpjpe_mm"] for r in every])), 1),
           "penetration_after": mean(every, "penetration_after"),
           "floating_after": mean(every, "floating_after"),
           "floating_after_flight": mean(every, "floating_after_flight"),
           "floating_after_ground": mean(every, "floating_after_ground"),
           "floating_after_simulated": mean(every, "floating_after_simulated"),
           "flight_share": mean(every, "flight_share"),
           "fell": int(sum(r["fell"] for r in every))}
    gen = rows.get("generated", []) + rows.get("fresh", [])
    if gen:
        out.update({"skate_gen_before": mean(gen, "skate_before"),
                    "skate_gen_reference": mean(gen, "skate_reference"),
                    "skate_gen_after_simulated": mean(gen, "skate_after_simulated"),
                    "skate_gen_after": mean(gen, "skate_after"),
                    **{f"skate_gen_{w}_{part}": mean(gen, f"skate_{w}_{part}")
                       for w in ("before", "reference", "after")
                       for part in ("touching", "swing")},
                    "planted_speed_gen_before": mean(gen, "planted_speed_before"),
                    "planted_speed_gen_after_simulated": mean(gen,
                                                              "planted_speed_after_simulated"),
                    "planted_speed_gen_after": mean(gen, "planted_speed_after"),
                    "contact_slide_gen_simulated": mean(gen, "contact_slide_simulated"),
                    "contact_slide_gen_after": mean(gen, "contact_slide_after"),
                    "floating_gen_after": mean(gen, "floating_after"),
                    "floating_gen_after_ground": mean(gen, "floating_after_ground"),
                    "penetration_gen_before": mean(gen, "penetration_before"),
                    "floating_gen_before": mean(gen, "floating_before")})
    out["root_help_pct_weight"] = mean(every, "residual_force_pct_weight_mean")
    out["cpu_s_per_motion_s"] = round(float(np.median([r["cpu_s_per_motion_s"]
                                                       for r in every])), 3)
    for group, rs in rows.items():
        out[f"{group}_clips"] = len(rs)
        out[f"{group}_success"] = round(np.mean([r["success"] for r in rs]), 3)
        out[f"{group}_mpjpe_mm"] = round(float(np.mean([r["mpjpe_mm"] for r in rs])), 1)
        out[f"{group}_root_help_pct_weight"] = mean(rs, "residual_force_pct_weight_mean")
        out[f"{group}_fell"] = int(sum(r["fell"] for r in rs))
    return out


GROUPS = ("heldout", "deepmimic", "generated")
OTHER_GROUPS = ("train", "fresh")


def run_eval(args, options=None, groups=GROUPS) -> int:
    n = int(getattr(args, "samples", None) or 10)
    found = {}
    for group in groups:
        found[group] = {"heldout": heldout_clips, "deepmimic": deepmimic_clips,
                        "generated": lambda: generated_clips(n), "train": train_clips,
                        "fresh": fresh_clips}[group]()
    out = evaluate({k: v for k, v in found.items() if v}, options=options)
    print(" ".join(f"{k}={v}" for k, v in out.items()))
    return 0


def main(argv=None) -> int:
    """``python -m backend.models.physics.evaluate [--groups generated] [--samples 10]
    [--assistance 0.2] [--planner]``: the same evaluation with other tracking options (the
    sampling planner's comparison in docs/physics.md)."""
    import argparse

    from .track import TrackOptions
    parser = argparse.ArgumentParser(prog="python -m backend.models.physics.evaluate")
    parser.add_argument("--groups", nargs="+", choices=GROUPS + OTHER_GROUPS,
                        default=list(GROUPS),
                        help="train, fresh: clips not used to choose the controller")
    parser.add_argument("--samples", type=int, default=10, help="generated clips")
    parser.add_argument("--assistance", type=float, default=TrackOptions.assistance)
    parser.add_argument("--planner", action="store_true", help="sampling MPC (mpc.Planner)")
    args = parser.parse_args(argv)
    options = TrackOptions(assistance=args.assistance, planner=args.planner)
    try:
        options.validate()
    except ValueError as e:
        parser.error(str(e))
    return run_eval(args, options, tuple(args.groups))


if __name__ == "__main__":
    raise SystemExit(main())
