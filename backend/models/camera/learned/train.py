"""Train the next-camera-pose model on the CPU:

    python -m backend.models.camera.learned.train --minutes 8 \
        --out assets/models/camera_next_pose.pt

The training trajectories (``data.make_dataset``: planner paths in random procedural scenes)
are made once and cached (``--data``, default under .cache/). Resume-safe: the checkpoint is
written atomically every ``--save-every`` seconds with the optimizer and the training time so
far; running the same command again continues until ``--minutes`` of training in total. The
final file keeps the optimizer too (small) so a longer run can continue it.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from ....paths import REPO_ROOT
from ....fileio import atomic_write
from ...checkpoint import write_checkpoint
from .data import FEATURES, make_dataset
from .model import FORMAT, VERSION, NextPoseModel, load_model, masked_loss, parameter_count

STATE_NOISE = 0.02          # noise on the pose inputs: the rollout must recover from drift


def load_or_make_data(path: Path, count: int, seed: int, log=print) -> dict:
    """The cached dataset at ``path`` if it holds ``count`` trajectories of seed ``seed``,
    else a new one (written there)."""
    if path.is_file():
        with np.load(path) as z:
            if int(z["count"]) == count and int(z["seed"]) == seed and \
                    z["features"].shape[-1] == FEATURES:
                log(f"training data: {path} (cached)")
                return {k: z[k] for k in ("features", "targets", "mask")} | \
                    {"seconds": float(z["seconds"]), "tries": int(z["tries"])}
    t0 = time.perf_counter()
    data = make_dataset(count, seed, log)
    data["seconds"] = time.perf_counter() - t0
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        np.savez_compressed(f, features=data["features"], targets=data["targets"],
                            mask=data["mask"], count=count, seed=seed,
                            seconds=data["seconds"], tries=data["tries"])
    log(f"training data: {len(data['features'])} trajectories in {data['seconds']:.0f} s "
        f"({data['tries']} planned) -> {path}")
    return data


def train_steps(model: NextPoseModel, optimizer, features: np.ndarray, targets: np.ndarray,
                mask: np.ndarray, steps: int, batch: int, rng: np.random.Generator,
                deadline: float = float("inf")) -> list[float]:
    """Run up to ``steps`` optimizer steps (stops at ``deadline``, perf_counter seconds) on
    normalised ``targets``; the losses."""
    model.train()
    losses = []
    for _ in range(steps):
        if time.perf_counter() > deadline:
            break
        idx = rng.integers(0, len(features), batch)
        x = torch.from_numpy(features[idx])
        x[..., :12] += STATE_NOISE * torch.randn_like(x[..., :12])
        x[..., -9:] += STATE_NOISE * torch.randn_like(x[..., -9:])
        pred, _ = model(x)
        loss = masked_loss(pred, torch.from_numpy(targets[idx]), torch.from_numpy(mask[idx]))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    return losses


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=8.0, help="training time in total")
    ap.add_argument("--out", default=str(REPO_ROOT / "assets/models/camera_next_pose.pt"))
    ap.add_argument("--data", default=str(REPO_ROOT / ".cache/camera_next_pose_data.npz"))
    ap.add_argument("--trajectories", type=int, default=240)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--save-every", type=float, default=30.0, help="seconds")
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    out = Path(args.out)
    data = load_or_make_data(Path(args.data), args.trajectories, args.seed)
    mask = data["mask"]
    t_mean = data["targets"][mask].mean(axis=0)
    t_std = data["targets"][mask].std(axis=0) + 1e-3
    targets = ((data["targets"] - t_mean) / t_std * mask[..., None]).astype(np.float32)
    model = NextPoseModel()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    elapsed, step, last_loss = 0.0, 0, float("nan")
    if out.is_file():
        _m, ck = load_model(out)
        model.load_state_dict(ck["state_dict"])
        if "optimizer" in ck:
            optimizer.load_state_dict(ck["optimizer"])
        elapsed, step = float(ck["train"]["seconds"]), int(ck["train"]["steps"])
        last_loss = float(ck["train"]["loss"])
        t_mean, t_std = np.asarray(ck["target_mean"]), np.asarray(ck["target_std"])
        targets = ((data["targets"] - t_mean) / t_std * mask[..., None]).astype(np.float32)
        print(f"resuming {out}: {step} steps, {elapsed:.0f} s trained")
    print(f"model: {parameter_count(model)} parameters; {len(data['features'])} trajectories")
    rng = np.random.default_rng(args.seed + step)
    budget = args.minutes * 60.0
    recent = [last_loss]
    while elapsed < budget:
        t0 = time.perf_counter()
        losses = train_steps(model, optimizer, data["features"], targets, mask, 10_000,
                             args.batch, rng, t0 + min(args.save_every, budget - elapsed))
        elapsed += time.perf_counter() - t0
        step += len(losses)
        recent = losses[-50:] or recent
        write_checkpoint(_checkpoint(model, optimizer, t_mean, t_std, elapsed, step,
                                     float(np.mean(recent)), data), out)
        print(f"step {step} trained {elapsed:.0f} s loss {np.mean(recent):.4f}", flush=True)
    size = out.stat().st_size if out.is_file() else 0
    print(f"out={out} steps={step} train_s={elapsed:.0f} data_s={data['seconds']:.0f} "
          f"loss={np.mean(recent):.4f} size_mb={size / 1e6:.2f}")
    return 0


def _checkpoint(model, optimizer, t_mean, t_std, elapsed, step, loss, data) -> dict:
    return {"format": FORMAT, "version": VERSION, "config": model.config,
            "features": FEATURES, "state_dict": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "target_mean": torch.as_tensor(np.asarray(t_mean, np.float32)),
            "target_std": torch.as_tensor(np.asarray(t_std, np.float32)),
            "train": {"seconds": round(elapsed, 1), "steps": step, "loss": round(loss, 5),
                      "trajectories": int(len(data["features"])),
                      "data_seconds": round(float(data["seconds"]), 1),
                      "planned": int(data["tries"])}}


if __name__ == "__main__":
    raise SystemExit(main())
