"""A learned sense check for the prompt checker (`known.py`): does a clause ask for a motion
the models know, or use a known action's word in another sense ("runs a bath", "flips
through a magazine") or name another motion? Numpy only, offline.

The model is a logistic regression over the offline MiniLM embedding of the clause
(``TextEncoder``, 384 values), trained on ``backend/text/data/sense_known.jsonl`` and
``sense_unknown.jsonl`` (CC0, written for training only, without access to any test set) by
``train_sense(...)`` (``python -m backend.text.sense`` rebuilds the artifact). The artifact,
``assets/models/sense_check.npz``, holds the weights, the bias and the decision threshold.
``SenseCheck.shared().p_unknown(texts) -> (N,)`` probabilities; ``unknown(texts)`` the
decisions. The threshold is set for few false alarms (module ``THRESHOLD``).
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
ARTIFACT = Path(__file__).resolve().parents[2] / "assets" / "models" / "sense_check.npz"
THRESHOLD = 0.95         # p(unknown) above which a clause is flagged (chosen on the dev sets)
L2 = 1e-4
STEPS = 3000
LR = 5.0


def load_training(data_dir: Path = DATA_DIR) -> tuple[list[str], np.ndarray]:
    """(prompts, labels (N,) 1 = unknown) from the two training files."""
    texts, labels = [], []
    for name, label in (("sense_known.jsonl", 0), ("sense_unknown.jsonl", 1)):
        for line in (data_dir / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["prompt"])
                labels.append(label)
    return texts, np.asarray(labels, np.float64)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = STEPS,
                 lr: float = LR) -> tuple[np.ndarray, float]:
    """Weights (D,) and bias of an L2-regularised logistic regression, full-batch gradient
    descent from zero (deterministic); the classes weighted equally."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    weight = np.where(y > 0.5, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1))
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        g = weight * (p - y)
        w -= lr * (x.T @ g + l2 * w)
        b -= lr * float(g.sum())
    return w, b


def train_sense(out: Path = ARTIFACT, data_dir: Path = DATA_DIR,
                threshold: float = THRESHOLD) -> dict:
    """Embed the training prompts, fit, save the artifact; returns its training figures."""
    from .encoder import TextEncoder
    texts, y = load_training(data_dir)
    x = TextEncoder.shared().encode(texts)
    w, b = fit_logistic(x, y)
    p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, weights=w.astype(np.float32), bias=np.float32(b),
             threshold=np.float32(threshold), count=np.int64(len(texts)))
    return {"prompts": len(texts), "train_accuracy": float(np.mean((p > 0.5) == (y > 0.5))),
            "train_flagged_known": float(np.mean(p[y < 0.5] > threshold)),
            "train_flagged_unknown": float(np.mean(p[y > 0.5] > threshold))}


class SenseCheck:
    _lock = threading.Lock()
    _shared = None

    def __init__(self, path: Path = ARTIFACT):
        with np.load(path) as z:
            self.weights = z["weights"].astype(np.float64)
            self.bias = float(z["bias"])
            self.threshold = float(z["threshold"])

    @classmethod
    def shared(cls) -> "SenseCheck | None":
        """The shipped check, or None when its artifact is missing (the checker then runs
        without it)."""
        with cls._lock:
            if cls._shared is None and ARTIFACT.is_file():
                cls._shared = cls()
            return cls._shared

    def p_unknown(self, embeddings: np.ndarray) -> np.ndarray:
        """(N,) probability that each embedded clause (N, 384) is not a known motion."""
        z = np.asarray(embeddings, np.float64) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def unknown(self, embeddings: np.ndarray) -> np.ndarray:
        return self.p_unknown(embeddings) > self.threshold


if __name__ == "__main__":
    print(train_sense())
