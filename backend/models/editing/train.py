"""Train the learned in-betweener on CPU (checkpoint + resume).

    python -m backend.models.editing.train --minutes 70 --export assets/models/inbetween.pt

Training windows come from the shipped CMU library's *train* takes (plus mirror images);
the *val* takes score the model as it trains (L2P ratio to slerp at gaps 5/15/30, the
protocol of evaluate.py); the *test* takes are never read here. Every ``--save-every``
seconds the full state (weights, EMA weights, optimiser, step, elapsed time) goes to
``--state``; rerunning the same command resumes from it. The learning rate warms up, then
follows a cosine over the run, whose progress is max(step / --steps, time / --minutes), so a
run cut short by its time budget still ends with a low learning rate. At the end the EMA
weights are exported (``--export``) with the config, data licence and val figures.
"""
from __future__ import annotations

import argparse
import copy
import math
import time
from pathlib import Path

import numpy as np
import torch

from ...paths import user_data_dir
from ..checkpoint import write_checkpoint
from .config import InbetweenConfig
from .data import WindowSampler, load_clips, make_window, protocol_windows, stack
from .model import Inbetweener, TorchFK, inbetween_loss, l2p

VAL_GAPS = (5, 15, 30)


def licence_meta(sources=("cmu",)) -> dict:
    """Checkpoint meta for a model trained on `sources`: the most restrictive licence,
    commercial_ok only if every source allows it, and every source's attribution."""
    from ...data.sources import ATTRIBUTIONS, LICENCES
    sources = list(sources)
    commercial = all(LICENCES[s] != "CC-BY-NC-4.0" for s in sources)
    licence = "CC-BY-NC-4.0" if not commercial else " + ".join(LICENCES[s] for s in sources)
    return {"sources": sources, "licence": licence, "commercial_ok": commercial,
            "attribution": " ".join(ATTRIBUTIONS[s] for s in sources)}


def to_torch(batch: dict) -> dict:
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in batch.items()}


def run_model(model, b: dict) -> torch.Tensor:
    return model(b["pose_in"], b["known"], b["gap_t"], b["gap"], b["valid"])


class Validator:
    """Fixed val windows per gap; ``score(model)`` -> {"ratio_<gap>": model L2P / slerp L2P,
    "l2p_<gap>", "slerp_<gap>"}."""

    def __init__(self, clips, config: InbetweenConfig, gaps=VAL_GAPS):
        self.fk = TorchFK()
        self.batches = {}
        for g in gaps:
            if g > config.max_gap:
                continue
            wins = protocol_windows(clips, config, g)
            if wins:
                self.batches[g] = to_torch(stack([make_window(r, p, config) for r, p in wins]))

    @torch.no_grad()
    def score(self, model) -> dict:
        was = model.training
        model.eval()
        out = {}
        for g, b in self.batches.items():
            base = float(l2p(b["pose_in"], b["pose_true"], b["known"], b["valid"], self.fk).mean())
            made = float(l2p(run_model(model, b), b["pose_true"], b["known"], b["valid"],
                             self.fk).mean())
            out[f"l2p_{g}"], out[f"slerp_{g}"] = made, base
            out[f"ratio_{g}"] = made / max(base, 1e-12)
        model.train(was)
        return out


def learning_rate(base: float, step: int, progress: float, warmup: int = 300) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def train(config: InbetweenConfig, state_path: Path, steps: int, minutes: float,
          batch: int = 64, lr: float = 1e-3, seed: int = 0, save_every: float = 180.0,
          eval_every: int = 250, ema_decay: float = 0.998, clips=None, val_clips=None,
          data_meta: dict | None = None, warmup: int = 200, log=print) -> dict:
    """Train (resuming from `state_path` if it exists) until `steps` or `minutes` of training
    time; returns the final state dict (see module doc)."""
    torch.manual_seed(seed)
    clips = clips if clips is not None else load_clips(("train",), mirror=True, fps=config.fps)
    val_clips = val_clips if val_clips is not None else load_clips(("val",), mirror=False,
                                                                   fps=config.fps)
    model = Inbetweener(config)
    ema = copy.deepcopy(model).eval()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    fk = TorchFK()
    step, elapsed, history = 0, 0.0, []
    state_path = Path(state_path)
    if state_path.is_file():
        st = torch.load(state_path, map_location="cpu", weights_only=True)
        if st.get("config") != config.to_dict():
            raise ValueError(f"{state_path}: saved with another config {st.get('config')}; "
                             "delete it or use the same settings")
        model.load_state_dict(st["model"])
        ema.load_state_dict(st["ema"])
        opt.load_state_dict(st["optimizer"])
        step, elapsed, history = st["step"], st["elapsed"], st.get("history", [])
        log(f"resumed from {state_path} at step {step} ({elapsed / 60:.1f} min)")
    sampler = WindowSampler(clips, config, seed=seed + step)
    validator = Validator(val_clips, config) if val_clips else None

    def state():
        return {"config": config.to_dict(), "model": model.state_dict(),
                "ema": ema.state_dict(), "optimizer": opt.state_dict(), "step": step,
                "elapsed": elapsed, "history": history, "data": data_meta or {}}

    def save():
        state_path.parent.mkdir(parents=True, exist_ok=True)
        write_checkpoint(state(), state_path)

    budget = minutes * 60.0
    last_save = time.perf_counter()
    running = []
    while step < steps and elapsed < budget:
        t0 = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = learning_rate(lr, step, max(step / steps, elapsed / budget),
                                        warmup)
        b = to_torch(sampler.batch(batch))
        loss, parts = inbetween_loss(run_model(model, b), b["pose_true"], b["known"],
                                     b["valid"], fk)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            d = min(ema_decay, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(d).add_(pm.detach(), alpha=1 - d)
        step += 1
        running.append(float(loss.detach()))
        elapsed += time.perf_counter() - t0
        if step % eval_every == 0 or step >= steps or elapsed >= budget:
            row = {"step": step, "minutes": round(elapsed / 60, 2),
                   "loss": float(np.mean(running)), **parts}
            running = []
            if validator is not None:
                row.update({f"val_{k}": round(v, 4) for k, v in validator.score(ema).items()})
            history.append(row)
            log(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in row.items()), flush=True)
        if time.perf_counter() - last_save > save_every:
            save()
            last_save = time.perf_counter()
    save()
    return state()


def export_state(st: dict, out: Path, extra: dict | None = None) -> Path:
    """Write the EMA weights of training state `st` as a shipped-format checkpoint."""
    from .learned import save_inbetweener
    config = InbetweenConfig.from_dict(st["config"])
    model = Inbetweener(config)
    model.load_state_dict(st["ema"])
    training = {"steps": st["step"], "train_minutes": round(st["elapsed"] / 60, 1),
                "val": st["history"][-1] if st["history"] else {}, **(extra or {})}
    meta = {**(st.get("data") or {}), **licence_meta((st.get("data") or {}).get("sources",
                                                                                ["cmu"]))}
    return save_inbetweener(model, out, meta, training)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--state", type=Path, default=user_data_dir() / "inbetween" / "train_state.pt",
                    help="training state (resumed if present)")
    ap.add_argument("--export", type=Path, default=None,
                    help="write the EMA model here at the end (e.g. assets/models/inbetween.pt)")
    ap.add_argument("--export-only", action="store_true",
                    help="only export the saved --state to --export (no training)")
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--minutes", type=float, default=60.0, help="training-time budget")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--d-model", type=int, default=InbetweenConfig.d_model)
    ap.add_argument("--layers", type=int, default=InbetweenConfig.layers)
    ap.add_argument("--max-gap", type=int, default=InbetweenConfig.max_gap)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.export_only:
        if args.export is None or not args.state.is_file():
            ap.error("--export-only needs --export and an existing --state")
        st = torch.load(args.state, map_location="cpu", weights_only=True)
        path = export_state(st, args.export)
        print(f"exported {path} ({path.stat().st_size / 1e6:.2f} MB) from step {st['step']}")
        return 0
    config = InbetweenConfig(d_model=args.d_model, layers=args.layers, max_gap=args.max_gap)
    data_meta = {"splits": ["train"], "mirror": True, **licence_meta(("cmu",))}
    t0 = time.time()
    st = train(config, args.state, args.steps, args.minutes, batch=args.batch, lr=args.lr,
               seed=args.seed, eval_every=args.eval_every, data_meta=data_meta)
    print(f"trained {st['step']} steps, {st['elapsed'] / 60:.1f} min "
          f"(this run {(time.time() - t0) / 60:.1f} min)", flush=True)
    if args.export is not None:
        path = export_state(st, args.export, {"batch": args.batch, "lr": args.lr})
        print(f"exported {path} ({path.stat().st_size / 1e6:.2f} MB)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
