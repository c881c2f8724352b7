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

    def to_clip(self, *args, **kw):
        return self.gen.to_clip(*args, **kw)


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


def test_the_job_conditioning_composes_what_the_job_composes():
    from backend.eval.prompt_eval import _as_job
    from backend.models.text2motion.compose import reads_as_compound
    gen = Recording(load_generator("starter"))
    prompt = "walks to the corner, then turns right"       # one action of the data
    assert not reads_as_compound(prompt)
    _as_job(gen, "starter", {})(prompt, 0)
    assert gen.calls[-1][0] == [training_caption("walk-turn-right")]
    real = load_generator("starter")
    assert reads_as_compound("a person walks forward and waves")
    f = _as_job(real, "starter", {"steps": 4})("a person walks forward and waves", 0)
    assert f.ndim == 2 and f.shape[1] == 263 and len(f) > 20 and np.isfinite(f).all()


def test_a_part_that_names_no_known_action_is_a_description_not_a_part():
    from backend.models.text2motion.compose import reads_as_compound
    for prompt in ("stands up after falling down", "bounces a basketball while standing at "
                   "the free throw line", "ambles along the promenade eating chips"):
        assert not reads_as_compound(prompt), prompt
    for prompt in ("a person walks forward, then jumps", "runs while waving both hands"):
        assert reads_as_compound(prompt), prompt
