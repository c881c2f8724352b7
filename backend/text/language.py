"""Which language a prompt is written in, to warn (never refuse) when it is not English.

Offline and standard library only: non-Latin scripts are told apart by their letters; French,
Spanish, German, Italian, Portuguese and Dutch by their function words and common motion words
(lists below), which an English prompt does not use. A single accented loanword in an English
sentence ("a ballet dancer does a plié") is not enough to warn.

``detect_language(text) -> str``: "en", "fr", "es", "de", "it", "pt", "nl", "other" (accented
words and no English), "non-latin" or "unknown" (no letters).
``language_warning(text) -> str | None``: the message for the user.
"""
from __future__ import annotations

import re
import unicodedata

LANGUAGE_NAMES = {"en": "English", "fr": "French", "es": "Spanish", "de": "German",
                  "it": "Italian", "pt": "Portuguese", "nl": "Dutch",
                  "other": "like a language other than English",
                  "non-latin": "not in Latin script"}

# Words an English motion prompt uses (function words and the commonest prompt words).
_ENGLISH = set("""
a an the and or then while with without of to from in on at into onto over under up down
his her their its he she they it them him someone somebody person man woman people guy girl
boy character is are was be being does do did doing as like for by before after around
forward forwards backward backwards back left right hand hands arm arms leg legs foot feet
walks walk walking runs run running jumps jump jumping dances dance waves wave kicks kick
punches punch turns turn bows bow raises raise slowly quickly fast slow very happily sadly
angrily twice once times again both one two three steps step spins spin rolls crawls
""".split())

# Words that mark a language and that an English prompt does not contain (English homographs
# such as "a", "in", "die", "man", "person", "also" and "the" are left out on purpose).
_FOREIGN = {
    "fr": """le la les une des et est avec dans sur sous puis qui que du au aux en vers
             il elle ils elles personne homme femme marche marcher courir saute sauter
             danse tourne lentement rapidement vite avant arrière gauche droite mains bras
             jambe fait lève salue deux trois fois très ses son sa se ça c'est puis""",
    "es": """el la los las una unos unas y es con en sobre luego después que del al hacia
             para él ella persona hombre mujer camina caminar corre correr salta saltar baila
             bailar gira lentamente rápidamente rápido adelante atrás izquierda derecha mano
             manos brazo brazos pierna hace levanta saluda dos tres veces muy sus su se""",
    "de": """der die das ein eine einen einem und ist mit auf unter dann danach dass zum zur
             nach vor für er sie es mensch frau geht gehen läuft laufen springt springen tanzt
             tanzen dreht langsam schnell vorwärts rückwärts links rechts hand hände arme bein
             macht hebt winkt zwei drei mal sehr sich seine ihre""",
    "it": """il lo la gli le una uno un e è con nel nella sul sulla poi dopo che del della al
             verso per lui lei persona uomo donna cammina camminare corre correre salta saltare
             balla ballare gira lentamente velocemente avanti indietro sinistra destra mano
             mani braccio braccia gamba fa alza saluta due tre volte molto suo sua si""",
    "pt": """o os uma um uns umas e é com em na sobre depois que do da ao à para ele ela
             pessoa homem mulher anda andar caminha caminhar corre correr pula pular salta
             dança dançar gira devagar rapidamente rápido frente trás esquerda direita mão
             mãos braço braços perna faz levanta acena dois três vezes muito seu sua se""",
    "nl": """de het een en is op onder daarna dat naar voor hij zij ze persoon vrouw
             loopt lopen rennen springt springen danst dansen draait langzaam snel
             vooruit achteruit links rechts handen armen maakt heft zwaait twee drie keer
             zeer erg zijn haar zich""",
}
FOREIGN_WORDS = {lang: set(words.split()) - _ENGLISH for lang, words in _FOREIGN.items()}

# Letters (after NFC) that English words do not use; a hint only, never enough on its own.
_ACCENTS = set("àâäçéèêëîïôöùûüÿœæñáíóúãõßìòåøœ")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _letters(text: str) -> list[str]:
    return [ch for ch in text if ch.isalpha()]


def is_latin_script(text: str, share: float = 0.6) -> bool:
    """True when more than `share` of the letters are Latin (code points below U+0250)."""
    letters = _letters(text)
    if not letters:
        return False
    latin = sum(1 for ch in letters if ord(ch) < 0x250)
    return latin / len(letters) > share


def foreign_word_counts(text: str) -> dict[str, int]:
    """{language code: how many words of `text` are in that language's marker list}."""
    words = [w.lower() for w in _WORD.findall(unicodedata.normalize("NFC", text))]
    return {lang: sum(1 for w in words if w in vocab) for lang, vocab in FOREIGN_WORDS.items()}


def detect_language(text: str) -> str:
    """Best guess of the language of a prompt (see the module docstring for the codes)."""
    text = unicodedata.normalize("NFC", text or "")
    if not _letters(text):
        return "unknown"
    if not is_latin_script(text):
        return "non-latin"
    words = [w.lower() for w in _WORD.findall(text)]
    english = sum(1 for w in words if w in _ENGLISH)
    counts = foreign_word_counts(text)
    lang, hits = max(counts.items(), key=lambda kv: kv[1])
    accented = sum(1 for w in words if any(ch in _ACCENTS for ch in w))
    if hits >= 2 and hits > english:
        return lang
    # short prompts: one marker word plus accents, or a marker-only prompt with no English
    if hits >= 1 and english == 0 and (accented or hits == len(words) or len(words) <= 2):
        return lang
    if english == 0 and words and accented / len(words) >= 0.5:
        # mostly accented words and no English word: a Latin-script foreign language
        return lang if hits else "other"
    return "en"


def language_warning(text: str) -> str | None:
    """A warning for a prompt that does not look English, or None."""
    lang = detect_language(text)
    if lang in ("en", "unknown"):
        return None
    if lang == "non-latin":
        return ("the prompt is not in Latin script and does not look English; the model was "
                "trained on English captions, so the motion may not match it. Write it in "
                "English, e.g. 'a person walks forward'")
    name = LANGUAGE_NAMES[lang]
    name = name if lang == "other" else f"{name}, not English"
    return (f"the prompt looks {name}; the model was trained on "
            f"English captions, so the motion may not match it. Write it in English, e.g. "
            f"'a person walks forward'")
