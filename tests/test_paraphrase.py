"""Caption paraphrases for training (backend/text/paraphrase.py, models/text2motion/robust.py)."""
import glob
import json
import random
import re

from backend.models.text2motion.laterality import side
from backend.models.text2motion.robust import label_key, paraphrase_index
from backend.text.catalogue import ACTIONS, STYLES
from backend.text.paraphrase import ACTION_PHRASES, STYLE_WORDS, paraphrase, paraphrases


def _words(text):
    return " ".join(re.findall(r"[a-z]+", text.lower()))


def test_every_catalogue_action_and_style_has_words():
    assert set(ACTIONS) <= set(ACTION_PHRASES)
    assert set(STYLES) <= set(STYLE_WORDS)


def test_paraphrases_are_varied_and_reproducible():
    a = paraphrases("walk", "elderly", 64, seed=3)
    assert len(a) == 64 and len(set(a)) == 64
    assert a == paraphrases("walk", "elderly", 64, seed=3)
    assert a != paraphrases("walk", "elderly", 64, seed=4)
    # several sentence forms: statements, gerunds, imperatives, capitals
    assert any(re.match(r"^(a|an|the|some)\b", p, re.I) for p in a)
    assert any(re.search(r"\b\w+ing\b", p.split(",")[0]) for p in a)
    assert any(p[0].isupper() for p in a) and any(p[0].islower() for p in a)


def test_left_and_right_survive_every_paraphrase():
    for action in ACTION_PHRASES:
        want = 1 if action.endswith("left-hand") or action in ("walk-left", "walk-turn-left") \
            else -1 if action.endswith("right-hand") or action in ("walk-right",
                                                                    "walk-turn-right") else None
        for p in paraphrases(action, "happy", 40) + paraphrases(action, None, 40):
            if want is not None:
                assert side(p) == want, (action, p)
            elif action not in ("bye", "guide", "respond"):     # one-handed by nature
                assert side(p) == 0, (action, p)


def test_the_style_is_said_in_almost_every_paraphrase():
    rng = random.Random(0)
    for style, (adverbs, adjectives, nouns) in STYLE_WORDS.items():
        if style == "normal":
            continue
        vocab = {w for phrase in adverbs + adjectives + nouns for w in _words(phrase).split()}
        vocab -= {"a", "an", "the", "with", "like", "in", "of", "way", "at", "to", "on"}
        hits = sum(bool(vocab & set(_words(paraphrase("walk", style, rng)).split()))
                   for _ in range(200))
        assert hits >= 180, (style, hits)       # a typo may break a word now and then


def test_paraphrases_almost_never_copy_a_test_prompt():
    """The prompt test sets are never trained on: of ~36k paraphrases only short, generic
    ones ("sprint", "raise the left hand", "walk backwards") can coincide with a test prompt,
    and in no set more than a few. (heldout4, written after the paraphraser, has many bare
    tags such as "bow" or "kick": 13 of its 193 single prompts coincide.)"""
    made = {_words(p) for a in ACTION_PHRASES for s in list(STYLE_WORDS) + [None]
            for p in paraphrases(a, s, 64)}
    assert len(made) > 30000
    files = sorted(glob.glob("tests/data/prompts*/*.jsonl"))
    assert sum(1 for f in files for line in open(f, encoding="utf-8") if line.strip()) > 500
    for f in files:
        tests = {_words(json.loads(line)["prompt"])
                 for line in open(f, encoding="utf-8") if line.strip()}
        overlap = made & tests
        assert len(overlap) <= 0.08 * len(tests), (f, sorted(overlap))
        assert all(len(o.split()) <= 6 for o in overlap), (f, sorted(overlap))


class _Item:
    def __init__(self, labels):
        self.labels = labels


def test_label_keys_and_the_index():
    assert label_key({"action": "dance-short", "style": "normal"}) == ("dance", "normal")
    assert label_key({"action": "walk", "style": None}) == ("walk", None)
    assert label_key({"action": None}) is None
    assert label_key({"action": "juggle"}) is None
    items = [_Item({"action": "walk", "style": "sad"}), _Item({"action": None}),
             _Item({"action": "walk", "style": "sad"}), _Item({"action": "bow"})]
    caps, per_item = paraphrase_index(items, 10)
    assert per_item[1] == [] and per_item[0] == per_item[2] and len(per_item[0]) == 10
    assert set(per_item[0]) | set(per_item[3]) == set(caps)


def test_rare_actions_are_repeated_not_the_common_ones():
    from backend.models.text2motion.robust import balanced
    items = [_Item({"action": "walk"}) for _ in range(400)] + \
        [_Item({"action": "punch"}) for _ in range(4)] + [_Item({"action": None})]
    out = balanced(items, 0.5, max_repeat=8)
    assert sum(it.labels["action"] == "walk" for it in out) == 400
    assert sum(it.labels["action"] == "punch" for it in out) == 4 * 8      # sqrt(100) capped
    assert sum(it.labels["action"] is None for it in out) == 1
    assert balanced(items, 0.0) == items
    few = balanced(items, 0.5, max_repeat=3)
    assert sum(it.labels["action"] == "punch" for it in few) == 12


def test_rare_styles_are_repeated_when_asked_and_the_factors_multiply():
    from backend.models.text2motion.robust import balanced
    items = [_Item({"action": "walk", "style": "normal"}) for _ in range(400)] + \
        [_Item({"action": "walk", "style": "sad"}) for _ in range(16)] + \
        [_Item({"action": "punch", "style": "sad"}) for _ in range(4)]
    plain = balanced(items, 0.5)
    assert sum(it.labels["style"] == "sad" and it.labels["action"] == "walk"
               for it in plain) == 16                                       # styles untouched
    styled = balanced(items, 0.0, style_power=0.5)
    # 20 sad items against a median of 400 per item: sqrt(20) = 4.5 -> 4 times each
    assert sum(it.labels["style"] == "sad" for it in styled) == 20 * 4
    assert sum(it.labels["style"] == "normal" for it in styled) == 400
    both = balanced(items, 0.5, max_repeat=30, style_power=0.5)
    # punch: sqrt(416 / 4) = 10.2 for the action times 4.47 for the style = 45.6 -> capped
    assert sum(it.labels["action"] == "punch" for it in both) == 4 * 30
