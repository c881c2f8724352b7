"""Which label within a family of near-identical actions the prompt's words pin down.

The sentence encoder ranks siblings (the six walks, the three waves / raises / goodbyes) by
overall likeness and misses the one or two words that tell them apart: "just a regular
everyday walk" came out as ``walk-turn-left``, "walks forward then turns left" as ``walk``.
So the words decide:

* ``refine_action(action, clause, whole)``: the sibling the clause names (direction of a walk,
  hand of a gesture, answering with a raised hand, a big two-handed goodbye, turning on the
  spot); a walk sibling that no word of the prompt points to falls back to ``walk``.
* ``merge_walk_and_turn(known, whole)``: "walks ..., then turns right" is one action of the
  data (``walk-turn-right``), not a walk and a turn.

Measured on the seen prompt sets in round 6 (closing note); words only, no embedding.
"""
from __future__ import annotations

import re

WALKS = ("walk", "walk-back", "walk-left", "walk-right", "walk-turn-left", "walk-turn-right")
HAND_FAMILIES = {"wave": ("wave-both-hands", "wave-left-hand", "wave-right-hand"),
                 "raise": ("raise-up-both-hands", "raise-up-left-hand", "raise-up-right-hand"),
                 "bye": ("byebye", "bye", "bye")}
FAMILY_OF = {a: fam for fam, members in HAND_FAMILIES.items() for a in members}


def family(action: str) -> str:
    """"walk" for the six walks, "wave" / "raise" / "bye" for the hand families, else the
    action itself."""
    return "walk" if action in WALKS else FAMILY_OF.get(action, action)

# common shorthand and misspellings of the words below ("walk fwd, turn L", "rigth")
_SHORTHAND = {"lfet": "left", "letf": "left", "lft": "left", "rigth": "right",
              "rihgt": "right", "rght": "right", "bwd": "backwards", "bkwd": "backwards",
              "backwords": "backwards", "backwrds": "backwards",
              "bckwards": "backwards", "bakwards": "backwards", "backwads": "backwards",
              "turnss": "turns", "trun": "turn", "truns": "turns", "rite": "right",
              "turnr": "turn right", "turnl": "turn left", "diag": "diagonally"}
_POSS = r"(the |his |her |their |its |your |my )?"
_TURN_VERB = r"(turn|turns|turned|turning|rotate|rotates|rotated|rotating)( \w+ly)?( \d+ degrees)?"
_SWING_VERB = (r"(pivot|pivots|pivoting|wheel|wheels|wheeling|curve|"
               r"curves|curving|swing|swings|swinging|swung|cut|cuts|cutting|hook|hooks|"
               r"hooking|hooked)")
_TAKE_VERB = r"(hang|hangs|hanging|hung|take|takes|taking|took|make|makes|making|made)"
_BACK = (r" (backwards?|in reverse|reverses?|reversing|back ?pedals?|back ?pedalling|"
         r"back ?pedall?ed|"
         r"retreats?|retreating|backs (away|off|up)|backing (away|off|up)|back (away|off|up)|"
         r"steps? back|walks? back(wards)? (from|away))")
_DIRECTION = (r" (left|right|back|backs|backing|backwards?|reverse|reverses|reversing|retreats?|"
              r"side|sideways|sidesteps?|strafes?|turn|turns|turning|turned|round|around|"
              r"corner|diagonal|diagonally|l|r) ")
_IN_PLACE = (r" (in place|on the spot|on one spot|where (he|she|they|it) stands?|in circles|"
             r"in a circle|round and round|around and around|"
             r"(a )?full circle|360|three ?sixty|all the way (a)?round) ")
# answering: a hand raised to answer is "respond", and so is a call answered
_ANSWER = re.compile(r"\b(answer\w*|respond\w*|repl(y|ies|ying)|acknowledg\w*|reacts? to|"
                     r"roll call|register|names? (are|is) called)\b|"
                     r"['\"‘’“”]\s*(here|me|present|yes|sir|miss)\b")


def _words(text: str) -> str:
    """" w1 w2 ... " lower-case, shorthand spelt out, for word-boundary patterns."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("'", ""))
    words = [_SHORTHAND.get(w, w) for w in words]
    out = " " + " ".join(words) + " "
    out = re.sub(r" r (hand|arm) ", r" right \1 ", re.sub(r" l (hand|arm) ", r" left \1 ", out))
    # "turn L", "turn R", "walk fwd, turn l"
    out = re.sub(r" ([a-z]+?)(\d+) ", r" \1 \2 ", out)          # "left45"
    out = re.sub(r" (turn|turns|turning|diagonally|diagonal) l ", r" \1 left ", out)
    return re.sub(r" (turn|turns|turning|diagonally|diagonal) r ", r" \1 right ", out)


def _has(t: str, pattern: str) -> bool:
    return re.search(pattern, t) is not None


def turn_side(text: str) -> str | None:
    """"left" / "right" when the words turn that way ("turns right", "hangs a left", "takes
    a left turn", "swings round to the right", "pivots right"), else None."""
    t = _words(text)
    if _has(t, rf" {_TURN_VERB} (\w+ )?(counter ?clockwise|anti ?clockwise|counterclockwise|"
               r"anticlockwise) "):
        return "left"
    if _has(t, rf" {_TURN_VERB} (\w+ )?clockwise "):
        return "right"
    for side in ("left", "right"):
        if _has(t, rf" {_TURN_VERB} (a |round |around |off )?(to |towards? )?{_POSS}{side} ") or \
                _has(t, rf" {side} turn ") or \
                _has(t, rf" {_TAKE_VERB} a {side} ") or \
                _has(t, rf" {_SWING_VERB} (\w+ )?(round |around |off )?(\w+ degrees )?"
                        rf"(to |towards? )?(face )?{_POSS}{side} ") or \
                _has(t, rf" (change|changes|changed|changing) (the |his |her |their )?"
                        rf"direction (to )?{_POSS}{side} "):
            return side
    return None


def turns_in_place(text: str) -> bool:
    """A turn on the spot ("turns around in place", "a full 360"): the data's ``spin``."""
    t = _words(text)
    return _has(t, rf" ({_TURN_VERB}|spins?|spinning|rotates?|rotating|twirls?)\b") and \
        _has(t, _IN_PLACE)


def _walk_sibling(t: str) -> str | None:
    """The walk sibling the words name, or None when they name no direction."""
    if _has(t, _BACK + " "):
        return "walk-back"
    side = turn_side(t)
    if side is not None:
        return f"walk-turn-{side}"
    clock = {"left": r"(ten|eleven|10|11)", "right": r"(one|two|1|2)"}
    for side in ("left", "right"):
        if _has(t, rf" (to|towards?|toward|off to|over to) {_POSS}(far |front |back )?{side} ") or \
                _has(t, rf" (frame|stage|downstage|upstage|screen|camera) {side} ") or \
                _has(t, rf" (bear|bears|bearing|bore) {side} ") or \
                _has(t, rf" (toward|towards|to) {clock[side]} o ?clock ") or \
                _has(t, rf" (forward|front|diagonally|fwd) {side} ") or \
                _has(t, rf" ({side}wards?|sideways to {_POSS}{side}|{side} diagonal|"
                        rf"diagonally( to)? {_POSS}{side}|{side} side) ") or \
                _has(t, rf" (side ?steps?|side ?stepping|strafes?|strafing|shuffles?|"
                        rf"steps?|edges?|drifts?|veers?|angles?)( off)?( to)? {_POSS}{side} "):
            return f"walk-{side}"
    return None


# Words that tell apart actions the encoder confuses across families (seen sets, round 6):
_BLADE = r"\b(sword|swords|greatsword|broadsword|longsword|katana|sabre|saber|machete|blade)\b"
_CUT = r"\b(cut|cuts|cutting|slash\w*|slahs\w*|hack|hacks|hacking|swing|swings|swinging|" \
       r"swung|cleave|cleaves|chop|chops|strike|strikes)\b"
_FENCING = r"\b(fenc\w*|duel\w*|spar\w*|parr\w*|lunge\w*|riposte\w*|en garde|foil|epee|rapier)\b"
_FULL_SPEED = (r"\b(as fast as|(full|top|max|maximum|breakneck) (speed|velocity|tilt)|flat out|"
               r"full pelt|all out|sprint\w*|sprnt|breakneck|like a bullet|bolt(s|ed|ing)?|"
               r"zoom(s|ed|ing)?|tore off|tears off|hell for leather|full tilt)\b")
_GOODBYE = (r"\b(bye|goodbye|good ?by|farewell|see you|see ya|cya|so long|adios|ciao|"
            r"cheerio|ta[- ]ta|toodle\w*)\b")
_KARATE = r"\b(kata|dojo|gi|blocks?|karate|shotokan|kihon|kumite|sensei)\b"
_FLIP = r"\b((back|side)? ?flip(s|ped|ping)?|somersault\w*)\b"
_HANDS_UP = r"\b(hands|arms) (up|in the air|high|above (his|her|their|my|your|the) heads?)\b"
_SIDE_TO_SIDE = r"\b(side to side|back and forth|to and fro|flap|flaps|flapping)\b"
_BACK_UP = (r"\b(gets?|getting|got|staggers?|staggering|climbs?|picks? (himself|herself|"
            r"themselves)) (back )?up\b|\brises? from\b")
_DOWNED = r"\b(knock\w*|canvas|floor|ground|fall\w*|fell|ko'?d)\b"
_REVERSE = (r"\b(back ?pedal\w*|reverses? (away|out|off|back)|reversing (away|out|off)|"
            r"retreats?|retreating)\b")


def across_families(action: str, text: str) -> str:
    """The action the words name when the encoder picked a neighbouring family: a
    two-handed sword cut is ``slash`` (not karate or a raise), fencing is ``swordplay``,
    running flat out is ``dash``, a goodbye with both hands ``byebye``, a hand moved side to
    side a wave, getting back up after a knockdown ``get-up``, answering a call ``respond``,
    backing away ``walk-back``; blocks and strikes in a dojo are ``karate``, a flip
    backwards a ``flip``, getting back on one's feet ``get-up``, hands up that wave no
    goodbye ``raise-up-both-hands``."""
    low = text.lower()
    if re.search(_BLADE, low) and re.search(_CUT, low) and not re.search(_FENCING, low) \
            and action in ("karate", "swordplay", "raise-up-both-hands", "punch"):
        return "slash"
    if action == "slash" and re.search(_FENCING, low) and not re.search(_CUT, low):
        return "swordplay"
    if action in ("run", "walk") and re.search(_FULL_SPEED, low):
        return "dash"
    if action in HAND_FAMILIES["wave"] and re.search(_GOODBYE, low):
        return "byebye" if action == "wave-both-hands" else "bye"
    if action in HAND_FAMILIES["raise"][1:] and re.search(_SIDE_TO_SIDE, low):
        return HAND_FAMILIES["wave"][HAND_FAMILIES["raise"].index(action)]
    if action in ("punch", "jump") and re.search(_BACK_UP, low) and re.search(_DOWNED, low):
        return "get-up"
    if action == "call" and _ANSWER.search(low):
        return "respond"
    if action in ("flip", "roll", "walk") and re.search(_REVERSE, low):
        return "walk-back"
    if action in ("punch", "kick") and re.search(_KARATE, low):
        return "karate"
    if action == "walk-back" and re.search(_FLIP, low):
        return "flip"
    if action in WALKS and re.search(r"\bon (to )?(your|his|her|their|my) feet\b", low):
        return "get-up"
    if action in ("guide", "call", "bye", "byebye") and re.search(_HANDS_UP, low) and \
            not re.search(_GOODBYE, low) and not re.search(r"\bwav", low):
        return "raise-up-both-hands"
    return action


def refine_action(action: str, clause: str, whole: str | None = None,
                  answer: bool = True) -> str:
    """The label the words pin down within `action`'s family (module doc), after
    ``across_families``. `whole`: the whole prompt, read when the clause itself names no
    side, hand or direction. `answer`: a hand raised to answer may be ``respond`` (False for
    a model that has no recording of it: the hand named decides)."""
    texts = [clause] + ([whole] if whole and whole != clause else [])
    action = across_families(action, whole or clause)
    if action in WALKS:
        if any(turns_in_place(x) for x in texts) and \
                not re.search(r"\bwalk", " ".join(texts).lower()):
            return "spin"
        for text in texts:
            sibling = _walk_sibling(_words(text))
            if sibling is not None:
                return sibling
        every = _words(" ".join(texts))
        if not _has(every, _DIRECTION):
            return "walk"        # a direction no word names is the encoder's guess
        for side, other in (("left", "right"), ("right", "left")):
            if action.endswith(side) and _has(every, f" {other} ") and \
                    not _has(every, f" {side} "):
                return action[:-len(side)] + other   # "then left at the bakery"
        return action
    family = FAMILY_OF.get(action)
    if family is None:
        return action
    both, left, right = HAND_FAMILIES[family]
    for text in texts:
        t = _words(text)
        if answer and family == "raise" and action != both and _ANSWER.search(text.lower()):
            return "respond"     # a hand raised to answer: the data's "respond"
        if family == "bye" and _has(t, r" (one|single) (\w+ )?(hand|arm|handed) "):
            return right
        if _has(t, r" (both|two) (his |her |their |my |your |the )?(hands|arms) ") or \
                _has(t, r" (both|two) (handed|armed) ") or \
                _has(t, r" hands ") or \
                (family == "bye" and _has(t, r" (bye bye|byebye|whole arm|arms) ")):
            return both
        if _has(t, r" left (hand|arm) ") or _has(t, r" lefthand "):
            return left
        if _has(t, r" right (hand|arm) ") or _has(t, r" righthand "):
            return right
    every = _words(" ".join(texts))
    if family == "bye" and not _has(every, r" (high|overhead|above) "):
        return right             # a goodbye no word makes two-handed: the data's one hand
    if family in ("raise", "wave") and action == both and \
            _has(every, r" (a|his|her|their|my|your|one|the) (hand|arm) ") and \
            not _has(every, r" (hands|arms|both|two) "):
        return right             # "raises his hand": one hand, the data's right by default
    return action


def merge_walk_and_turn(known: dict[str, float], whole: str) -> dict[str, float]:
    """{action: score} with a walk and a turn to one side read as the data's single
    ``walk-turn-<side>`` ("walks forward, then turns left"), and a turn on the spot as
    ``spin``; unchanged otherwise."""
    side = turn_side(whole)
    turn = f"walk-turn-{side}"
    walks = [a for a in ("walk", turn) if a in known]
    if "walk" not in known or side is None or turns_in_place(whole):
        return known
    score = max(known[a] for a in walks + [a for a in ("spin",) if a in known])
    out = {a: s for a, s in known.items() if a not in walks and a != "spin"}
    out[turn] = score
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def walk_then_turn(stages) -> bool:
    """Whether parsed stages (``compound.parse_prompt(...).stages``) are a walk and then a
    turn to a side ("walks to the corner and turns right"): one clip of the data
    (``walk-turn-<side>``), not two parts to join."""
    if len(stages) != 2 or any(len(s.actions) != 1 for s in stages):
        return False
    first, second = stages[0].actions[0], stages[1].actions[0]
    walking = first.kind == "locomotion" and first.verb not in ("run", "dash", "jog", "sprint")
    return walking and second.verb == "turn" and turn_side(second.text) is not None \
        and not turns_in_place(second.text)


def merge_walk_turns(stages: list) -> list:
    """Parsed stages (``compound.parse_prompt``) with each walk followed by a turn to one
    side joined into one stage, the data's ``walk-turn-<side>`` ("walks, turns left, then
    waves": two parts, not three)."""
    from dataclasses import replace
    out: list = []
    merged = False                       # the last stage is already a walk and a turn
    for stage in stages:
        if out and not merged and walk_then_turn([out[-1], stage]):
            walk, turn = out[-1].actions[0], stage.actions[0]
            text = f"{walk.text} and {turn.text}"
            out[-1] = replace(out[-1], actions=(replace(walk, text=text),), text=text)
            merged = True
            continue
        out.append(stage)
        merged = False
    return out
