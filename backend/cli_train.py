"""`python -m backend train FAMILY`: train a model family.

    python -m backend train text2motion --preset starter --out assets/models/text2motion_starter.pt
    python -m backend train text2motion --config my.json --dataset data/t2m.npz --steps 20000
    torchrun --nproc_per_node=4 -m backend train text2motion --preset clean     # same code, DDP
    python -m backend train text2motion --init starter --dataset mine.npz [--name mine]

Runs on the CPU here and under `torchrun` (DistributedDataParallel; gloo on CPU, nccl on GPU)
unchanged. `--batch` is per process. A run resumes from `<work-dir>/state.pt` when one exists
(pass `--fresh` to start over). See docs/text2motion.md.

`--init starter|clean|PATH.pt` fine-tunes that model on `--dataset` (your own clips: see
`python -m backend import --folder`), keeping its network and normalisation, with a short
schedule (models/text2motion/finetune.py); the result goes to `<user data>/models/<name>.pt`
with a model card (.md) and a summary (.json) that the Blender panel lists.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FAMILIES = ("text2motion",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("family", choices=FAMILIES)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--init", default=None, metavar="starter|clean|PATH.pt",
                     help="fine-tune this model on --dataset (always a fresh run)")
    src.add_argument("--config", type=Path, help="training config JSON (TrainConfig fields, "
                                                 "with a nested 'model' object)")
    src.add_argument("--preset", choices=("tiny", "starter", "clean", "starter-text",
                                            "clean-text"))
    parser.add_argument("--dataset", default=None,
                        help="a saved text-to-motion dataset (.npz), or a folder in the "
                             "HumanML3D layout; default: the config's libraries")
    parser.add_argument("--out", type=Path, default=None,
                        help="checkpoint to write (default: <work-dir>/text2motion_<name>.pt); "
                             "a model card goes next to it (.md)")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="training state, logs and caches (default: out/train/<name>)")
    parser.add_argument("--steps", type=int, default=None, help="total optimisation steps")
    parser.add_argument("--batch", type=int, default=None, help="batch size per process")
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    parser.add_argument("--fresh", action="store_true", help="ignore a saved training state")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="stop (with a checkpoint) after this much wall time")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--continue-from", default=None, metavar="starter|clean|PATH.pt",
                        help="with --preset/--config: start from this model's weights and "
                             "normalisation, keeping the dataset's splits (a new recipe for "
                             "a model on its own data; a fresh run)")
    parser.add_argument("--paraphrase", type=float, default=None,
                        help="share of samples conditioned on a paraphrase of their labels")
    parser.add_argument("--text-noise", type=float, default=None,
                        help="std of noise added to the caption embeddings")
    parser.add_argument("--name", default=None,
                        help="with --init: the new model's name (default: <init>_<dataset>)")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved config as JSON and exit")


def run(args: argparse.Namespace) -> int:
    import torch

    from .models.text2motion.config import ConfigError, TrainConfig, preset
    from .models.text2motion.train import TrainError, train

    init = None
    try:
        if args.init:
            init, cfg = _finetune_setup(args)
        else:
            cfg = TrainConfig.load(args.config) if args.config else preset(args.preset)
    except (ConfigError, ValueError) as e:        # CheckpointError is a ValueError
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.name and not args.init:
        print("error: --name goes with --init (use a --config's name otherwise)",
              file=sys.stderr)
        return 2
    if args.dataset and not args.init:
        if Path(args.dataset).is_dir():
            cfg.humanml3d, cfg.dataset = str(args.dataset), None
        else:
            cfg.dataset, cfg.humanml3d = str(args.dataset), None
    if args.steps is not None:
        if args.steps < 1:
            print("error: --steps must be at least 1", file=sys.stderr)
            return 2
        cfg.steps = args.steps
    if args.batch is not None:
        if args.batch < 1:
            print("error: --batch must be at least 1", file=sys.stderr)
            return 2
        cfg.batch = args.batch
    if args.lr is not None:
        cfg.lr = args.lr
    for key in ("paraphrase", "text_noise"):
        value = getattr(args, key, None)
        if value is not None:
            if not 0.0 <= value <= (1.0 if key == "paraphrase" else 1e3):
                print(f"error: --{key.replace('_', '-')} {value} is out of range",
                      file=sys.stderr)
                return 2
            setattr(cfg, key, value)
    keep_splits = False
    if getattr(args, "continue_from", None):
        if args.init:
            print("error: --continue-from goes with --preset or --config, not --init",
                  file=sys.stderr)
            return 2
        try:
            init = _continue_setup(args.continue_from, cfg)
        except (ValueError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        keep_splits = True
    if init is not None and not keep_splits:
        from .models.text2motion.finetune import fit_schedule
        fit_schedule(cfg)
    if args.print_config:
        print(json.dumps(cfg.to_dict(), indent=1))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        summary = train(cfg, out=args.out, work_dir=args.work_dir, device=args.device,
                        fresh=args.fresh or (init is not None and not keep_splits),
                        max_seconds=None if args.max_minutes is None
                        else args.max_minutes * 60.0, init=init, keep_splits=keep_splits)
    except (TrainError, ConfigError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # the dataset module's errors are ValueErrors with clear text
        from .data.t2m_dataset import DatasetError
        if isinstance(e, DatasetError):
            print(f"error: {e}", file=sys.stderr)
            return 2
        raise
    if summary and init is not None and not keep_splits:
        from .models.text2motion.finetune import write_summary
        summary["summary"] = str(write_summary(Path(summary["out"])))
    if summary:
        print(" ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


def _continue_setup(spec: str, cfg) -> dict:
    """The checkpoint to continue from; its network config replaces the preset's (it must be
    the same network). Raises CheckpointError / ConfigError with a message for the user."""
    from dataclasses import asdict

    from .models.text2motion import finetune as ft
    from .models.text2motion.config import ConfigError

    path, ck = ft.load_init(spec)
    ck["_path"] = str(path)
    if asdict(ck["model_config"]) != asdict(cfg.model):
        raise ConfigError(f"--continue-from {spec}: its network ({path}) differs from the "
                          f"config's; continue with the same --preset it was trained with")
    return ck


def _finetune_setup(args: argparse.Namespace):
    """(init checkpoint, TrainConfig) for `--init`; sets args.out / args.work_dir defaults.
    Raises ConfigError / CheckpointError with a message for the user."""
    from .models.text2motion import finetune as ft
    from .models.text2motion.config import ConfigError
    from .paths import user_data_dir

    if not args.dataset:
        raise ConfigError("--init needs --dataset: a dataset built from your library with "
                          "`python -m backend dataset build --libraries NAME --out F.npz`")
    if Path(args.dataset).is_dir() or not Path(args.dataset).is_file():
        raise ConfigError(f"--dataset {args.dataset}: not a dataset .npz file (build one with "
                          f"`python -m backend dataset build --libraries NAME`)")
    path, ck = ft.load_init(args.init)
    ck["_path"] = str(path)
    name = ft.check_model_name(args.name or ft.default_model_name(args.init, args.dataset))
    cfg = ft.finetune_config(ck, name, args.dataset)
    args.out = args.out or (ft.user_models_dir() / f"{name}.pt")
    args.work_dir = args.work_dir or (user_data_dir() / "train" / name)
    return ck, cfg
