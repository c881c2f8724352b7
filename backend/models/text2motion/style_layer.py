"""Style as a layer: the carriage, amplitude and tempo of a style the model barely saw.

The generator learnt most styles from one recording per action: a proud bow, a sad
goodbye, an angry walk to the left each exist once (``backend/text/coverage.py``), and a
happy wave not at all. Such a style is given part of the way in the conditioning
(``snap.Blend``), and mostly does not show. What a style does to a body is much the same
across actions, though: an old or tired person stoops and moves slower, a proud one holds
the head up, an unconfident one drops head and shoulders, an active one swings the arms.

So for a thin style the generated motion gets the style's own layer, learnt from every
action the data has the style for:

* **carriage**: per bone of the spine, neck, head, collars and shoulders (and, when the
  arms are not the action's own, the upper arms and forearms), the mean rotation, in the
  body's heading frame, from the bone's mean direction in the action's neutral recordings
  (its "normal" ones, else all its styles together) to its mean direction in the style's,
  averaged over the actions that have the style;
* **amplitude**: per bone, the ratio of its angular spread about its mean direction
  (geometric mean over those actions); each frame's swing away from the clip's mean is
  scaled by it;
* **tempo**: the ratio of the bones' angular speed to their spread, style over neutral;
  the clip is re-timed by it: the generator makes a clip as much shorter (slower style)
  or longer, and it is stretched to the length asked or predicted.

Where the arms are the action (a wave, a punch), arms and shoulders keep what the
generator made. Runs and dashes get no layer: their pace and arm swing are the action (a
slow run reads as a walk, one with another arm swing as a dash).

Legs, pelvis and root path are left as generated, and the foot contact labels with them.
Applied in ``Generator.generate`` to a text that carries a layer (``Blend.layer``, set by
``snap.conditioning_caption`` for a thin style), never to an edit that keeps frames.

Measured on the generator alone, before any prompt set (every thin (action, style) pair of
the recogniser's vocabulary but runs and dashes, 3 seeds, their conditioning captions: 828
clips): the recogniser (trained on the same real train split) named the style in 20.2 % of
them without the layer and 34.8 % with it, the action in 56.4 and 57.7 %
(docs/text_understanding.md, round 12, with the variants tried).

The layer is a statistic of the Bandai-Namco recordings (CC BY-NC 4.0, like the models
trained on them): ``python -m backend.models.text2motion.style_layer --write`` rebuilds
``assets/models/style_layer.json`` from the dataset's train split.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from ...motion import humanml3d as H
from ...motion import quat
from ...motion.presence import GESTURES
from ...motion.resample import catmull_rom
from ...motion.skeleton import CANONICAL_NAMES, CANONICAL_PARENTS
from ...paths import REPO_ROOT
from .config import FPS, MAX_SECONDS

ARTIFACT = REPO_ROOT / "assets" / "models" / "style_layer.json"
FORMAT = "anima-style-layer"
_J = {n: i for i, n in enumerate(CANONICAL_NAMES)}
# bones are named by their child joint: the bone parent(j) -> j
CARRIAGE = tuple(_J[n] for n in ("spine1", "spine2", "spine3", "neck", "head", "left_collar",
                                 "right_collar", "left_shoulder", "right_shoulder"))
ARMS = tuple(_J[n] for n in ("left_elbow", "right_elbow", "left_wrist", "right_wrist"))
SHOULDERS = tuple(_J[n] for n in ("left_shoulder", "right_shoulder"))
# actions whose arms are the action: their arms (and shoulders) keep what the generator made
BUSY_ARMS = GESTURES | {"guide", "punch", "slash", "karate", "swordplay", "dribble"}
# actions whose pace and arm swing are the action get no layer: with the style's arm swing
# 8 of 36 thin styled runs read as dashes, and with the carriage alone the style showed in
# 7 of 36 against 6 without (docs/text_understanding.md, round 12)
NO_LAYER = frozenset({"run", "dash"})
NEUTRAL = "normal"
TEMPO_RANGE = (0.6, 1.6)
MIN_FRAMES = 3


def _bone_directions(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit bone directions (T, 21, 3) in each frame's heading frame, and the headings."""
    heading = H.heading_rotations(joints)
    v = quat.rotate(heading[:, None], joints[:, 1:] - joints[:, CANONICAL_PARENTS[1:]])
    return quat.normalize(v), heading


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.arccos(np.clip((a * b).sum(-1), -1.0, 1.0))


def clip_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bone: summed direction (21, 3), angular spread (21,) and angular speed (21,)."""
    d, _ = _bone_directions(H.recover_joints(np.asarray(features, np.float64)))
    mean = quat.normalize(d.mean(0))
    spread = np.sqrt((_angle(d, mean[None]) ** 2).mean(0))
    speed = _angle(d[1:], d[:-1]).mean(0) * FPS if len(d) > 1 else np.zeros(len(mean))
    return d.mean(0), spread, speed


def fit(items) -> dict:
    """The layer of every style from dataset items (train split, with action and style
    labels): {style: {"carriage": (21, 4) wxyz, "amplitude": (21,), "tempo": float,
    "actions": [...]}}."""
    sums: dict = {}
    for it in items:
        a, s = it.labels.get("action"), it.labels.get("style")
        if it.split != "train" or not a or not s:
            continue
        d, spread, speed = clip_statistics(it.features)
        acc = sums.setdefault((a, s), [np.zeros((21, 3)), np.zeros(21), np.zeros(21), 0])
        acc[0] += d
        acc[1] += spread
        acc[2] += speed
        acc[3] += 1
    stats = {k: (quat.normalize(v[0]), v[1] / v[3], v[2] / v[3]) for k, v in sums.items()}
    actions = sorted({a for a, _ in stats})
    styles = sorted({s for _, s in stats} - {NEUTRAL})

    def neutral(a):
        if (a, NEUTRAL) in stats:
            return stats[(a, NEUTRAL)]
        rows = [v for (b, _), v in stats.items() if b == a]
        return (quat.normalize(sum(r[0] for r in rows)), sum(r[1] for r in rows) / len(rows),
                sum(r[2] for r in rows) / len(rows))

    out = {}
    bones = [j - 1 for j in CARRIAGE + ARMS]
    for s in styles:
        acts = [a for a in actions if (a, s) in stats]
        q = np.stack([quat.between(neutral(a)[0], stats[(a, s)][0]) for a in acts])
        q = quat.abs_w(q).mean(0)
        amp = np.exp(np.mean([np.log(np.maximum(stats[(a, s)][1], 1e-6)
                                     / np.maximum(neutral(a)[1], 1e-6)) for a in acts], 0))
        spd = np.exp(np.mean([np.log(np.maximum(stats[(a, s)][2], 1e-6)
                                     / np.maximum(neutral(a)[2], 1e-6)) for a in acts], 0))
        tempo = float(np.exp(np.mean(np.log(spd[bones] / amp[bones]))))
        out[s] = {"carriage": quat.normalize(q), "amplitude": amp,
                  "tempo": float(np.clip(tempo, *TEMPO_RANGE)),
                  "actions": acts}
    return out


def save(layers: dict, path: Path, source: dict) -> None:
    from ...fileio import write_text
    doc = {"format": FORMAT, "version": 1, **source, "styles": {
        s: {"carriage": np.round(v["carriage"], 5).tolist(),
            "amplitude": np.round(v["amplitude"], 4).tolist(), "tempo": round(v["tempo"], 4),
            "actions": v["actions"]} for s, v in sorted(layers.items())}}
    write_text(path, json.dumps(doc, indent=1) + "\n")


@lru_cache(maxsize=4)
def load(path: Path = ARTIFACT) -> dict:
    """{style: {"carriage", "amplitude", "tempo"}} of the shipped layer ({} if missing)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    if doc.get("format") != FORMAT:
        raise ValueError(f"{path} is not an Anima style layer (format {doc.get('format')!r})")
    return {s: {"carriage": np.asarray(v["carriage"], np.float64),
                "amplitude": np.asarray(v["amplitude"], np.float64), "tempo": float(v["tempo"])}
            for s, v in doc["styles"].items()}


def tempo(style: str, strength: float = 1.0, layers: dict | None = None,
          action: str | None = None) -> float:
    """How much faster (>1) or slower the style is, at `strength` (1.0 without a layer or
    for an action that gets none, ``NO_LAYER``)."""
    layer = (load() if layers is None else layers).get(style)
    if layer is None or action in NO_LAYER:
        return 1.0
    return float(layer["tempo"]) ** float(strength)


def note(layer) -> str | None:
    """What the job tells the user when a text's `layer` (action, style, strength) is laid
    on its motion (None without one)."""
    if not layer or layer[1] not in load() or layer[0] in NO_LAYER:
        return None
    action, style, strength = layer
    pace = tempo(style, strength, action=action)
    how = "" if abs(pace - 1) < 0.05 else \
        f"; it moves {abs(pace - 1):.0%} {'slower' if pace < 1 else 'faster'}"
    parts = "head and spine" if action in BUSY_ARMS else "head, spine, shoulders and arms"
    return (f"the model saw few recordings of {style} '{action}': the {style} carriage and "
            f"swing of the other actions it was recorded in are laid on its {parts}{how}")


def layered_rows(texts, rows, keep) -> list:
    """rows[i] to generate, so that text i re-timed by its layer's tempo ends with rows[i]
    rows, the length asked or predicted (unchanged without a layer or for a kept edit)."""
    out = list(rows)
    for i, text in enumerate(texts):
        layer = getattr(text, "layer", None)
        if layer and (keep is None or keep[i] is None):
            pace = tempo(layer[1], layer[2], action=layer[0])
            out[i] = int(min(max(MIN_FRAMES, round(rows[i] * pace)), MAX_SECONDS * FPS))
    return out


def apply_layers(texts, feats, rows, keep) -> list:
    """Each text's layer applied to its features (``apply``), re-timed to rows[i] rows."""
    out = list(feats)
    for i, text in enumerate(texts):
        layer = getattr(text, "layer", None)
        if layer and (keep is None or keep[i] is None):
            out[i] = apply(feats[i], *layer, frames=rows[i]).astype(np.float32)
    return out


def apply(features: np.ndarray, action: str, style: str, strength: float = 1.0,
          frames: int | None = None, layers: dict | None = None) -> np.ndarray:
    """Features (T', 263) of `features` (T, 263) with `style`'s layer at `strength`
    (module doc); T' = `frames` if given, else T re-timed by the style's tempo. Unchanged
    for a style without a layer or a clip under ``MIN_FRAMES``."""
    layer = (load() if layers is None else layers).get(style)
    f = np.asarray(features, np.float64)
    if layer is None or strength <= 0 or len(f) < MIN_FRAMES or action in NO_LAYER:
        return f
    from ...motion.cleanup import fuse_velocities, joints_to_features
    # the positions the clean-up would start from: re-derived features carry no velocity
    # of the model's own to smooth with later (jerk 36 -> 81 on 288 thin styled clips)
    joints = fuse_velocities(f)
    if frames is None:
        frames = max(MIN_FRAMES, round(len(f) / tempo(style, strength, {style: layer},
                                                      action)))
    frames = min(int(frames), int(MAX_SECONDS * FPS))
    src = np.linspace(0.0, len(f) - 1, frames)
    joints = catmull_rom(np.arange(len(f)), joints, src)
    d, heading = _bone_directions(joints)
    mean = quat.normalize(d.mean(0))
    bones = tuple(j for j in CARRIAGE if j not in SHOULDERS) if action in BUSY_ARMS \
        else CARRIAGE + ARMS
    out = joints.copy()
    ident = np.broadcast_to(quat.identity(), (frames, 4))
    for j in range(1, len(CANONICAL_NAMES)):
        p = CANONICAL_PARENTS[j]
        v = joints[:, j] - joints[:, p]
        if j in bones:
            m = np.broadcast_to(mean[j - 1], (frames, 3))
            k = float(layer["amplitude"][j - 1]) ** strength
            swing = quat.between(m, d[:, j - 1])
            local = quat.rotate(quat.slerp(ident, swing, np.full(frames, k)), m)
            carriage = quat.slerp(quat.identity(), layer["carriage"][j - 1], strength)
            local = quat.rotate(np.broadcast_to(carriage, (frames, 4)), local)
            v = quat.inv_rotate(heading, local) * np.linalg.norm(v, axis=-1, keepdims=True)
        out[:, j] = out[:, p] + v
    g = joints_to_features(out).astype(np.float64)
    g[:, H.FOOT_CONTACT] = np.round(f[np.rint(src).astype(int), H.FOOT_CONTACT])
    return g


def main(argv=None) -> int:
    import argparse
    from ...data.t2m_dataset import T2MDataset
    from ...paths import user_data_dir
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", type=Path, default=user_data_dir() / "t2m" / "dataset_all.npz")
    ap.add_argument("--write", action="store_true", help=f"write {ARTIFACT}")
    args = ap.parse_args(argv)
    ds = T2MDataset.load(args.dataset)
    layers = fit(ds.items)
    for s, v in layers.items():
        deg = np.degrees(2 * np.arccos(np.clip(np.abs(v["carriage"][:, 0]), 0, 1)))
        print(f"{s:14s} tempo {v['tempo']:.2f}  head {deg[_J['head'] - 1]:.0f}°  spine "
              f"{deg[_J['spine3'] - 1]:.0f}°  amplitude {np.mean(v['amplitude']):.2f}  "
              f"({len(v['actions'])} actions)")
    if args.write:
        save(layers, ARTIFACT, {
            "source": "Bandai-Namco-Research-Motiondataset 1 and 2, train split",
            "licence": "CC-BY-NC-4.0", "dataset_hash": ds.fingerprint()[:16],
            "built_by": "python -m backend.models.text2motion.style_layer --write"})
        print(f"wrote {ARTIFACT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
