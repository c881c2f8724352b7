"""The held-out text-to-motion prompt set (tests/data/prompts, backend/eval/prompt_set.py):
the real files load with the schema, have the counts and spread the issue asks for, and
their tags say true things about the prompts; the loader rejects broken files with errors
that name the file, line and field."""
import ast
import collections
import json
import re
from pathlib import Path

import pytest

from backend.eval import prompt_set
from backend.eval.prompt_set import (BAD_KINDS, HARDNESS_TAGS, KNOWN_ACTIONS, KNOWN_STYLES,
                                     PROMPT_DIR, PromptSetError, load_prompt_set,
                                     normalize_prompt)

MINIMUM_COUNTS = {"single": 320, "compound": 60, "unknown": 40, "bad": 20}
# British spellings and words; a prompt tagged "british" must use one of them.
BRITISH_MARKERS = ("high street", "pavement", "knackered", "mum", "trainers", "pitch", "lift",
                   "apologis", "yob", "bin", "practis", "shattered", "bloke", "car park",
                   "trolley", "telly", "lad ", "neighbour", "cheerio", "metre", "colour")


@pytest.fixture(scope="module")
def sets():
    return {name: load_prompt_set(name) for name in MINIMUM_COUNTS}


def words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", text)


def label_stem(action: str) -> str:
    """The label's own word, as it appears inside inflected forms: 'walk-back' -> 'walk',
    'dance' -> 'danc', 'raise-up-left-hand' -> 'rais', 'byebye' -> 'bye'."""
    if action == "byebye":
        return "bye"
    head = action.split("-")[0]
    return head[:-1] if head.endswith("e") and len(head) > 3 else head


# --------------------------------------------------------------------------- the real files

def test_label_lists_are_the_issue_lists():
    assert len(KNOWN_ACTIONS) == len(set(KNOWN_ACTIONS)) == 34
    assert len(KNOWN_STYLES) == len(set(KNOWN_STYLES)) == 16
    assert {"walk-back", "byebye", "get-up", "raise-up-left-hand", "swordplay"} <= set(KNOWN_ACTIONS)
    assert {"not-confident", "chimpira", "giant", "musical", "youthful"} <= set(KNOWN_STYLES)


@pytest.mark.parametrize("name", list(MINIMUM_COUNTS))
def test_each_set_loads_and_has_its_minimum_count(name, sets):
    assert len(sets[name]) >= MINIMUM_COUNTS[name]


def test_no_prompt_is_in_two_sets(sets):
    owner = {}
    for name, items in sets.items():
        for item in items:
            key = normalize_prompt(item["prompt"]) or item["prompt"]
            assert key not in owner, f"{item['prompt']!r} is in {owner.get(key)} and {name}"
            owner[key] = name


def test_single_spread_over_actions(sets):
    counts = collections.Counter(item["action"] for item in sets["single"])
    assert set(counts) == set(KNOWN_ACTIONS), f"actions without prompts: {set(KNOWN_ACTIONS) - set(counts)}"
    assert min(counts.values()) >= 5, counts.most_common()[-3:]
    others = sorted(n for a, n in counts.items() if a not in ("walk", "run"))
    assert counts["walk"] > others[-1] and counts["run"] > others[len(others) // 2]


def test_single_spread_over_styles(sets):
    counts = collections.Counter(item["style"] for item in sets["single"])
    for style in KNOWN_STYLES:
        assert counts[style] >= 8, f"style {style!r} has {counts[style]} prompts"
    assert counts[None] >= 0.3 * len(sets["single"]), "too few prompts without a style"


def test_at_least_half_the_single_prompts_avoid_the_label_word(sets):
    single = sets["single"]
    avoiding = [i for i in single if label_stem(i["action"]) not in i["prompt"].lower()]
    assert len(avoiding) >= len(single) / 2, f"{len(avoiding)} of {len(single)}"


def test_every_hardness_tag_is_used_and_typos_are_about_five_percent(sets):
    single = sets["single"]
    tags = collections.Counter(tag for item in single for tag in item["tags"])
    for tag in HARDNESS_TAGS:
        assert tags[tag] >= 8, f"tag {tag!r} used {tags[tag]} times"
    assert 0.03 <= tags["typo"] / len(single) <= 0.10


def test_style_tags_only_on_prompts_with_a_style(sets):
    for item in sets["single"]:
        if {"subject-style", "adverb"} & set(item["tags"]):
            assert item["style"] is not None, item["prompt"]


@pytest.mark.parametrize("name", ["single", "compound", "unknown"])
def test_long_and_caps_tags_match_the_text(name, sets):
    for item in sets[name]:
        text = item["prompt"]
        assert ("long" in item["tags"]) == (len(text.split()) >= 15), text
        ws = words(text)
        odd_caps = (sum(c.isupper() for c in text) >= 3
                    and sum(w[0].isupper() for w in ws) >= 0.4 * len(ws))
        assert ("caps" in item["tags"]) == odd_caps, text


def test_british_prompts_use_a_british_word(sets):
    british = [i for name in ("single", "compound", "unknown") for i in sets[name]
               if "british" in i["tags"]]
    assert len(british) >= 10
    for item in british:
        assert any(m in item["prompt"].lower() for m in BRITISH_MARKERS), item["prompt"]


def test_typo_prompts_have_a_misspelt_word(sets):
    """A misspelt word appears in no prompt that is not tagged as a typo."""
    items = [i for name in ("single", "compound", "unknown") for i in sets[name]]
    clean_words = {w.lower() for i in items if "typo" not in i["tags"] for w in words(i["prompt"])}
    for item in items:
        if "typo" in item["tags"]:
            assert {w.lower() for w in words(item["prompt"])} - clean_words, item["prompt"]


def test_compound_relations_and_part_tags(sets):
    compound = sets["compound"]
    relations = collections.Counter(item["relation"] for item in compound)
    assert relations["together"] >= 15 and relations["sequence"] >= 30, relations
    for item in compound:
        parts = item["parts"]
        assert ("three-parts" in item["tags"]) == (len(parts) >= 3), item["prompt"]
        styles = {p["style"] for p in parts if p["style"] is not None}
        assert ("style-change" in item["tags"]) == (len(styles) >= 2), item["prompt"]
    assert sum(any(p["style"] for p in i["parts"]) for i in compound) >= 20


def test_unknown_prompts_are_not_known_actions(sets):
    """Flips, cartwheels, crawling and rolling are known: they must not be in `unknown`."""
    known_words = re.compile(r"flip|cartwheel|crawl|\broll|somersault|dance|danc|punch")
    for item in sets["unknown"]:
        assert not known_words.search(item["prompt"].lower()), item["prompt"]
        if "near-known" in item["tags"]:
            assert item["nearest"], item["prompt"]
    assert sum(bool(i["nearest"]) for i in sets["unknown"]) >= 10
    assert sum(not i["nearest"] for i in sets["unknown"]) >= 10


def test_bad_inputs_cover_the_issue_cases(sets):
    bad = sets["bad"]
    kinds = collections.Counter(item["kind"] for item in bad)
    for kind in BAD_KINDS:
        assert kinds[kind] >= 2, f"bad kind {kind!r} has {kinds[kind]} prompts"
    by_prompt = {item["prompt"]: item["kind"] for item in bad}
    for prompt, kind in [("sadly", "style-only"), ("walks backwards forward", "contradictory"),
                         ("walks 3 metres", "numbers"), ("une personne marche", "language"),
                         ("the", "stop-words"), ("", "empty-ish")]:
        assert by_prompt.get(prompt) == kind, prompt
    longest_list = max(len(re.split(r",\s*|\s+", i["prompt"].strip()))
                       for i in bad if i["kind"] == "too-many-actions")
    assert longest_list >= 20
    language = " ".join(i["prompt"] for i in bad if i["kind"] == "language")
    for script, pattern in [("Japanese kana", "[\u3040-\u30ff]"), ("Cyrillic", "[\u0400-\u04ff]"),
                            ("Chinese", "[\u4e00-\u9fff]"), ("Spanish", r"\buna persona\b"),
                            ("German", r"\bein Mann\b"), ("French", r"\bune personne\b")]:
        assert re.search(pattern, language), f"no {script} prompt"
    for item in bad:
        if item["kind"] == "emoji":
            assert any(ord(c) >= 0x1F300 for c in item["prompt"]), item["prompt"]
        if item["kind"] == "empty-ish":
            assert len(words(item["prompt"])) <= 1, item["prompt"]


def test_readme_says_cc0_and_never_train():
    readme = (PROMPT_DIR / "README.md").read_text(encoding="utf-8")
    assert "CC0" in readme and "never train" in readme.lower()


def test_loader_is_standard_library_only():
    tree = ast.parse(Path(prompt_set.__file__).read_text(encoding="utf-8"))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "json", "pathlib"}, imported


# --------------------------------------------------------------------------- loader errors

GOOD_SINGLE = {"prompt": "strolls", "action": "walk", "style": None, "tags": ["synonym"]}


def write_set(folder: Path, name: str, lines: list) -> Path:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    (folder / f"{name}.jsonl").write_text(text + "\n", encoding="utf-8")
    return folder


def test_loader_returns_valid_lines_in_order(tmp_path):
    second = dict(GOOD_SINGLE, prompt="sprints", action="dash", style="happy")
    items = load_prompt_set("single", write_set(tmp_path, "single", [GOOD_SINGLE, second]))
    assert [i["prompt"] for i in items] == ["strolls", "sprints"]


@pytest.mark.parametrize("line, message", [
    ('{"prompt": "strolls", "action": "walk"', "single.jsonl:2: not valid JSON"),
    ('["strolls", "walk"]', "single.jsonl:2: expected a JSON object, got list"),
    (dict(GOOD_SINGLE, prompt="swims", action="swim"), "single.jsonl:2: action 'swim' is not a known label"),
    (dict(GOOD_SINGLE, prompt="x", style="drunk"), "style 'drunk' is not a known label"),
    (dict(GOOD_SINGLE, prompt="x", tags="synonym"), "'tags' must be a list, got str"),
    (dict(GOOD_SINGLE, prompt="x", tags=["hard"]), "tags entry 'hard' is not a known label"),
    ({"prompt": "x", "action": "walk", "tags": []}, "single.jsonl:2: missing field(s) style"),
    (dict(GOOD_SINGLE, prompt="x", label="walk"), "unexpected field(s) label"),
    (dict(GOOD_SINGLE, prompt="  "), "single.jsonl:2: 'prompt' is empty"),
    (dict(GOOD_SINGLE, prompt=3), "'prompt' must be a string, got int"),
    (dict(GOOD_SINGLE, prompt="STROLLS "), "single.jsonl:2: duplicate prompt 'STROLLS ' (first at line 1)"),
    ("", "single.jsonl:2: blank line"),
])
def test_loader_rejects_a_broken_single_line(tmp_path, line, message):
    folder = write_set(tmp_path, "single", [GOOD_SINGLE, line, GOOD_SINGLE | {"prompt": "z"}])
    with pytest.raises(PromptSetError) as error:
        load_prompt_set("single", folder)
    assert message in str(error.value)


@pytest.mark.parametrize("name, line, message", [
    ("compound", {"prompt": "runs", "parts": [{"action": "run", "style": None}],
                  "relation": "sequence", "tags": []}, "'parts' must be a list of at least 2"),
    ("compound", {"prompt": "runs", "parts": [{"action": "run", "style": None},
                                              {"action": "bow"}],
                  "relation": "sequence", "tags": []}, "compound.jsonl:1 part 1: missing field(s) style"),
    ("compound", {"prompt": "runs", "parts": [{"action": "run", "style": None}] * 2,
                  "relation": "meanwhile", "tags": []}, "relation 'meanwhile' is not a known label"),
    ("unknown", {"prompt": "swims", "nearest": ["swim"], "tags": []}, "nearest entry 'swim'"),
    ("unknown", {"prompt": "swims", "nearest": ["walk", "walk"], "tags": []}, "'nearest' repeats"),
    ("bad", {"prompt": "sadly", "kind": "sad", "expect": "an error"}, "kind 'sad' is not a known"),
    ("bad", {"prompt": "sadly", "kind": "style-only", "expect": " "}, "'expect' must be a non-empty"),
])
def test_loader_rejects_broken_lines_in_other_sets(tmp_path, name, line, message):
    with pytest.raises(PromptSetError) as error:
        load_prompt_set(name, write_set(tmp_path, name, [line]))
    assert message in str(error.value)


def test_loader_accepts_blank_bad_prompts_but_not_repeats(tmp_path):
    blank = {"prompt": "", "kind": "empty-ish", "expect": "an error"}
    spaces = dict(blank, prompt="   ")
    assert len(load_prompt_set("bad", write_set(tmp_path, "bad", [blank, spaces]))) == 2
    with pytest.raises(PromptSetError, match="duplicate prompt"):
        load_prompt_set("bad", write_set(tmp_path, "bad", [spaces, spaces]))


def test_loader_rejects_unknown_names_and_missing_files(tmp_path):
    with pytest.raises(PromptSetError, match="unknown prompt set 'singles'"):
        load_prompt_set("singles")
    with pytest.raises(PromptSetError, match="prompt set file not found"):
        load_prompt_set("single", tmp_path)
    (tmp_path / "single.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(PromptSetError, match="no prompts"):
        load_prompt_set("single", tmp_path)
