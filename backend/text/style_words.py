"""Words that name a style in a prompt ("gloomily": sad, "a toddler": childish), used by the
prompt checker (`known.py`, which re-exports STYLE_WORD) and the story planner. Standard
library only."""
from __future__ import annotations

_STYLE_WORDS = {
    "happy": "joy joyous joyously cheery cheerily jubilant jubilantly happy happily cheerful cheerfully joyful joyfully glad delighted elated gleeful "
             "gleefully merry merrily jolly beaming smiling upbeat chirpy ecstatic overjoyed",
    "sad": "crying weeping sobbing tearfully sad sadly gloomy gloomily dejected depressed sorrowful unhappy miserable "
           "miserably melancholy mournful mournfully heartbroken grieving tearful downcast glum "
           "forlorn despondent moping mopes sorrowfully",
    "angry": "anger grumpy grumpily stroppy wrathful irritably angry angrily furious furiously mad irritated enraged raging livid fuming "
             "annoyed aggressive aggressively hostile frustrated irate seething",
    "proud": "confident confidently regally majestic majestically proud proudly haughty haughtily arrogant arrogantly smug smugly pompous "
             "pompously boastful triumphant triumphantly regal dignified",
    "not-confident": "apprehensive apprehensively bashful bashfully diffident timid timidly hesitant hesitantly unconfident shy shyly nervous "
                     "nervously insecure anxious anxiously unsure meek meekly sheepish "
                     "sheepishly awkward awkwardly scared fearful fearfully tentative "
                     "tentatively",
    "masculine": "strongman masculine manly macho bodybuilder muscular burly brawny rugged beefy",
    "feminine": "ladylike girly demure demurely feminine dainty daintily graceful gracefully ballerina elegant elegantly "
                "delicate delicately princess",
    "childish": "baby babies infant toddlers children giggling giggly schoolgirl schoolboy childish childishly childlike child kid kids toddler playful playfully "
                "youngster bratty",
    "elderly": "geriatric grandparent elderly old grandpa grandma aged senior grandfather grandmother granny "
               "grandad pensioner frail elder",
    "exhausted": "exhausted tired tiredly weary wearily fatigued drained sleepy drowsy "
                 "sluggish sluggishly knackered",
    "active": "energy energetic energetically lively active actively vigorous vigorously brisk "
              "briskly sporty athletic peppy bouncy spirited enthusiastic enthusiastically",
    "musical": "jazz showbiz musical theatrical theatrically rhythmically dramatic dramatically broadway "
               "showman jazzy flamboyant flamboyantly",
    "giant": "giant lumbering huge enormous massive hulking ogre troll colossal titan",
    "chimpira": "thug thuggish punk swagger swaggering delinquent gangster hoodlum yob "
                "hooligan bully",
    "youthful": "teenagers teens youth youthful youthfully young teenager teen teenage adolescent spry sprightly",
}
STYLE_WORD = {w: s for s, words in _STYLE_WORDS.items() for w in words.split()}
_OPPOSITE_STYLES = [("happy", "sad"), ("happy", "angry"), ("proud", "not-confident"),
                    ("exhausted", "active"), ("masculine", "feminine")]
