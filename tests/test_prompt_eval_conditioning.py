"""The prompt-set evaluation's conditionings (backend/eval/prompt_eval.py): what text the
generator is given for each, with the real shipped generator."""
import numpy as np

from backend.eval.prompt_eval import _conditioned, _labelled, _snapped
from backend.models.text2motion.sample import load_generator
from backend.text.snap import training_caption


class Recording:
    """The real generator, remembering the texts and sampling options it was given."""

    def __init__(self, gen):
        self.gen, self.calls = gen, []

    def generate(self, texts, seconds, seeds, **kw):
        self.calls.append((list(texts), kw))
        return self.gen.generate(texts, [2.0], seeds, **kw)


def test_each_conditioning_gives_the_generator_its_text():
    gen = Recording(load_generator("starter"))
    prompt = "a grandpa strolls across the room"
    items = [{"prompt": prompt, "action": "walk", "style": "elderly"}]
    f = _conditioned(gen, {"guidance": 3.0})(prompt, 0)
    assert f.shape[1] == 263 and np.isfinite(f).all()
    assert gen.calls[-1] == ([prompt], {"guidance": 3.0})
    _labelled(gen, items, {})(prompt, 0)
    assert gen.calls[-1][0] == [training_caption("walk", "elderly")]
    _snapped(gen, "starter", {"steps": 4})(prompt, 0)
    text, kw = gen.calls[-1]
    assert kw == {"steps": 4} and text[0] != prompt           # snapped to a training caption
    assert "walk" in text[0]
