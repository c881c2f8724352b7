"""`python -m backend eval text2motion`: score a text-to-motion model on the held-out test split.
(`python -m backend eval editing`: in-betweening, see backend/models/editing/evaluate.py.)

    python -m backend eval text2motion [--checkpoint starter|clean|PATH] [--dataset DATA.npz]
                                       [--split test] [--samples N] [--real-only]

1. Loads the dataset (default: <user data>/t2m/dataset_all.npz, built by
   ``python -m backend dataset build``). When the checkpoint was trained on a filtered dataset
   (commercially usable items only, some sources), the same filter is applied to the test items.
2. Loads the action/style recognizer trained on that dataset's real train split, or trains it
   and caches it under <user data>/eval/ keyed by the dataset's fingerprint.
3. Scores the real test items (the reference row) and, when a generator is available, one
   generated motion per test item: one of the item's captions (chosen with a fixed seed), the
   item's length in seconds (``--length data``; ``predict`` lets the model choose), seed = i.
4. Prints a table and, on the last line, key=value pairs:
   real_acc gen_acc acc_ratio (recognition accuracy pooled over the action and style labels the
   recognizer knows; per kind as real_action_acc ...), fid (generated vs real test features),
   fid_real (real train vs real test: the floor FID can reach), diversity_real diversity_gen,
   skate_* penetration_* floating_* jerk_* (``backend.eval.metrics``).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from .fileio import write_text
from .paths import user_data_dir

TASKS = ("text2motion", "editing", "edits", "path", "story", "physics", "camera")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", choices=TASKS)
    parser.add_argument("--checkpoint", default=None,
                        help="model name (starter, clean) or checkpoint path (default: starter)")
    parser.add_argument("--dataset", type=Path, default=None,
                        help="saved T2MDataset (default: <user data>/t2m/dataset_all.npz)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--samples", type=int, default=None,
                        help="score at most N items (a fixed random subset)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--length", choices=("data", "predict"), default="data",
                        help="generated length: the real item's (data) or the model's choice")
    parser.add_argument("--real-only", action="store_true", help="only the real reference row")
    parser.add_argument("--prompts", type=Path, default=None,
                        help="text2motion: score the generator on an independent prompt set "
                             "folder (e.g. tests/data/prompts; backend/eval/prompt_eval.py)")
    parser.add_argument("--compound", action="store_true",
                        help="--prompts: the compound prompts part by part, and the prompt "
                             "checker's unknown / false-alarm rates (eval/compound_eval.py)")
    parser.add_argument("--conditioning", choices=("prompt", "snap", "job", "labels"),
                        default="prompt",
                        help="--prompts: condition on the prompt as typed, snapped to a "
                             "training-like caption (backend/text/snap.py), as the generate "
                             "job does (compound prompts composed, the rest snapped), or (a "
                             "ceiling, not a result) on a training caption of the prompt's "
                             "own labels")
    parser.add_argument("--show-misses", action="store_true",
                        help="--compound: print each missed prompt (not for blind sets: "
                             "their misses are not to be read)")
    parser.add_argument("--tries", type=int, default=None,
                        help="takes of a checked action (default: the generate job's; 1: the "
                             "model's first take, unchecked)")
    parser.add_argument("--recognizer", type=Path, default=None,
                        help="recognizer checkpoint to use (default: cached per dataset)")
    parser.add_argument("--retrain", action="store_true", help="retrain the cached recognizer")
    parser.add_argument("--epochs", type=int, default=12, help="recognizer training epochs")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (recognizer training and generation; 1 is "
                             "faster on a busy machine)")
    parser.add_argument("--batch", type=int, default=16, help="generation batch size")
    parser.add_argument("--guidance", type=float, default=None,
                        help="classifier-free guidance (default: the generator's default)")
    parser.add_argument("--raw", action="store_true",
                        help="score the generator's raw features (default: after the foot "
                             "clean-up that Generator.to_clip applies; both are printed)")
    parser.add_argument("--steps", type=int, default=None,
                        help="sampling steps (default: the generator's default)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--text", action="store_true",
                        help="editing: steer in-betweening with each clip's caption")
    parser.add_argument("--stories", type=Path, default=None,
                        help="story: a folder of example stories (default assets/stories)")
    parser.add_argument("--card", type=Path, default=None,
                        help="write the results into this model card (.md), replacing its "
                             "'Evaluation' section")


def recognizer_cache_path(dataset, epochs: int, seed: int) -> Path:
    key = f"{dataset.fingerprint()[:16]}_e{epochs}_s{seed}"
    return user_data_dir() / "eval" / f"recognizer_{key}.pt"


def get_recognizer(dataset, path: Path | None, epochs: int, seed: int, retrain: bool,
                   log=print, threads: int | None = None):
    """The recognizer for `dataset`: `path` if given, else the cached one, else trained now
    (and cached)."""
    from .eval.recognizer import Recognizer, train_recognizer

    if path is not None:
        return Recognizer.load(path), path
    cache = recognizer_cache_path(dataset, epochs, seed)
    if cache.is_file() and not retrain:
        return Recognizer.load(cache), cache
    log(f"training the recognizer on {sum(it.split == 'train' for it in dataset.items)} real "
        f"train items ({epochs} epochs); cached as {cache}")
    rec = train_recognizer(dataset, epochs=epochs, seed=seed, log=log, threads=threads)
    rec.save(cache)
    return rec, cache


def score(rec, items, features_list, fps: float = 20.0, seed: int = 0) -> dict:
    """Recognition accuracies, recognizer features, diversity and physical metrics of
    `features_list` (one (T, 263) array per item, asked for item.labels)."""
    from .eval import metrics as M

    pred = rec.predict(features_list)
    out: dict = {"features": pred["features"]}
    hits, total = 0, 0
    for kind in rec.vocab:
        truth = [it.labels.get(kind) if rec.known(kind, it.labels.get(kind)) else None
                 for it in items]
        acc = M.recognition_accuracy(pred[kind], truth)
        n = sum(t is not None for t in truth)
        out[f"{kind}_acc"] = acc
        out[f"{kind}_n"] = n
        if n:
            hits += int(round(acc * n))
            total += n
    out["acc"] = hits / total if total else float("nan")
    out["diversity"] = M.diversity(pred["features"], seed=seed) if len(items) > 1 else \
        float("nan")
    out.update(M.physical_metrics(features_list, fps))
    return out


def _fmt(v) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return f"{v:.4f}" if abs(v) < 1000 else f"{v:.1f}"
    return str(v)


CARD_HEADING = "## Evaluation"


def _command(args) -> list[str]:
    """The eval command line that gives these results."""
    cmd = ["python", "-m", "backend", "eval", args.task]
    for flag, value in (("--checkpoint", args.checkpoint), ("--dataset", args.dataset),
                        ("--split", args.split), ("--samples", args.samples),
                        ("--seed", args.seed), ("--length", args.length),
                        ("--guidance", args.guidance), ("--steps", args.steps)):
        if value is not None:
            cmd += [flag, str(value)]
    return cmd + (["--raw"] if args.raw else [])


def write_card_section(card: Path, table: list[str], results: dict, args) -> None:
    """Replace (or append) the model card's evaluation section with these results."""
    import shlex

    text = card.read_text() if card.is_file() else ""
    if CARD_HEADING in text:
        head, _, rest = text.partition(CARD_HEADING)
        nxt = rest.find("\n## ")
        tail = rest[nxt + 1:] if nxt >= 0 else ""
    else:
        head, tail = text.rstrip() + "\n\n", ""
    ratio = results.get("acc_ratio", float("nan"))
    lines = [CARD_HEADING, "",
             f"Held-out `{args.split}` split, {results['samples']} items, one generation each "
             f"(the item's caption and length, seed per item); recogniser trained on real "
             f"training motion only (`{Path(results['recognizer']).name}`). The generated row "
             f"is what users get (after the foot clean-up); `gen (raw)` is the network's "
             f"output.", "", *table, "",
             f"Recognition of generated motion: **{100 * ratio:.1f} % of real motion's rate**; "
             f"foot skating {results['skate_gen']:.3f} vs real {results['skate_real']:.3f}.",
             "", "Reproduce: `" + " ".join(shlex.quote(a) for a in _command(args)) + "`", ""]
    write_text(card, head + "\n".join(lines) + ("\n" + tail if tail else ""))
    print(f"wrote the evaluation into {card}")


def run(args: argparse.Namespace) -> int:
    if args.task == "editing":       # in-betweening, LAFAN1-style (models/editing/evaluate.py)
        from .models.editing.evaluate import run_eval
        return run_eval(args)
    if args.task == "edits":         # seams of generator edits (models/editing/seam_eval.py)
        from .models.editing.seam_eval import run_eval as run_seams
        return run_seams(args)
    if args.task == "physics":       # tracking with MuJoCo (models/physics/evaluate.py)
        from .models.physics.evaluate import run_eval as run_physics
        return run_physics(args)
    if args.task == "story":         # example stories (models/story/evaluate.py)
        from .models.story.evaluate import run_eval as run_story
        return run_story(args)
    if args.task == "camera":        # drone-camera paths (models/camera/evaluate.py)
        from .models.camera.evaluate import run_eval as run_camera
        return run_camera(args)
    if args.task == "path":          # path following (models/editing/path_eval.py)
        from .models.editing.path_eval import run_eval as run_path
        return run_path(args)
    from .data import t2m_dataset as T
    from .eval import metrics as M

    t_start = time.perf_counter()
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    path = args.dataset or (user_data_dir() / "t2m" / "dataset_all.npz")
    try:
        ds = T.T2MDataset.load(path)
    except T.DatasetError as e:
        print(f"error: {e}")
        return 2

    # ---------------------------------------------------------------- the generator
    gen, gen_error = None, None
    name = args.checkpoint or "starter"
    if not args.real_only:
        try:
            from .models.text2motion.sample import load_generator
        except ImportError as e:
            gen_error = f"the text-to-motion generator code is not available ({e})"
        else:
            try:
                gen = load_generator(name)
            except Exception as e:    # CheckpointError and friends: report, do not crash
                gen_error = f"cannot load generator {name!r}: {e}"
        if gen_error:
            print(f"note: {gen_error}; scoring real motion only")

    # ---------------------------------------------------------------- the recognizer
    try:
        rec, rec_path = get_recognizer(ds, args.recognizer, args.epochs, args.seed, args.retrain,
                                       threads=args.threads)
    except Exception as e:
        print(f"error: recognizer: {e}")
        return 2

    if args.prompts is not None:      # the independent prompt set (eval/prompt_eval.py)
        from .eval import prompt_eval
        return prompt_eval.run(args, ds, rec)

    # ---------------------------------------------------------------- the test items
    test = ds.filter(split=args.split)
    gen_data = (gen.meta.get("dataset") or {}) if gen is not None else {}
    filt = gen_data.get("filter") or {}
    if gen_data.get("hash") and gen_data["hash"] not in (ds.fingerprint(), None) and not filt:
        print(f"note: the model was trained on other data (hash {gen_data['hash'][:16]}) than "
              f"{path.name} ({ds.fingerprint()[:16]}); test takes are the same only if both "
              f"were built by this pipeline (splits come from take names)")
    if filt.get("commercial_only") or filt.get("sources"):
        test = test.filter(commercial_only=bool(filt.get("commercial_only")),
                           sources=filt.get("sources"))
        print(f"note: the model was trained on a filtered dataset ({filt}); the same filter "
              f"applies to the {args.split} items")
    items = list(test.items)
    rng = np.random.default_rng(args.seed)
    if args.samples is not None and args.samples < len(items):
        keep = sorted(rng.choice(len(items), args.samples, replace=False))
        items = [items[i] for i in keep]
    if len(items) < 2:
        print(f"error: only {len(items)} {args.split} item(s) to score")
        return 2
    if len(items) <= rec.config.feature_dim:
        print(f"note: {len(items)} samples for {rec.config.feature_dim}-dim features: FID is "
              f"dominated by estimation noise (use a few hundred)")

    # ---------------------------------------------------------------- real reference row
    real = score(rec, items, [it.features for it in items], seed=args.seed)
    train_items = [it for it in ds.items if it.split == "train"]
    ref = [train_items[i] for i in
           sorted(rng.choice(len(train_items), min(len(train_items), max(len(items), 300)),
                             replace=False))]
    ref_feats = rec.features([it.features for it in ref])
    results = {"dataset": str(path), "dataset_fingerprint": ds.fingerprint(),
               "recognizer": str(rec_path), "split": args.split, "samples": len(items),
               "real_acc": real["acc"], "fid_real": M.fid(ref_feats, real["features"]),
               "diversity_real": real["diversity"], "skate_real": real["skate"],
               "penetration_real": real["penetration"], "floating_real": real["floating"],
               "jerk_real": real["jerk"]}
    for kind in rec.vocab:
        results[f"real_{kind}_acc"] = real[f"{kind}_acc"]

    # ---------------------------------------------------------------- generated rows
    gen_row = None
    if gen is not None:
        texts = [it.captions[int(rng.integers(len(it.captions)))] if it.captions else ""
                 for it in items]
        seconds = [it.seconds if args.length == "data" else None for it in items]
        seeds = [args.seed + i for i in range(len(items))]
        sampling = {k: v for k, v in (("guidance", args.guidance), ("steps", args.steps))
                    if v is not None}
        feats = []
        t0 = time.perf_counter()
        for s in range(0, len(items), args.batch):
            feats += list(gen.generate(texts[s:s + args.batch], seconds[s:s + args.batch],
                                       seeds[s:s + args.batch], **sampling))
            print(f"generated {len(feats)}/{len(items)} ({time.perf_counter() - t0:.0f} s)",
                  flush=True)
        gen_s = time.perf_counter() - t0
        feats = [np.asarray(f, np.float32) for f in feats]
        raw_row = score(rec, items, feats, seed=args.seed)
        if not args.raw:          # what the user gets: Generator.to_clip cleans up first
            from .motion.cleanup import clean_features
            feats = [clean_features(f) for f in feats]
        gen_row = score(rec, items, feats, seed=args.seed) if not args.raw else raw_row
        results.update({
            "checkpoint": str(getattr(gen, "path", name)), "gen_acc": gen_row["acc"],
            "acc_ratio": gen_row["acc"] / real["acc"] if real["acc"] else float("nan"),
            "fid": M.fid(gen_row["features"], real["features"]),
            "diversity_gen": gen_row["diversity"], "skate_gen": gen_row["skate"],
            "penetration_gen": gen_row["penetration"], "floating_gen": gen_row["floating"],
            "jerk_gen": gen_row["jerk"], "gen_seconds": gen_s,
            "guidance": sampling.get("guidance", float("nan")), "cleanup": not args.raw,
            "raw_gen_acc": raw_row["acc"], "raw_skate_gen": raw_row["skate"],
            "raw_jerk_gen": raw_row["jerk"],
            "gen_seconds_per_clip": gen_s / len(items)})
        for kind in rec.vocab:
            results[f"gen_{kind}_acc"] = gen_row[f"{kind}_acc"]
    elif not args.real_only:
        results["generator_error"] = gen_error

    # ---------------------------------------------------------------- report
    kinds = list(rec.vocab)
    cols = ["acc"] + [f"{k}_acc" for k in kinds] + ["fid", "diversity", "skate", "penetration",
                                                    "floating", "jerk"]
    print(f"\n{args.split} split: {len(items)} items "
          + ", ".join(f"{k}: {real[k + '_n']} labelled" for k in kinds)
          + f"; recognizer {rec_path.name}")
    print(f"{'':<10}" + "".join(f"{c:>13}" for c in cols))
    rows = [("real", real, results["fid_real"])]
    if gen_row is not None:
        if not args.raw:
            rows.append(("gen (raw)", raw_row, M.fid(raw_row["features"], real["features"])))
        rows.append(("generated", gen_row, results["fid"]))
    table = ["| | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for label, row, fid_v in rows:
        vals = [row["acc"]] + [row[f"{k}_acc"] for k in kinds] + [
            fid_v, row["diversity"], row["skate"], row["penetration"], row["floating"],
            row["jerk"]]
        print(f"{label:<10}" + "".join(f"{_fmt(v):>13}" for v in vals))
        table.append(f"| {label} | " + " | ".join(_fmt(v) for v in vals) + " |")
    print("(fid of the real row: real train vs real test items; 'gen (raw)': the network's "
          "output before the foot clean-up that clips get; skate: fraction of frames; "
          "penetration/floating: m; jerk: m/s^3)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_text(args.json, json.dumps({k: v for k, v in results.items()}, indent=2,
                                         default=float))
    keys = ["real_acc", "gen_acc", "acc_ratio", "fid", "fid_real", "diversity_real",
            "diversity_gen", "skate_real", "skate_gen", "penetration_real", "penetration_gen",
            "floating_real", "floating_gen", "jerk_real", "jerk_gen"]
    keys += [f"real_{k}_acc" for k in kinds] + [f"gen_{k}_acc" for k in kinds]
    if gen_row is not None:
        keys += ["raw_gen_acc", "raw_skate_gen", "raw_jerk_gen"]
    results["eval_seconds"] = time.perf_counter() - t_start
    if args.card is not None and gen_row is not None:
        write_card_section(args.card, table, results, args)
    keys += ["samples", "eval_seconds"]
    print(" ".join(f"{k}={_fmt(results.get(k, float('nan')))}" for k in keys))
    if gen is None and args.checkpoint is not None and not args.real_only:
        return 2
    return 0
