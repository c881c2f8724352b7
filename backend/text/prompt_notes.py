"""Notes on what a prompt asks that the models do not control: numbers with units ("walks 3
metres": the distance is not controlled) and contradictions ("walks backwards forward").
Standard library only; used by the prompt checker (`known.py`)."""
from __future__ import annotations

import re

# (word A, word B, what, scope): "clause" looks inside one clause ("walks backwards forward");
# "segment" inside one step of a sequence, across "and" ("walks quickly and slowly").
_CONTRADICTIONS = [(r"\bforwards?\b", r"\bbackwards?\b", "forward and backward", "clause"),
                   (r"\bleft\b.*\bright\b|\bright\b.*\bleft\b",
                    r"\b(at the same time|simultaneously|at once)\b", "left and right at once",
                    "segment"),
                   (r"\b(walk|walks|walking|run|runs|running|jog|jogs|jogging|dash|dashes|"
                    r"sprint|sprints)\b", r"\b(standing|stands|stand|staying|stays) "
                    r"(perfectly |completely )?still\b", "moving and standing still",
                    "segment"),
                   (r"\b(fast|quickly|rapidly)\b", r"\b(slow|slowly)\b", "fast and slow",
                    "segment"),
                   (r"\bclockwise\b", r"\b(counter|anti)-?clockwise\b", "both turning ways",
                    "segment")]
_NUMBER_UNIT = re.compile(r"(\d+(?:[.,]\d+)?|\b(?:one|two|three|four|five|six|seven|eight|"
                          r"nine|ten|twenty|hundred)\b)\s*(metres?|meters?|m\b|km|feet|foot|ft|"
                          r"yards?|miles?|steps?|times|seconds?|secs?|s\b|minutes?|degrees?|"
                          r"°|kph|mph)", re.IGNORECASE)


def prompt_notes(text: str, clauses: list[str], segments: list[str]) -> list[str]:
    """Notes for `text` (as typed), given its lower-cased clauses and sequence segments."""
    out: list[str] = []
    for m in _NUMBER_UNIT.finditer(text):
        unit = m.group(2).lower()
        if unit.startswith(("step", "time")):
            why = "counts of steps or repeats are not controlled exactly"
        elif unit.startswith(("sec", "min")) or unit == "s":
            why = "the length is set with the Seconds field, not in the prompt"
        elif unit.startswith("deg") or unit == "°":
            why = "turn angles are approximate"
        else:
            why = "the distance travelled is not controlled (edit the root path after)"
        out.append(f"'{m.group(0)}': {why}")
    pieces = {"clause": clauses, "segment": segments}
    for a, b, what, scope in _CONTRADICTIONS:
        for clause in pieces[scope]:
            if re.search(a, clause) and re.search(b, clause):
                out.append(f"'{clause}' asks for {what} at once; the model will follow "
                           f"one of them or neither: to get both, put one after the other "
                           f"with 'then'")
    return out
