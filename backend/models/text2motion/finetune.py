"""Fine-tuning a shipped (or any saved) text-to-motion model on the user's own data.

    python -m backend import --folder DIR --captions F.csv --name mine
    python -m backend dataset build --libraries mine --out mine.npz
    python -m backend train text2motion --init starter --dataset mine.npz [--name mine]

The run starts from the init checkpoint's weights, network config and normalisation (mean/std
of its training data, and its text statistics: prompts keep meaning what they meant), trains
on every item of the dataset (a user library is too small to hold some out) with a small
learning rate for a few hundred steps, and writes ``<user data>/models/<name>.pt`` with its
model card (``.md``) and a summary (``.json``, read by the Blender panel without torch). The
new weights carry the most restrictive licence of the init model's and the user data's.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ...fileio import write_text
from ...paths import user_data_dir
from .config import SHIPPED, ConfigError, TrainConfig

FINETUNE_STEPS = 300
FINETUNE_LR = 5e-5
FINETUNE_BATCH = 16
FINETUNE_WARMUP = 20
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def user_models_dir() -> Path:
    """<user data>/models: fine-tuned checkpoints (the panel lists the .pt files there)."""
    return user_data_dir() / "models"


def load_init(spec: str) -> tuple[Path, dict]:
    """("starter" | "clean" | a .pt path) -> (its path, the checked checkpoint dict).
    Raises sample.CheckpointError naming the file."""
    from .sample import checkpoint_path, load_checkpoint

    path = checkpoint_path(spec)
    return path, load_checkpoint(path)


def check_model_name(name: str) -> str:
    if not _NAME_RE.match(name or ""):
        raise ConfigError(f"model name {name!r}: use letters, digits, '_', '-' or '.' (at most "
                          f"64, starting with a letter or digit)")
    if name in SHIPPED:
        raise ConfigError(f"model name {name!r} is a shipped model's; choose another --name")
    return name


def default_model_name(init_spec: str, dataset: str | None) -> str:
    """"starter" + ".../dataset_mine.npz" -> "starter_mine"."""
    init = Path(init_spec).stem if init_spec not in SHIPPED else init_spec
    data = Path(dataset).stem if dataset else "data"
    data = re.sub(r"^dataset_", "", data)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{init}_{data}").strip("_.-")
    return name[:64] or "finetuned"


def finetune_config(ck: dict, name: str, dataset: str) -> TrainConfig:
    """The init checkpoint's training config with its network, the user's dataset and the
    fine-tuning schedule (FINETUNE_*; the command line may override steps, batch and lr)."""
    try:
        cfg = TrainConfig.from_dict(ck.get("train_config") or {})
    except (ConfigError, TypeError):
        cfg = TrainConfig()
    cfg.model = ck["model_config"]
    cfg.name = name
    cfg.dataset, cfg.humanml3d, cfg.libraries = str(dataset), None, []
    cfg.commercial_only = False
    cfg.steps, cfg.lr, cfg.batch, cfg.warmup = FINETUNE_STEPS, FINETUNE_LR, FINETUNE_BATCH, \
        FINETUNE_WARMUP
    cfg.min_lr_ratio = 0.1
    cfg.ema_start, cfg.ema_decay = 0, 0.99       # the EMA starts at the init weights
    cfg.log_every, cfg.val_batches = 10, 2
    return cfg


def fit_schedule(cfg: TrainConfig) -> TrainConfig:
    """Validation and checkpoints a few times per run, whatever the number of steps."""
    cfg.val_every = cfg.ckpt_every = max(1, min(100, cfg.steps))
    cfg.warmup = min(cfg.warmup, max(1, cfg.steps // 10))
    return cfg


def _restrictive_licence(parts: list[tuple[str, bool]]) -> str:
    """One licence when one non-commercial licence binds them all, else all of them."""
    licences = sorted({lic for lic, _ in parts})
    nc = sorted({lic for lic, ok in parts if not ok})
    if len(licences) == 1:
        return licences[0]
    if len(nc) == 1:
        return nc[0]
    return " + ".join(licences) if licences else "unknown"


def combined_provenance(init: dict, data_prov: dict) -> dict:
    """The provenance of fine-tuned weights: the user data's (train.provenance) with the init
    model's sources added (as "<init name> model: <source>"), the licence of both (the most
    restrictive: commercial use only when both allow it) and an ``init`` record."""
    base = init.get("dataset") or {}
    init_name = str(init.get("name") or "init")
    init_licence = str(base.get("licence", "unknown"))
    init_ok = bool(base.get("commercial_ok", False))
    prov = dict(data_prov)
    sources = {f"{init_name} model: {k}": dict(v) for k, v in
               (base.get("sources") or {}).items()}
    sources.update(data_prov.get("sources", {}))
    prov["sources"] = sources
    parts = [(init_licence, init_ok)] + [(s["licence"], bool(s["commercial_ok"]))
                                         for s in data_prov.get("sources", {}).values()]
    prov["licence"] = _restrictive_licence(parts)
    prov["licences"] = sorted({lic for lic, _ in parts})
    prov["commercial_ok"] = init_ok and bool(data_prov.get("commercial_ok", False))
    prov["attribution"] = " ".join(a for a in (str(base.get("attribution") or ""),
                                               str(data_prov.get("attribution") or "")) if a)
    from ...text.coverage import merged, model_coverage
    init_cov = base.get("coverage") or (model_coverage(init_name)
                                        if init_name in SHIPPED else None)
    prov["coverage"] = merged(init_cov, data_prov.get("coverage"))
    prov["init"] = {"name": init_name, "licence": init_licence, "commercial_ok": init_ok,
                    "hash": base.get("hash"), "steps": init.get("steps"),
                    "path": str(init.get("_path", ""))}
    return prov


def write_summary(checkpoint: Path) -> Path:
    """``<checkpoint>.json``: name, licence, commercial_ok, init model, data (read by the
    Blender panel, which cannot load torch files)."""
    import torch

    ck = torch.load(checkpoint, map_location="cpu", weights_only=True)
    d = ck.get("dataset", {})
    summary = {"name": ck.get("name", checkpoint.stem), "licence": d.get("licence", "unknown"),
               "commercial_ok": bool(d.get("commercial_ok", False)),
               "init": (d.get("init") or {}).get("name"), "steps": ck.get("steps"),
               "minutes": d.get("minutes"), "items": d.get("items"),
               "created": ck.get("created"), "card": checkpoint.with_suffix(".md").name}
    path = checkpoint.with_suffix(".json")
    write_text(path, json.dumps(summary, indent=1))
    return path
