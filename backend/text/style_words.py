"""Words that name a style in a prompt ("gloomily": sad, "a toddler": childish), used by the
prompt checker (`known.py`, which re-exports STYLE_WORD) and the story planner. Standard
library only."""
from __future__ import annotations

import re

_STYLE_WORDS = {
    "happy": "grinning joy joyous joyously cheery cheerily jubilant jubilantly happy happily cheerful cheerfully joyful joyfully glad delighted elated gleeful "
             "gleefully merry merrily jolly beaming smiling upbeat chirpy ecstatic overjoyed",
    "sad": "grief sorrow tears sulking sulks sulky crying weeping sobbing tearfully sad sadly gloomy gloomily dejected depressed sorrowful unhappy miserable "
           "miserably melancholy mournful mournfully heartbroken grieving tearful downcast glum "
           "forlorn despondent moping mopes sorrowfully",
    "angry": "rage anger grumpy grumpily stroppy wrathful irritably angry angrily furious furiously mad irritated enraged raging livid fuming "
             "annoyed aggressive aggressively hostile frustrated irate seething",
    "proud": "confident confidently regally majestic majestically proud proudly haughty haughtily arrogant arrogantly smug smugly pompous "
             "pompously boastful triumphant triumphantly regal dignified",
    "not-confident": "apprehensive apprehensively bashful bashfully diffident timid timidly hesitant hesitantly unconfident shy shyly nervous "
                     "nervously insecure anxious anxiously unsure meek meekly sheepish "
                     "sheepishly awkward awkwardly scared fearful fearfully tentative "
                     "tentatively",
    "masculine": "strongman masculine manly macho bodybuilder muscular burly brawny rugged beefy",
    "feminine": "femme fem ladylike girly demure demurely feminine dainty daintily graceful gracefully ballerina elegant elegantly "
                "delicate delicately princess",
    "childish": "schoolkid schoolkids baby babies infant toddlers children giggling giggly schoolgirl schoolboy childish childishly childlike child kid kids toddler playful playfully "
                "youngster bratty",
    "elderly": "geriatric grandparent elderly old grandpa grandma aged senior grandfather grandmother granny "
               "grandad pensioner frail elder",
    "exhausted": "worn-out exhausted tired tiredly weary wearily fatigued drained sleepy drowsy "
                 "sluggish sluggishly knackered",
    "active": "pep energy energetic energetically lively active actively vigorous vigorously brisk "
              "briskly sporty athletic peppy bouncy spirited enthusiastic enthusiastically",
    "musical": "jazz showbiz musical theatrical theatrically rhythmically dramatic dramatically broadway "
               "showman jazzy flamboyant flamboyantly",
    "giant": "giant lumbering huge enormous massive hulking ogre troll colossal titan",
    "chimpira": "chav thug thuggish punk swagger swaggering delinquent gangster hoodlum yob "
                "hooligan bully",
    "youthful": "teenagers teens youth youthful youthfully young teenager teen teenage adolescent spry sprightly",
}
STYLE_WORD = {w: s for s, words in _STYLE_WORDS.items() for w in words.split()}
# Phrases that imply a style where no single word does: a little girl, a tot of five, an
# 80-year-old, a screenplay's "TOMMY, 7," or "MARGARET, 80s,".
STYLE_PHRASES = [
    (re.compile(r"\b(little|tiny|wee) (girl|boy|kid|one|lad|lass|tot|prince|princess|"
                r"brother|sister)s?\b|\btoddl(e|es|ed|ing|er|ers)\b|\btots?\b|"
                r"\b(aged?|only) (two|three|four|five|six|seven|eight|nine|[2-9])\b|"
                r"^[^,]*\b[a-z]+, ([2-9]|1[0-2]),|\b([2-9]|1[0-2])[- ]years?[- ]old\b"),
     "childish"),
    (re.compile(r"^[^,]*\b[a-z]+, ([6-9]0s|[7-9]\d),|\b([7-9]\d)[- ]years?[- ]old\b|"
                r"\bin (his|her|their) ([7-9]0s|eighties|nineties|seventies)\b"), "elderly"),
    # reader dev set d (round 14)
    (re.compile(r"\b(worn|wiped) out\b|\bout of breath\b|\b(dog|bone)[- ]tired\b|"
                r"\bdead on (his|her|their|my|your) feet\b|\bcompletely spent\b"), "exhausted"),
    (re.compile(r"\bchest (puffed |thrust )?(out|forward)\b|\bchin (up|high)\b|"
                r"\bhead (held )?high\b"), "proud"),
    (re.compile(r"\bmusical[- ]theat(re|er)\b|\bstage[- ]musical\b|\bsong[- ]and[- ]dance\b|"
                r"\bbroadway\b|\bshow ?tunes?\b"), "musical"),
]


def phrase_styles(lower: str) -> set[str]:
    """Styles the phrases of a lower-cased prompt imply (STYLE_PHRASES)."""
    return {style for rx, style in STYLE_PHRASES if rx.search(lower)}
_OPPOSITE_STYLES = [("happy", "sad"), ("happy", "angry"), ("proud", "not-confident"),
                    ("exhausted", "active"), ("masculine", "feminine")]
