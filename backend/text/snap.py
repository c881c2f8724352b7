"""Snapping a prompt to the captions a model was trained on (issue 9, robust conditioning).

The shipped generators learnt their captions, not the language: a prompt worded like a
training caption is followed, one in other words often is not, although the text encoder
understands it (``backend/text/known.py`` names the intended action far more often than the
generator acts it out). ``snap_prompt`` therefore conditions the generator on a caption of
the training data's own kind for the action and style the prompt asks for, when the prompt
checker is confident about them; otherwise the prompt goes through unchanged. Since round 16
the learnt reader (``reader_net.py``, a fine-tuned MiniLM) chooses the action when it is sure
enough, and the style where the word rules name none. The user's words
are kept in the result's information (and the warnings say what was understood). A style the
model saw in only a few recordings of the action is given part of the way (``Blend``,
``THIN_STYLE_WEIGHT``).

Captions: Bandai-Namco actions use the same caption builder as the training data
(``backend/data/sources.bandai_captions``), the CMU actions ``t2m_dataset.ACTION_CAPTIONS``,
the DeepMimic actions their clips' first caption, with the style's manner appended.
"""
from __future__ import annotations

import re
from functools import lru_cache

from .refine import family

SNAP_MIN_SCORE = 0.5          # cosine of the best known action's phrasing to snap at all
# A style the model saw in fewer than coverage.THIN_TAKES recordings of the action is given at
# this share of the way from the action's plain caption (``Blend``). Measured with true
# labels on heldout11 / heldout12 (seen): 1.0 (the styled caption) action 0.81 / 0.82 of real,
# style 0.55 / 0.58; 0.85: 0.86 / 0.87, 0.54 / 0.54; 0.7: 0.88 / 0.88, 0.46 / 0.49; the plain
# caption: 0.90 / 0.88, 0.34 / 0.38 (docs/text_understanding.md, round 8).
THIN_STYLE_WEIGHT = 0.85
# Gestures that raise a hand on their way, each with the words that must name it too for a
# raised hand to give way to it (reader dev set d, round 14)
_WAVE = r"\b(wav(e|es|ed|ing)|bye|goodbye|farewell|so long)\b"
RAISE_PART_OF = {"bye": _WAVE, "byebye": _WAVE, "wave-both-hands": _WAVE,
                 "wave-left-hand": _WAVE, "wave-right-hand": _WAVE,
                 "respond": r"\b(answer|answers|answering|in class)\b"}
# The learnt reader (``reader_net.py``) chooses the action when it gives its likeliest
# action at least NET_ACTION_P, and a style when the word rules name none and it gives one at
# least NET_STYLE_P (docs/text_understanding.md, round 16: chosen on reader dev set d with the
# net trained on sets a-c).
USE_NET = True
NET_ACTION_P = 0.2
NET_STYLE_P = 0.6
_BANDAI_OF = {"dance": "dance-short"}
_DEEPMIMIC_OF = {"flip": "humanoid3d_backflip", "cartwheel": "humanoid3d_cartwheel",
                 "crawl": "humanoid3d_crawl", "get-up": "humanoid3d_getup_faceup",
                 "roll": "humanoid3d_roll", "spin": "humanoid3d_spin"}


class Blend(str):
    """A caption to condition on part of the way from ``base``: the embedding is
    ``base + weight * (caption - base)``. A ``str`` (the caption itself) everywhere else, so
    it travels through the code that takes texts. Used for a style the model saw in only a
    few recordings of the action (``backend/text/snap.py``)."""
    base: str
    weight: float
    layer: tuple | None     # (action, style, strength): the style's layer on the motion

    def __new__(cls, text: str, base: str, weight: float, layer: tuple | None = None):
        if not 0.0 <= float(weight) <= 1.0:
            raise ValueError(f"a blend's weight is in [0, 1], got {weight}")
        obj = super().__new__(cls, text)
        obj.base, obj.weight = str(base), float(weight)
        obj.layer = None if layer is None else (str(layer[0]), str(layer[1]), float(layer[2]))
        return obj

    def __reduce__(self):
        return (Blend, (str(self), self.base, self.weight, self.layer))


@lru_cache(maxsize=None)
def training_caption(action: str, style: str | None = None) -> str | None:
    """A caption like the training data's for (action, style), or None if unknown."""
    from ..data.sources import CAPTION_VOCAB, DEEPMIMIC_CAPTIONS, bandai_captions
    from ..data.t2m_dataset import ACTION_CAPTIONS
    styles = CAPTION_VOCAB["style"]
    content = _BANDAI_OF.get(action, action)
    if content in CAPTION_VOCAB["content"]:
        return bandai_captions(content, style if style in styles else "normal")[0]
    base = ACTION_CAPTIONS.get(action)
    if base is None and action in _DEEPMIMIC_OF:
        caps = DEEPMIMIC_CAPTIONS.get(_DEEPMIMIC_OF[action]) or []
        base = caps[0] if caps else None
    if base is None:
        return None
    if style and style in styles and style != "normal":
        base += styles[style]["manners"][0]
    return base


def conditioning_caption(action: str, style: str | None, model: str = "starter") -> str | None:
    """What the generator is conditioned on for (action, style): the training-like caption,
    as a ``Blend`` from the plain caption when `model` saw that style of the action in only a
    few recordings (``coverage.thin_style``): at full strength such a style mostly costs the
    action (``THIN_STYLE_WEIGHT``). Such a blend carries the style's layer (carriage,
    amplitude, tempo: ``models/text2motion/style_layer.py``), laid on the generated motion."""
    from .coverage import thin_style
    caption = training_caption(action, style)
    plain = training_caption(action, None)
    if caption is None or plain is None or caption == plain \
            or not thin_style(model, action, style):
        return caption
    return Blend(caption, plain, THIN_STYLE_WEIGHT, layer=(action, style, 1.0))


def _named(action: str, named) -> bool:
    """Whether a lexicon word named `action` or its family ("ambles" -> walk, then "to the
    left" -> walk-left): a word is surer than a low cosine ("grandpa ambles down the garden
    path", 0.45)."""
    return any(family(n) == family(action) for n in named)


def _rules_action(prompt, report) -> tuple[str, float, str]:
    """(action, cosine, "rules"): the word rules' and the catalogue's choice."""
    # a word that names one of the actions is surer than a higher cosine of another clause
    # ("KIRA strolls toward camera, | grinning ear to ear": the stroll, not a wave)
    action, score = next(((a, s) for a, s in report.known_actions if _named(a, report.named)),
                         report.known_actions[0])
    # a raised hand is part of a wave, a goodbye or an answer ("raises her hand and waves
    # bye"): the raise gives way to such a gesture read well enough and named by a word
    if action.startswith("raise-up"):
        lower = prompt.lower() if isinstance(prompt, str) else ""
        action, score = next(((a, s) for a, s in report.known_actions
                              if s >= SNAP_MIN_SCORE and re.search(RAISE_PART_OF.get(a, "^$"),
                                                                   lower)), (action, score))
    return action, score, "rules"


def _net_read(prompt, model: str) -> tuple[str | None, float, str | None]:
    """(action, p, style) as the learnt reader reads `prompt`: the action when its likeliest
    of all actions is one `model` was trained on at p >= NET_ACTION_P (else None), the style
    when one of the model's styles is likeliest at p >= NET_STYLE_P (else None). All None
    when the net is off, missing, or the prompt is not text."""
    if not USE_NET or not isinstance(prompt, str):
        return None, 0.0, None
    from .catalogue import CatalogueError, model_labels
    from .reader_net import ReaderNet
    net = ReaderNet.shared()
    if net is None:
        return None, 0.0, None
    try:
        actions, styles, _ = model_labels(model)
    except CatalogueError:
        return None, 0.0, None
    reading = net.read([prompt])[0]
    action, p = reading.best_action()
    style, ps = reading.best_style()
    return ((action, p) if action in actions and p >= NET_ACTION_P else (None, 0.0)) + \
        ((style,) if style in styles and ps >= NET_STYLE_P else (None,))


def snap_prompt(prompt: str, model: str = "starter", report=None) -> tuple[str, dict]:
    """(text to condition the generator on, info). info: snapped (bool), action, style,
    score, caption; the prompt itself when the checker is unsure, the prompt names an
    action the model does not know, or several actions (compound prompts are split before)."""
    if report is None:
        from .known import check_prompt
        report = check_prompt(prompt, model)
    info = {"snapped": False, "prompt": prompt}
    if not report.usable or report.unknown or report.language_warning:
        return prompt, info
    net_action, net_p, net_style = _net_read(prompt, model)
    rules = _rules_action(prompt, report) if report.known_actions else None
    if net_action is not None:          # the learnt reader is sure enough (reader_net.py)
        action, score, read_by = net_action, net_p, "net"
        # ... but a word that names a kind of its action is surer ("walk diag R": a walk
        # to the right, where the net reads a walk)
        if rules and rules[0] != action and rules[0] in report.named \
                and family(rules[0]) == family(action):
            action, score, read_by = rules
    elif rules is None:
        return prompt, info
    else:
        action, score, read_by = rules
        if score < SNAP_MIN_SCORE and not _named(action, report.named):
            return prompt, dict(info, score=float(score))
    style = report.styles[0] if report.styles else net_style
    caption = conditioning_caption(action, style, model)
    if caption is None:
        return prompt, info
    out = {"snapped": True, "prompt": prompt, "action": action, "style": style,
           "score": float(score), "caption": str(caption), "read_by": read_by}
    if isinstance(caption, Blend):
        out["style_weight"] = caption.weight
    return caption, out
