"""Training of the text-to-motion generator (rectified flow + length predictor).

One entry point, ``train(cfg, ...)``, that runs the same on one CPU process and under
``torchrun --nproc_per_node=K`` (WORLD_SIZE > 1: DistributedDataParallel, gloo on CPU / nccl on
GPU, a DistributedSampler per rank, logging and checkpoints on rank 0 only). ``batch`` is per
process; the global batch is ``batch * WORLD_SIZE``.

Outputs (rank 0):
- ``out`` (.pt, small): the shipped checkpoint — config, EMA weights in fp16, mean/std, the
  training data's provenance and licence, steps, code version — plus ``out`` with ``.md``:
  the model card. Read by ``sample.load_checkpoint``.
- ``work_dir/state.pt``: full training state (weights, EMA, optimizer, step) to resume from;
  ``work_dir/best.pt`` (+ ``.md``): the checkpoint of the lowest validation loss so far;
  ``work_dir/log.jsonl``: one JSON object per log line; caption embedding and dataset caches.
"""
from __future__ import annotations

import copy
import functools
import datetime as _dt
import json
import math
import subprocess
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ...motion.joints import JOINT_GROUPS
from ...fileio import write_text
from ...paths import REPO_ROOT
from ...text.coverage import card_section
from .config import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, FEATURE_DIM, TrainConfig
from .model import Text2Motion, count_parameters
from .train_setup import (Dist, LengthBuckets, CropDataset, TrainError,  # noqa: F401
                          caption_embeddings, collate, load_data, provenance)

CODE_VERSION_BASE = "text2motion-2"
LOWER_BODY = JOINT_GROUPS["lower_body"]      # (0, 1, 2, 4, 5, 7, 8, 10, 11)
UPPER_BODY = JOINT_GROUPS["upper_body"]


def code_version() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return f"{CODE_VERSION_BASE}+{rev}" if rev else CODE_VERSION_BASE


# ============================================================================= masks
def random_edit_masks(lengths: torch.Tensor, T: int, p_edit: float,
                      gen: torch.Generator) -> torch.Tensor:
    """(B, T, 263) float masks (1 = given) for a random share ``p_edit`` of the batch: a
    prefix (continuation), a suffix, both ends (in-betweening), sparse key frames, a body part
    or the root trajectory for all frames; zeros elsewhere and past each length."""
    from .keep import joint_feature_dims

    B = len(lengths)
    mask = torch.zeros(B, T, FEATURE_DIM)
    r = torch.rand(B, generator=gen)
    kind = torch.randint(0, 6, (B,), generator=gen)
    for b in range(B):
        if r[b] >= p_edit:
            continue
        n = int(lengths[b])
        u = float(torch.rand((), generator=gen))
        k = kind[b].item()
        if k == 0:                                      # continuation
            mask[b, :max(1, int(n * (0.1 + 0.4 * u)))] = 1
        elif k == 1:                                    # lead-in
            mask[b, n - max(1, int(n * (0.1 + 0.4 * u))):n] = 1
        elif k == 2:                                    # in-betweening
            a = max(1, int(n * (0.05 + 0.25 * u)))
            mask[b, :a] = 1
            mask[b, max(a, n - a):n] = 1
        elif k == 3:                                    # key frames
            step = 5 + int(20 * u)
            mask[b, 0:n:step] = 1
        else:                                           # joints for all frames
            if k == 4:
                joints = LOWER_BODY if u < 0.5 else UPPER_BODY
            else:
                joints = (0,) if u < 0.5 else tuple(
                    int(j) for j in torch.randperm(22, generator=gen)[:1 + int(8 * u)])
            cols = torch.zeros(FEATURE_DIM)
            for j in joints:
                cols[torch.from_numpy(joint_feature_dims(j))] = 1
            mask[b, :n] = cols
    return mask


# ============================================================================= schedule
def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / max(1, cfg.warmup)
    p = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    p = min(1.0, max(0.0, p))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, step: int, cfg: TrainConfig):
    if step < cfg.ema_start:
        decay = 0.0
    else:
        k = step - cfg.ema_start
        decay = min(cfg.ema_decay, (1 + k) / (10 + k))
    for e, p in zip(ema.parameters(), model.parameters()):
        e.mul_(decay).add_(p.detach(), alpha=1 - decay)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)


def native_bf16(dev: torch.device) -> bool:
    """Whether bf16 autocast is fast here: CUDA, or a CPU with native bf16 (AVX512-BF16 /
    AMX; about 1.9x faster training steps than fp32 on this project's 2-core EPYC)."""
    if dev.type == "cuda":
        return True
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


# ============================================================================= losses
def flow_loss(model, x1, lengths, text, bins, cfg: TrainConfig, gen: torch.Generator,
              device, train: bool = True):
    """Rectified-flow velocity MSE on the rows and features to generate, plus the length
    predictor's cross-entropy on uncropped items. Returns (total, flow, length)."""
    B, T, _ = x1.shape
    x1, lengths, text, bins = x1.to(device), lengths.to(device), text.to(device), bins.to(device)
    x0 = torch.randn(x1.shape, generator=gen).to(device)
    t = torch.sigmoid(torch.randn(B, generator=gen) * cfg.t_logit_std).to(device)
    xt = t[:, None, None] * x1 + (1 - t[:, None, None]) * x0
    net = model.module if hasattr(model, "module") else model
    if train:
        drop = (torch.rand(B, generator=gen) < cfg.p_uncond).to(device)
        mask = random_edit_masks(lengths.cpu(), T, cfg.p_edit, gen).to(device)
    else:
        drop = torch.zeros(B, dtype=torch.bool, device=device)
        mask = torch.zeros(B, T, FEATURE_DIM, device=device)
    cond = torch.where(drop[:, None], net.flow.null_text[None].expand(B, -1), text)
    out, logits = model(xt, t, cond, lengths, x1, mask, text)
    valid = (torch.arange(T, device=device)[None] < lengths[:, None]).float()[..., None]
    w = valid * (1 - mask)
    if net.cfg.prediction == "x1":
        x1_hat = out
        err = ((out - x1) ** 2 * w).sum() / w.sum().clamp_min(1.0)
    else:
        x1_hat = xt + (1 - t[:, None, None]) * out
        err = ((out - (x1 - x0)) ** 2 * w).sum() / w.sum().clamp_min(1.0)
    total = err
    if cfg.vel_loss_weight > 0 and T > 1:
        # frame-to-frame differences of the clean-motion estimate, on pairs of valid rows
        wv = w[:, 1:] * w[:, :-1]
        d_hat, d_true = x1_hat[:, 1:] - x1_hat[:, :-1], x1[:, 1:] - x1[:, :-1]
        vel = ((d_hat - d_true) ** 2 * wv).sum() / wv.sum().clamp_min(1.0)
        total = total + cfg.vel_loss_weight * vel
    has = bins >= 0
    len_loss = (F.cross_entropy(logits[has], bins[has]) if bool(has.any())
                else logits.sum() * 0.0)
    return total + cfg.length_loss_weight * len_loss, err.detach(), len_loss.detach()


# ============================================================================= checkpoints
def shipped_checkpoint(ema: Text2Motion, cfg: TrainConfig, mean, std, prov: dict, step: int,
                       val_loss: float | None) -> dict:
    return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
            "code_version": code_version(), "name": cfg.name,
            "model_config": asdict(cfg.model), "train_config": cfg.to_dict(),
            "state_dict": {k: (v.detach().cpu().half() if v.is_floating_point() else
                               v.detach().cpu()) for k, v in ema.state_dict().items()},
            "mean": torch.as_tensor(np.asarray(mean, np.float32)),
            "std": torch.as_tensor(np.asarray(std, np.float32)),
            "dataset": prov, "steps": int(step),
            "val_loss": None if val_loss is None else float(val_loss),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


def _atomic_save(obj, path: Path) -> None:
    from ..checkpoint import write_checkpoint
    write_checkpoint(obj, path)


def model_card(ck: dict, params: int, path: Path, history: dict) -> str:
    d = ck["dataset"]
    lines = [f"# Anima text-to-motion model `{ck['name']}`", "",
             f"File: `{path.name}` ({path.stat().st_size / 1e6:.1f} MB, fp16 EMA weights)"
             if path.is_file() else f"File: `{path.name}`", "",
             "## Licence", "",
             f"**{d['licence']}** — commercial use "
             f"{'allowed' if d['commercial_ok'] else 'NOT allowed'}. The weights are derived from "
             f"the training motion, so they carry the most restrictive licence of its sources.",
             ""]
    if d.get("attribution"):
        lines += [f"Attribution: {d['attribution']}", ""]
    if d.get("init"):
        lines += [f"Fine-tuned from the `{d['init']['name']}` model ({d['init']['licence']}) "
                  f"on the data below; its sources are listed as `<model> model: <source>`.",
                  ""]
    if d.get("continued_from"):
        c = d["continued_from"]
        lines += [f"Continued from the `{c['name']}` model (step {c['steps']}; its data hash "
                  f"`{c['hash']}`) on the data below, with that data's own train / val / test "
                  f"splits, with the recipe below.", ""]
    lines += ["## Training data", "", "| source | licence | commercial | items | minutes |",
              "|---|---|---|---|---|"]
    for name, s in sorted(d["sources"].items()):
        lines.append(f"| {name} | {s['licence']} | {'yes' if s['commercial_ok'] else 'no'} | "
                     f"{s['items']} | {s['minutes']} |")
    lines += ["", f"Items per split: {d.get('splits')}; data hash `{d['hash']}`.",
              f"Libraries: {d.get('libraries')}; filter: {d.get('filter')}.", ""]
    if d.get("coverage"):                      # read back by the prompt checker
        lines += [card_section(d["coverage"])]
    lines += ["## Model", "",
              f"Rectified-flow transformer over HumanML3D 263-dim features at 20 fps "
              f"(docs/text2motion.md), {params / 1e6:.2f} M parameters, conditioned on MiniLM "
              f"sentence embeddings; length predictor over 0.5 s bins of 1–10 s.", "",
              "```json", json.dumps(ck["model_config"], indent=1), "```", "",
              "## Training", "",
              f"Steps: {ck['steps']}; final validation flow loss: {ck['val_loss']}; "
              f"code version `{ck['code_version']}`; created {ck['created']}.", "",
              "```json", json.dumps({k: v for k, v in ck["train_config"].items()
                                     if k != "model"}, indent=1), "```", ""]
    if history.get("val"):
        lines += ["Validation loss by step: " + ", ".join(
            f"{s}: {v:.4f}" for s, v in history["val"][-10:]), ""]
    lines += ["## Intended use and limits", "",
              "Short (1–10 s) single-person body motion from English prompts, on Anima's "
              "canonical 22-joint skeleton; longer clips are made window by window. No "
              "fingers, no facial motion, no object or scene awareness. The vocabulary of "
              "motions is that of the training data above: prompts far outside it give "
              "plausible but generic motion.", ""]
    return "\n".join(lines)


# ================================================================================= train
def train(cfg: TrainConfig, out: Path | None = None, work_dir: Path | None = None,
          device: str | None = None, fresh: bool = False, dataset=None,
          log: Callable[[str], None] | None = None, max_seconds: float | None = None,
          init: dict | None = None, keep_splits: bool = False) -> dict:
    """Run (or resume) a training run. Returns a summary dict (rank 0; others get {}).

    dataset: a T2MDataset to use instead of what the config names (tests).
    max_seconds: stop (and checkpoint) after this much wall time.
    init: a checked checkpoint (sample.load_checkpoint) to fine-tune (finetune.py): its
        weights, text statistics and mean/std are kept; every item of the data trains; the
        provenance combines both licences. cfg.model must be the checkpoint's."""
    torch.manual_seed(cfg.seed)
    dist = Dist(device)
    work_dir = Path(work_dir or (REPO_ROOT / "out" / "train" / f"text2motion_{cfg.name}"))
    out = Path(out or (work_dir / f"text2motion_{cfg.name}.pt"))
    printer = log or (lambda m: print(m, flush=True))

    def say(msg: str) -> None:
        if dist.is_main:
            printer(msg)

    try:
        if dist.is_main:
            work_dir.mkdir(parents=True, exist_ok=True)
        dist.barrier()
        ds = dataset if dataset is not None else load_data(cfg, work_dir, dist, say)
        train_items = [it for it in ds.items if it.split == "train"]
        if init is not None and not keep_splits:  # a user library is too small to hold out
            train_items = list(ds.items)
        val_items = [it for it in ds.items if it.split == "val"] or train_items
        if not train_items:
            raise TrainError("the dataset has no training items")
        prov = provenance(ds)
        mean, std = ds.mean, ds.std
        if init is not None and keep_splits:
            prov["continued_from"] = {"name": str(init.get("name") or "init"),
                                      "steps": init.get("steps"),
                                      "hash": (init.get("dataset") or {}).get("hash")}
        elif init is not None:
            from .finetune import combined_provenance
            prov = combined_provenance(init, prov)
        if init is not None:
            mean, std = init["mean"].float().numpy(), init["std"].float().numpy()
        say(f"data: {len(train_items)} train / {len(val_items)} val items, "
            f"{prov['minutes']} min, licence {prov['licence']}")
        if cfg.balance > 0 or cfg.balance_style > 0:
            from .robust import balanced
            n_items = len(train_items)
            train_items = balanced(train_items, cfg.balance, cfg.balance_max, cfg.balance_style)
            say(f"balanced: {n_items} train items -> {len(train_items)} (rare actions and "
                f"styles repeated, powers {cfg.balance:g} / {cfg.balance_style:g})")
        para_caps, para = [], None
        if cfg.paraphrase > 0:
            from .robust import paraphrase_index
            para_caps, para = paraphrase_index(train_items, cfg.paraphrase_pool, cfg.seed)
            say(f"paraphrases: {len(para_caps)} for "
                f"{sum(1 for p in para if p)} of {len(train_items)} items")
        index, emb = caption_embeddings([train_items, val_items], work_dir, dist, say,
                                        extra=para_caps)
        if cfg.model.lateral_code > 0:
            from . import laterality
            captions = sorted(index, key=index.get)
            emb = laterality.apply(emb, captions, cfg.model.lateral_code)

        dev = dist.device
        model = Text2Motion(cfg.model)
        train_caps = sorted({c for it in train_items for c in it.captions})
        if train_caps:
            model.flow.set_text_stats(emb[[index[c] for c in train_caps]])
        if init is not None:        # weights and text statistics of the init model
            model.load_state_dict({k: v.float() if v.is_floating_point() else v
                                   for k, v in init["state_dict"].items()})
        model = model.to(dev)
        ema = copy.deepcopy(model).eval()
        for p in ema.parameters():
            p.requires_grad_(False)
        decay, no_decay = [], []
        for n, p in model.named_parameters():
            (decay if p.ndim >= 2 and "null_text" not in n else no_decay).append(p)
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=cfg.lr, betas=(0.9, 0.99))
        step = 0
        history: dict = {"val": []}
        state_path = work_dir / "state.pt"
        if state_path.is_file() and not fresh:
            st = torch.load(state_path, map_location="cpu", weights_only=True)
            if st.get("model_config") != asdict(cfg.model):
                raise TrainError(f"{state_path}: saved run has another model config; pass "
                                 f"--fresh to start over or use another --work-dir")
            model.load_state_dict(st["model"])
            ema.load_state_dict(st["ema"])
            opt.load_state_dict(st["optimizer"])
            step = int(st["step"])
            history = st.get("history", history)
            say(f"resumed from {state_path} at step {step}")
        n_params = count_parameters(model)
        use_bf16 = cfg.amp == "bf16" or (cfg.amp == "auto" and native_bf16(dev))
        say(f"model: {n_params / 1e6:.2f} M parameters on {dev}, world size {dist.world}, "
            f"{'bf16 autocast' if use_bf16 else 'fp32'}")

        net = model
        if dist.world > 1:
            net = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[dev.index] if dev.type == "cuda" else None)

        min_rows = max(cfg.model.down_factor, cfg.min_crop_frames)
        train_set = CropDataset(train_items, mean, std, index, emb, cfg.model, min_rows,
                                epoch_size=cfg.batch * dist.world, para=para,
                                p_para=cfg.paraphrase, text_noise=cfg.text_noise)
        sampler = torch.utils.data.distributed.DistributedSampler(
            train_set, num_replicas=dist.world, rank=dist.rank, shuffle=True, seed=cfg.seed,
            drop_last=True)
        if cfg.bucket:
            batches = LengthBuckets(sampler, [it.num_frames for it in train_items], cfg.batch,
                                    cfg.seed)
            sampling = {"batch_sampler": batches}
        else:
            batches = sampler
            sampling = {"batch_size": cfg.batch, "sampler": sampler, "drop_last": True}
        loader = torch.utils.data.DataLoader(
            train_set, **sampling, num_workers=cfg.workers,
            collate_fn=functools.partial(collate, down_factor=cfg.model.down_factor),
            persistent_workers=cfg.workers > 0)
        val_set = CropDataset(val_items, mean, std, index, emb, cfg.model, min_rows, p_crop=0.0)
        gen = torch.Generator().manual_seed(cfg.seed * 1000 + dist.rank + step)
        np.random.seed((cfg.seed * 1000 + dist.rank + step) % 2**32)

        def validate() -> float:
            net.eval()
            vgen = torch.Generator().manual_seed(1234)
            total, count = 0.0, 0
            nb = min(cfg.val_batches, max(1, math.ceil(len(val_items) / cfg.batch)))
            with torch.no_grad():
                for b in range(nb):
                    idx = [(b * cfg.batch + k) % len(val_items) for k in range(cfg.batch)]
                    x, lengths, text, bins = collate([val_set[i] for i in idx],
                                                     cfg.model.down_factor)
                    _, fl, _ = flow_loss(ema, x, lengths, text, bins, cfg, vgen, dev,
                                         train=False)
                    total += float(fl)
                    count += 1
            net.train()
            return dist.mean(total / max(1, count))

        def checkpoint(val_loss):
            if not dist.is_main:
                return
            _atomic_save({"model_config": asdict(cfg.model), "model": model.state_dict(),
                          "ema": ema.state_dict(), "optimizer": opt.state_dict(),
                          "step": step, "history": history, "train_config": cfg.to_dict()},
                         state_path)
            ck = shipped_checkpoint(ema, cfg, mean, std, prov, step, val_loss)
            _atomic_save(ck, out)
            write_text(out.with_suffix(".md"), model_card(ck, n_params, out, history))

        def autocast():
            return torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_bf16)

        net.train()
        t_start = time.perf_counter()
        t_log, steps_since = t_start, 0
        epoch = step // max(1, len(loader))
        val_loss = history["val"][-1][1] if history["val"] else None
        stopped_early = False
        log_path = work_dir / "log.jsonl"
        while step < cfg.steps:
            batches.set_epoch(epoch)
            for x, lengths, text, bins in loader:
                if step >= cfg.steps:
                    break
                lr = lr_at(step, cfg)
                for g in opt.param_groups:
                    g["lr"] = lr
                with autocast():
                    loss, fl, ll = flow_loss(net, x, lengths, text, bins, cfg, gen, dev)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                gn = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                ema_update(ema, model, step, cfg)
                step += 1
                steps_since += 1
                if step % cfg.log_every == 0 or step == cfg.steps:
                    now = time.perf_counter()
                    rate = steps_since / max(1e-9, now - t_log)
                    rec = {"step": step, "loss": dist.mean(float(fl)),
                           "length_loss": dist.mean(float(ll)), "lr": lr,
                           "grad_norm": float(gn), "steps_per_s": rate}
                    t_log, steps_since = now, 0
                    say(f"step {step}/{cfg.steps} flow {rec['loss']:.4f} length "
                        f"{rec['length_loss']:.3f} lr {lr:.2e} |g| {float(gn):.2f} "
                        f"{rate:.2f} steps/s")
                    if dist.is_main:
                        with log_path.open("a") as fh:
                            fh.write(json.dumps(rec) + "\n")
                if step % cfg.val_every == 0 or step == cfg.steps:
                    val_loss = validate()
                    history["val"].append((step, val_loss))
                    say(f"step {step} val flow loss {val_loss:.4f}")
                    if dist.is_main and val_loss <= min(v for _, v in history["val"]):
                        best = work_dir / "best.pt"      # lowest validation loss so far
                        ck = shipped_checkpoint(ema, cfg, mean, std, prov, step, val_loss)
                        _atomic_save(ck, best)
                        write_text(best.with_suffix(".md"),
                                   model_card(ck, n_params, best, history))
                if step % cfg.ckpt_every == 0 or step == cfg.steps:
                    checkpoint(val_loss)
                if max_seconds is not None:
                    late = float(time.perf_counter() - t_start > max_seconds)
                    if dist.mean(late) > 0:            # every rank stops at the same step
                        stopped_early = True
                        break
            epoch += 1
            if stopped_early:
                checkpoint(val_loss)
                break
        dist.barrier()
        elapsed = time.perf_counter() - t_start
        summary = {"steps": step, "val_loss": val_loss, "out": str(out),
                   "work_dir": str(work_dir), "seconds": elapsed, "parameters": n_params,
                   "licence": prov["licence"]} if dist.is_main else {}
        if dist.is_main:
            say(f"done: {step} steps in {elapsed:.0f} s -> {out}")
        return summary
    finally:
        dist.close()
