"""`python -m backend eval editing`: in-betweening on held-out clips, LAFAN1-style.

Held-out clips: the shipped CMU library's clips whose take falls in the test split
(``t2m_dataset.split_of``, the split the generator never trained on), at 30 fps. Windows of
10 context frames, then 5, 15 or 30 missing frames, then one target frame; a window every 60
frames (at most ``--windows`` per clip). For each filler (``slerp_fill``, the baseline, and
``model_fill``) over the missing frames:

* L2P: mean distance of the global joint positions to the real ones (metres);
* L2Q: mean L2 norm of the global joint quaternions' difference (sign-aligned).

The last line: ``l2p_ratio_5= l2p_ratio_15= l2p_ratio_30=`` (model / slerp; below 1 is better
than the baseline) and the absolute figures.
"""
from __future__ import annotations

import time

import numpy as np

from ...motion import quat
from .inbetween import model_fill, slerp_fill

GAPS = (5, 15, 30)
CONTEXT = 10
WINDOW_HOP = 60
FPS = 30


def held_out_clips(fps: float = FPS) -> list:
    """(caption, clip) of the shipped library's test-split clips, resampled to `fps`."""
    from ...data.library import DEFAULT_LIBRARY, MotionLibrary
    from ...data.t2m_dataset import entry_take, split_of
    from ...motion.resample import resample
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    return [(e.captions[0] if e.captions else "", resample(lib.clip(i), fps))
            for i, e in enumerate(lib.entries) if split_of(entry_take(e)) == "test"]


def errors(pred, real, frames) -> tuple[float, float]:
    """(L2P, L2Q) of clip `pred` against `real` on `frames`."""
    rp, pp = real.skeleton.fk(real.local_rotations, real.root_translation)
    rq, pq = pred.skeleton.fk(pred.local_rotations, pred.root_translation)
    l2p = float(np.linalg.norm(pq[frames] - pp[frames], axis=-1).mean())
    a, b = quat.normalize(rq[frames]), quat.normalize(rp[frames])
    b = np.where(np.sum(a * b, -1, keepdims=True) < 0, -b, b)
    l2q = float(np.linalg.norm(a - b, axis=-1).mean())
    return l2p, l2q


def evaluate(generator, windows_per_clip: int = 3, text: bool = False, seed: int = 0,
             log=print) -> dict:
    """Figures per gap for slerp and the model (see the module doc)."""
    clips = held_out_clips()
    out: dict = {}
    for gap in GAPS:
        rows = {"slerp": [], "model": []}
        for caption, clip in clips:
            length = CONTEXT + gap + 1
            starts = list(range(0, clip.num_frames - length + 1, WINDOW_HOP))[:windows_per_clip]
            for s0 in starts:
                window = clip.slice(s0, s0 + length)
                known = list(range(CONTEXT)) + [length - 1]
                missing = list(range(CONTEXT, CONTEXT + gap))
                rows["slerp"].append(errors(slerp_fill(window, known), window, missing))
                made = model_fill(generator, window, known, text=caption if text else "",
                                  seed=seed)
                rows["model"].append(errors(made, window, missing))
        for name, vals in rows.items():
            v = np.array(vals)
            out[f"{name}_l2p_{gap}"] = float(v[:, 0].mean())
            out[f"{name}_l2q_{gap}"] = float(v[:, 1].mean())
        out[f"l2p_ratio_{gap}"] = out[f"model_l2p_{gap}"] / max(out[f"slerp_l2p_{gap}"], 1e-12)
        out[f"l2q_ratio_{gap}"] = out[f"model_l2q_{gap}"] / max(out[f"slerp_l2q_{gap}"], 1e-12)
        out[f"windows_{gap}"] = len(rows["slerp"])
        log(f"gap {gap:2d} frames, {len(rows['slerp'])} windows: L2P slerp "
            f"{out[f'slerp_l2p_{gap}']:.3f} m, model {out[f'model_l2p_{gap}']:.3f} m "
            f"(x{out[f'l2p_ratio_{gap}']:.2f}); L2Q slerp {out[f'slerp_l2q_{gap}']:.3f}, "
            f"model {out[f'model_l2q_{gap}']:.3f}")
    return out


def run_eval(args) -> int:
    """The `eval editing` subcommand (arguments: cli_eval's --checkpoint, --seed, --samples
    as windows per clip, --text to steer with the clip's caption)."""
    from ..text2motion.sample import load_generator
    t0 = time.perf_counter()
    generator = load_generator(args.checkpoint or "starter")
    res = evaluate(generator, windows_per_clip=args.samples or 3, text=bool(args.text),
                   seed=args.seed)
    res["seconds"] = time.perf_counter() - t0
    keys = [f"l2p_ratio_{g}" for g in GAPS] + [f"l2q_ratio_{g}" for g in GAPS] + \
        [f"{n}_l2p_{g}" for g in GAPS for n in ("slerp", "model")] + \
        [f"windows_{g}" for g in GAPS] + ["seconds"]
    print(" ".join(f"{k}={res[k]:.4f}" if isinstance(res[k], float) else f"{k}={res[k]}"
                   for k in keys))
    return 0
