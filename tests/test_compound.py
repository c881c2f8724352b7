"""Compound prompts (issue 9, item 3): parse_prompt splits a prompt into stages (one after
another) of actions (together), keeps one action whole where "and" is part of the phrase, and
carries the subject to every part. Examples written for this test, not taken from any data."""
from pathlib import Path

import pytest

from backend.text.compound import (GESTURE, LOCOMOTION, WHOLE_BODY, CompoundPrompt,
                                   parse_prompt)

# prompt -> [[action text, ...] per stage]
CASES = [
    # together: locomotion + gesture
    ("a person walks forward and waves", [["a person walks forward", "a person waves"]]),
    ("an old man walks and waves", [["an old man walks", "an old man waves"]]),
    ("runs while looking back", [["runs", "looks back"]]),
    ("a man jogs waving both hands", [["a man jogs", "a man waves both hands"]]),
    ("a woman waves as she walks forward", [["a woman waves", "a woman walks forward"]]),
    ("a person is walking while waving", [["a person is walking", "a person is waving"]]),
    ("a person is walking and waving", [["a person is walking", "a person is waving"]]),
    ("a person keeps walking and waves",
     [["a person keeps walking", "a person keeps waving"]]),
    ("walk forward and wave", [["walk forward", "wave"]]),
    ("a person walked forward and waved", [["a person walked forward", "a person waved"]]),
    ("a tired woman slowly walks in a circle and raises her right hand",
     [["a tired woman slowly walks in a circle", "a tired woman slowly raises her right hand"]]),
    ("a person walks forward and slowly waves",
     [["a person walks forward", "a person slowly waves"]]),
    ("a person walks forward and also waves with the left hand",
     [["a person walks forward", "a person waves with the left hand"]]),
    ("a soldier marches and salutes", [["a soldier marches", "a soldier salutes"]]),
    ("someone runs in a circle while pointing up",
     [["someone runs in a circle", "someone points up"]]),
    ("a person walks to the stand and waves", [["a person walks to the stand", "a person waves"]]),
    ("a person walks 2.5 meters forward and waves",
     [["a person walks 2.5 meters forward", "a person waves"]]),
    ("a person stands holding a cup", [["a person stands", "a person holds a cup"]]),
    ("a child skips and claps", [["a child skips", "a child claps"]]),
    # a gesture on top of a jump (the test sets label "jumps and waves" as together)
    ("a person jumps and waves", [["a person jumps", "a person waves"]]),
    # one after another
    ("a person walks to the left, then sits down",
     [["a person walks to the left"], ["a person sits down"]]),
    ("someone bows and then walks away", [["someone bows"], ["someone walks away"]]),
    ("first jumps, after that runs", [["jumps"], ["runs"]]),
    ("a person walks forward and then jumps", [["a person walks forward"], ["a person jumps"]]),
    ("a person walks forward, then jumps", [["a person walks forward"], ["a person jumps"]]),
    ("a person stands up and sits down", [["a person stands up"], ["a person sits down"]]),
    ("a person walks forward before sitting down",
     [["a person walks forward"], ["a person sits down"]]),
    ("the man runs forward. he then jumps", [["the man runs forward"], ["the man jumps"]]),
    ("a person walks forward, turns around, and walks back",
     [["a person walks forward"], ["a person turns around"], ["a person walks back"]]),
    ("a person runs and jumps over an obstacle",
     [["a person runs"], ["a person jumps over an obstacle"]]),
    ("a person picks up a box and puts it on the shelf",
     [["a person picks up a box"], ["a person puts it on the shelf"]]),
    ("a person kneels; afterwards the person stands up",
     [["a person kneels"], ["a person stands up"]]),
    ("a dancer spins, followed by bowing", [["a dancer spins"], ["a dancer bows"]]),
    ("a person turns left and waves", [["a person turns left"], ["a person waves"]]),
    ("first, a person walks. then the person sits", [["a person walks"], ["a person sits"]]),
    ("first a person crouches, then a person jumps forward",
     [["a person crouches"], ["a person jumps forward"]]),
    # the rules added on the dev sets (examples written for this test)
    ("a boxer shuffles over and throws a jab",        # arrives first, then strikes
     [["a boxer shuffles over"], ["a boxer throws a jab"]]),
    ("a man walks home and waves", [["a man walks home"], ["a man waves"]]),
    ("a man strides up to the door and knocks",
     [["a man strides up to the door"], ["a man knocks"]]),
    ("a person runs and punches", [["a person runs"], ["a person punches"]]),
    ("a kid hops and claps", [["a kid hops", "a kid claps"]]),
    ("a young fan jumps and waves", [["a young fan jumps", "a young fan waves"]]),
    ("a person sprints and lifts both arms up",
     [["a person sprints", "a person lifts both arms up"]]),
    ("a person walks backwards, beckoning", [["a person walks backwards", "a person beckons"]]),
    ("a person runs, then stops and waves", [["a person runs"], ["a person waves"]]),
    ("a person punches, punches again, then kicks", [["a person punches"], ["a person kicks"]]),
    ("a dancer does a spin followed by a curtsy",
     [["a dancer does a spin"], ["a dancer does a curtsy"]]),
    ("a person steps to the left, then to the right",
     [["a person steps to the left"], ["a person steps to the right"]]),
    ("a person crawls, stands up and walks",
     [["a person crawls"], ["a person stands up"], ["a person walks"]]),
    ("a tour guide leads the group and waves",
     [["a tour guide leads the group", "a tour guide waves"]]),
    # mixed: a together-pair, then another action
    ("a person walks and waves, then bows",
     [["a person walks", "a person waves"], ["a person bows"]]),
    ("a person walks while clapping and then sits down",
     [["a person walks", "a person claps"], ["a person sits down"]]),
    ("an angry man stomps forward. then he jogs and points ahead",
     [["an angry man stomps forward"], ["an angry man jogs", "an angry man points ahead"]]),
    # one action: "and" inside the phrase, or no second verb
    ("a person walks back and forth", [["a person walks back and forth"]]),
    ("a person jumps up and down", [["a person jumps up and down"]]),
    ("rock and roll dance", [["rock and roll dance"]]),
    ("a person does a rock and roll dance", [["a person does a rock and roll dance"]]),
    ("a person sways from side to side", [["a person sways from side to side"]]),
    ("a person walks forward", [["a person walks forward"]]),
    ("a person walks forward and left", [["a person walks forward and left"]]),
    ("a person walks next to the wall", [["a person walks next to the wall"]]),
    ("a person waves with the left and right hand", [["a person waves with the left and right hand"]]),
    ("a person performs a standing jump", [["a person performs a standing jump"]]),
    ("a person does jumping jacks", [["a person does jumping jacks"]]),
    ("a person walks as fast as possible", [["a person walks as fast as possible"]]),
    ("the running man waves", [["the running man waves"]]),
    ("a person moves arms and legs", [["a person moves arms and legs"]]),
    ("a person starts running", [["a person starts running"]]),
    ("a zombie shambling", [["a zombie shambling"]]),
    ("a person takes a bow", [["a person takes a bow"]]),
    ("a person gets furious", [["a person gets furious"]]),
]


@pytest.mark.parametrize("prompt,expected", CASES, ids=[c[0] for c in CASES])
def test_parse(prompt, expected):
    parsed = parse_prompt(prompt)
    assert isinstance(parsed, CompoundPrompt)
    assert parsed.describe() == expected
    relation = ("sequence" if len(expected) > 1 else
                "together" if len(expected[0]) > 1 else "single")
    assert parsed.relation == relation
    assert parsed.is_compound == (relation != "single")


def test_enough_cases():
    assert len(CASES) >= 40
    assert sum(len(e) == 1 and len(e[0]) == 1 for _, e in CASES) >= 10   # non-splits


def test_single_keeps_the_users_words():
    prompt = "A Person  walks back and forth."
    parsed = parse_prompt(prompt)
    assert parsed.relation == "single"
    assert parsed.stages[0].actions[0].text == "A Person walks back and forth."


@pytest.mark.parametrize("prompt,driver,overlay", [
    ("a person walks forward and waves", "walk", "wave"),
    ("a person waves and walks away", "walk", "wave"),
    ("runs while looking back", "run", "look"),
    ("a man jogs waving both hands", "jog", "wave"),
    ("a woman marches and raises both hands", "march", "raise"),
])
def test_locomotion_drives_the_legs(prompt, driver, overlay):
    stage = parse_prompt(prompt).stages[0]
    assert stage.driver.verb == driver and stage.driver.kind == LOCOMOTION
    assert [a.verb for a in stage.overlays] == [overlay]
    assert all(a.kind == GESTURE for a in stage.overlays)


def test_kinds_and_stage_text():
    parsed = parse_prompt("an old man walks and waves, then bows")
    assert [[a.kind for a in s.actions] for s in parsed.stages] == \
        [[LOCOMOTION, GESTURE], [WHOLE_BODY]]
    assert parsed.stages[0].text == "an old man walks and waves"
    assert parsed.stages[1].text == "an old man bows"


@pytest.mark.parametrize("bad", ["", "   ", ",,;.", None, 3])
def test_bad_prompt(bad):
    with pytest.raises(ValueError, match="empty|text"):
        parse_prompt(bad)


def test_standard_library_only():
    import ast
    import sys
    from pathlib import Path

    import backend.text.compound as compound
    import backend.text.compound_rewrite as rewrite
    import backend.text.compound_words as words
    import backend.text.refine as refine
    import backend.text.compound_loose as loose
    import backend.text.tidy as tidy
    names = set()
    for module in (compound, rewrite, words, refine, tidy, loose):
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level:
                # only its own word list and rewrites (and the standard-library word
                # rules of refine.py; the catalogue's verb lexicon, whose module level is
                # standard library), never the rest of the backend
                assert node.module in ("compound_words", "compound_rewrite", "refine",
                                       "tidy", "compound_loose", "catalogue"), \
                    node.module
            elif isinstance(node, ast.ImportFrom):
                names.add(node.module.split(".")[0])
    assert names - {"__future__"} <= set(sys.stdlib_module_names)


def test_heldout2_relation_floor():
    """The parser on the second held-out set (tests/data/prompts_heldout2, measured once after
    the dev-set work: 38 of 47 relations right, 37 of 47 with the right number of parts; 35
    and 35 before). A regression floor, not a target."""
    from backend.eval.prompt_set import load_prompt_set
    rows = load_prompt_set("compound", Path(__file__).parent / "data" / "prompts_heldout2")
    parsed = [(parse_prompt(r["prompt"]), r) for r in rows]
    relation = sum(p.relation == r["relation"] for p, r in parsed)
    parts = sum(sum(len(s.actions) for s in p.stages) == len(r["parts"]) for p, r in parsed)
    assert relation >= 38 and parts >= 37, (relation, parts)


@pytest.mark.parametrize("prompt,expected", [
    # a subordinate clause put first
    ("As he jogs, he waves his right hand", [["waves his right hand", "jogs"]]),
    ("while strolling off to the left, she raises both hands",
     [["raises both hands", "strolls off to the left"]]),
    ("After jumping, she bows", [["jumping"], ["bowing"]]),
    ("Before walking away, he waves goodbye", [["waves goodbye"], ["walks away"]]),
    ("once she finishes dancing, she bows", [["dancing"], ["bowing"]]),
    ("dancing, then takes a bow", [["dancing"], ["takes a bow"]]),
    ("after a high kick, he bows", [["does a high kick"], ["bows"]]),
    # "with the hand raised": a gesture on top
    ("a kid runs with the left hand raised", [["a kid runs", "a kid raises the left hand"]]),
    ("jogging with both arms in the air", [["jogging", "raising both arms"]]),
    # the manner of a later stage stays with it
    ("a tired man walks forward, then happily jumps", [["a tired man walks forward"],
                                                      ["a tired man jumps happily"]]),
])
def test_fronted_clauses_raised_hands_and_manner(prompt, expected):
    got = [[a.text for a in s.actions] for s in parse_prompt(prompt).stages]
    assert got == expected


def test_heldout3_relation_floor():
    """The parser on the third held-out set (tests/data/prompts_heldout3, written blind by
    another engineer): 57 of 75 relations right at its one blind run; 71 of 75 after the
    fronted-clause and raised-hand rules (categories already listed as failures of the second
    held-out set). A regression floor, not a target."""
    from backend.eval.prompt_set import load_prompt_set
    rows = load_prompt_set("compound", Path(__file__).parent / "data" / "prompts_heldout3")
    relation = sum(parse_prompt(r["prompt"]).relation == r["relation"] for r in rows)
    assert relation >= 71, relation


@pytest.mark.parametrize("prompt, relation, parts", [
    ("She bows deeply. After that she heads off to the left.", "sequence",
     ["she bows deeply", "she heads off to the left"]),
    ("sad walk into happy jump", "sequence", ["sad walk", "happy jump"]),
    ("angry kick followed by a sad walk away", "sequence", ["angry kick",
                                                            "does a sad walk away"]),
    ("walkin backwards n callin someone over", "together",
     ["walking backwards", "calling someone over"]),
    ("Jogging, he waves his left hand", "together", ["he waves his left hand", "he jogs"]),
    ("Both arms up, the fan jumps", "together", ["the fan jumps", "the fan raises both arms"]),
    ("Walking, then running", "sequence", ["walking", "running"]),
    ("nods his head and walks", "sequence", ["nods his head", "walks"]),
    ("he breaks into a dance", "single", ["he breaks into a dance"]),
    ("cartwheel into a backflip", "sequence", ["cartwheel", "does a backflip"]),
    ("a man walks into the room and waves", "sequence", ["a man walks into the room",
                                                         "a man waves"]),
])
def test_noun_phrases_slang_and_fronted_participles(prompt, relation, parts):
    """Constructions the fourth blind set (tests/data/prompts_heldout4) found missing; the
    prompts here are written for the test, not taken from that set."""
    parsed = parse_prompt(prompt)
    assert parsed.relation == relation
    assert [a.text for s in parsed.stages for a in s.actions] == parts


@pytest.mark.parametrize("prompt, relation, parts", [
    ("1. jump 2. walk forward 3. bow", "sequence", ["jump", "walk forward", "bow"]),
    ("(a) wave (b) run away", "sequence", ["wave", "run away"]),
    ("Step 1: kick. Step 2: bow", "sequence", ["kick", "bow"]),
    ("1. walk forward", "single", ["1. walk forward"]),           # one number: not a list
    ("walks 2.5 metres, then jumps", "sequence", ["walks 2.5 metres", "jumps"]),
    ("A kick is delivered, followed by a bow", "sequence", ["does a kick", "does a bow"]),
    ("answer by raising the right hand, then run off", "sequence",
     ["answer by raising the right hand", "run off"]),
    ("respond with a raised hand and walk", "together",      # as "waves and walks"
     ["respond with a raised hand", "walk"]),
    ("clapping happily as he jumps", "together", ["clapping happily", "jumping"]),
    ("beckons the crowd, leaning in, then bows", "sequence",
     ["beckons the crowd, leaning in", "bows"]),
    ("jogs, looking back", "together", ["jogs", "looks back"]),
])
def test_lists_passives_answers_and_leans(prompt, relation, parts):
    """Numbered lists, passive action nouns, answering with a hand, "as <pronoun> <verb>" and
    a lean beside the verb (constructions found missing by the eleventh and twelfth held-out
    sets; the prompts are written for the test)."""
    parsed = parse_prompt(prompt)
    assert parsed.relation == relation
    assert [a.text for s in parsed.stages for a in s.actions] == parts


@pytest.mark.parametrize("prompt, relation, parts", [
    ("a shy girl walks, raise right hand", "together",
     ["a shy girl walks", "a shy girl raises right hand"]),
    ("jog, hands up, smiling", "together", ["jog, smiling", "a person raises both hands"]),
    ("he marches on, arm raised high", "together", ["he marches on", "he raises a hand"]),
    ("he treks forward, left hand raised", "together",
     ["he treks forward", "he raises the left hand"]),
    ("walk + wave", "together", ["walk", "a person waves"]),
    ("walking - waving", "together", ["walking", "a person waves"]),
    ("mid-stride, she waves", "together", ["she walks forward", "she waves"]),
    ("he keeps walking, hand up", "together", ["he keeps walking", "he raises a hand"]),
    ("a toddler totters forward, arms up", "together",
     ["a toddler totters forward", "a toddler raises both hands"]),
    ("Lumbering forward like a giant, he raises his right hand", "together",
     ["he lumbers forward like a giant", "he raises his right hand"]),
    ("she meanders across the room waving", "together",
     ["she meanders across the room", "she waves"]),
    ("the robot marches, fist raised in its right hand", "together",
     ["the robot marches", "the robot raises the right hand"]),
    ("both fists up in the air, then a big jump", "sequence",
     ["a person raises both hands", "a big jump"]),
    # left whole: no arm gesture, or the travelling word is a noun
    ("a person strolls, hands in pockets", "single", ["a person strolls, hands in pockets"]),
    ("a punk waves both hands at his crew, all swagger", "single",
     ["a punk waves both hands at his crew, all swagger"]),
    ("waves at the fans, full of swagger", "single", ["waves at the fans, full of swagger"]),
    ("she sashays across the room, hips swinging", "single",
     ["she sashays across the room, hips swinging"]),
])
def test_loose_travel_and_gesture(prompt, relation, parts):
    """A travelling part and an arm gesture in loose pieces the parser leaves whole: a base
    form after a comma, a hand phrase with no verb, "+" or " - " for "and", a participle of
    a catalogue verb the parser does not know (compound_loose.py; prompts written for the
    test, found missing on heldout3-11's compound prompts: no single prompt of the seen sets
    changes)."""
    parsed = parse_prompt(prompt)
    assert parsed.relation == relation
    assert [a.text for s in parsed.stages for a in s.actions] == parts


@pytest.mark.parametrize("prompt, parts", [
    ("as the curtain rises, she bows", ["as the curtain rises, she bows"]),
    ("as the crowd cheers, he raises both arms", ["as the crowd cheers, he raises both arms"]),
    ("as the sun sets, an old man walks home and waves",
     ["an old man walks home", "an old man waves"]),
    ("when the bell rings, the kid runs out, then jumps", ["the kid runs out", "the kid jumps"]),
    ("once the door opens, she walks in and waves", ["walks in", "waves"]),
    ("as the curtain rises, the dancer spins, then bows", ["the dancer spins", "the dancer bows"]),
    ("after the game she raises her right hand, then bows",
     ["she raises her right hand", "she bows"]),
    ("as the old man walks, he waves", ["waves", "walks"]),
    ("after a big kick, he bows", ["does a big kick", "bows"]),
])
def test_scene_cues_are_not_parts(prompt, parts):
    """A fronted clause about the scene ("as the curtain rises", "when the whistle blows") is
    a cue, not a part of the character's motion ("does the curtain rises" before); a fronted
    clause with its own subject keeps its verb ("as the old man walks, he waves"). Prompts
    written for the test."""
    parsed = parse_prompt(prompt)
    assert [a.text for s in parsed.stages for a in s.actions] == parts
