"""`python -m backend eval editing`: in-betweening on held-out clips, LAFAN1-style.

Held-out clips: the shipped CMU library's clips whose take falls in the test split
(``t2m_dataset.split_of``, the split the generator never trained on), at 30 fps. Windows of
10 context frames, then 5, 15 or 30 missing frames, then one target frame; a window every 60
frames (at most ``--windows`` per clip). For each filler (``slerp_fill``, the baseline;
``model_fill``, the text-to-motion diffusion generator, row "model"/"diffusion"; and
``learned_fill``, the learned in-betweener of learned.py, row "learned") over the missing
frames:

* L2P: mean distance of the global joint positions to the real ones (metres);
* L2Q: mean L2 norm of the global joint quaternions' difference (sign-aligned).

The last line: ``l2p_ratio_5= l2p_ratio_15= l2p_ratio_30=`` (the *best* filler's L2P / slerp's;
below 1 is better than the baseline), then each filler's own ratios
(``learned_l2p_ratio_<gap>=``, ``diffusion_l2p_ratio_<gap>=``) and the absolute figures.
"""
from __future__ import annotations

import time

import numpy as np

from ...motion import quat
from .inbetween import model_fill, slerp_fill
from .learned import InbetweenCheckpointError, learned_fill, load_inbetweener

GAPS = (5, 15, 30)
CONTEXT = 10
WINDOW_HOP = 60
FPS = 30


def held_out_clips(fps: float = FPS, split: str = "test") -> list:
    """(caption, clip) of the shipped library's test-split clips (or another `split`),
    resampled to `fps`."""
    from ...data.library import DEFAULT_LIBRARY, MotionLibrary
    from ...data.t2m_dataset import entry_take, split_of
    from ...motion.resample import resample
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    return [(e.captions[0] if e.captions else "", resample(lib.clip(i), fps))
            for i, e in enumerate(lib.entries) if split_of(entry_take(e)) == split]


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
             log=print, inbetweener=None) -> dict:
    """Figures per gap for slerp, the diffusion generator (row "model"; skipped when
    `generator` is None) and the learned in-betweener (row "learned"; skipped when
    `inbetweener` is None); see the module doc. ``l2p_ratio_<gap>`` is the best filler's."""
    clips = held_out_clips()
    out: dict = {}
    fillers = {}
    if generator is not None:
        fillers["model"] = lambda w, k, cap: model_fill(generator, w, k, text=cap if text
                                                        else "", seed=seed)
    if inbetweener is not None:
        fillers["learned"] = lambda w, k, cap: learned_fill(inbetweener, w, k)
    for gap in GAPS:
        rows = {"slerp": [], **{n: [] for n in fillers}}
        for caption, clip in clips:
            length = CONTEXT + gap + 1
            starts = list(range(0, clip.num_frames - length + 1, WINDOW_HOP))[:windows_per_clip]
            for s0 in starts:
                window = clip.slice(s0, s0 + length)
                known = list(range(CONTEXT)) + [length - 1]
                missing = list(range(CONTEXT, CONTEXT + gap))
                rows["slerp"].append(errors(slerp_fill(window, known), window, missing))
                for name, fill in fillers.items():
                    rows[name].append(errors(fill(window, known, caption), window, missing))
        for name, vals in rows.items():
            v = np.array(vals)
            out[f"{name}_l2p_{gap}"] = float(v[:, 0].mean())
            out[f"{name}_l2q_{gap}"] = float(v[:, 1].mean())
        slerp_p = max(out[f"slerp_l2p_{gap}"], 1e-12)
        slerp_q = max(out[f"slerp_l2q_{gap}"], 1e-12)
        for name in fillers:
            label = "diffusion" if name == "model" else name
            out[f"{label}_l2p_ratio_{gap}"] = out[f"{name}_l2p_{gap}"] / slerp_p
            out[f"{label}_l2q_ratio_{gap}"] = out[f"{name}_l2q_{gap}"] / slerp_q
        best = min(fillers, key=lambda n: out[f"{n}_l2p_{gap}"]) if fillers else "slerp"
        out[f"best_{gap}"] = best
        out[f"l2p_ratio_{gap}"] = out[f"{best}_l2p_{gap}"] / slerp_p
        out[f"l2q_ratio_{gap}"] = out[f"{best}_l2q_{gap}"] / slerp_q
        out[f"windows_{gap}"] = len(rows["slerp"])
        log(f"gap {gap:2d} frames, {len(rows['slerp'])} windows: L2P slerp "
            f"{out[f'slerp_l2p_{gap}']:.3f} m" + "".join(
                f", {n} {out[f'{n}_l2p_{gap}']:.3f} m (x{out[f'{n}_l2p_{gap}'] / slerp_p:.2f})"
                for n in fillers) + f"; L2Q slerp {out[f'slerp_l2q_{gap}']:.3f}" + "".join(
                f", {n} {out[f'{n}_l2q_{gap}']:.3f}" for n in fillers) + f"; best: {best}")
    return out


def run_eval(args) -> int:
    """The `eval editing` subcommand (arguments: cli_eval's --checkpoint, --seed, --samples
    as windows per clip, --text to steer with the clip's caption, --threads; optional
    ``inbetween_checkpoint``: the learned in-betweener, default the shipped one)."""
    from ..text2motion.sample import load_generator
    if getattr(args, "threads", None):
        import torch
        torch.set_num_threads(args.threads)       # 1 is much faster on a busy machine
    t0 = time.perf_counter()
    generator = load_generator(args.checkpoint or "starter")
    chosen = getattr(args, "inbetween_checkpoint", None)
    try:
        inbetweener = load_inbetweener(chosen)
    except InbetweenCheckpointError as e:
        if chosen is not None:                      # asked for by name: a real error
            raise
        print(f"no learned in-betweener row: {e}")
        inbetweener = None
    res = evaluate(generator, windows_per_clip=args.samples or 3, text=bool(args.text),
                   seed=args.seed, inbetweener=inbetweener)
    res["seconds"] = time.perf_counter() - t0
    print(summary_line(res))
    return 0


def summary_line(res: dict) -> str:
    """The last line: best ratios first, then every filler's ratios and absolute L2P."""
    names = [n for n in ("learned", "diffusion") if f"{n}_l2p_ratio_{GAPS[0]}" in res]
    rows = [n for n in ("slerp", "model", "learned") if f"{n}_l2p_{GAPS[0]}" in res]
    keys = [f"l2p_ratio_{g}" for g in GAPS] + [f"l2q_ratio_{g}" for g in GAPS] + \
        [f"{n}_l2p_ratio_{g}" for n in names for g in GAPS] + \
        [f"{n}_l2p_{g}" for g in GAPS for n in rows] + \
        [f"best_{g}" for g in GAPS] + [f"windows_{g}" for g in GAPS] + \
        (["seconds"] if "seconds" in res else [])
    return " ".join(f"{k}={res[k]:.4f}" if isinstance(res[k], float) else f"{k}={res[k]}"
                    for k in keys)
