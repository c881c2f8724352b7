"""Panels drawn into a recording layout (background Blender has no UI to draw into): every
property and operator they reference must exist, in every state of the session."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("fresh_scene")]


class RecordingLayout:
    """Stands in for bpy.types.UILayout; checks the references the panel makes."""

    def __init__(self, log):
        self.log = log

    def __setattr__(self, name, value):           # use_property_split, scale_y, enabled...
        object.__setattr__(self, name, value)

    def _child(self, *args, **kwargs):
        return RecordingLayout(self.log)

    row = column = box = split = _child

    def label(self, text="", icon="NONE", **kwargs):
        self.log.append(("label", text))

    def _check_prop(self, data, prop):
        assert prop in data.bl_rna.properties, f"{data!r} has no property {prop!r}"

    def prop(self, data, prop, **kwargs):
        self._check_prop(data, prop)
        self.log.append(("prop", prop))

    def prop_search(self, data, prop, search_data, search_prop, **kwargs):
        self._check_prop(data, prop)
        self._check_prop(search_data, search_prop)
        self.log.append(("prop_search", prop))

    def operator(self, idname, **kwargs):
        module, name = idname.split(".")
        cls = getattr(bpy.types, f"{module.upper()}_OT_{name}", None)
        assert cls is not None, f"operator {idname} is not registered"
        self.log.append(("operator", idname))
        return _OperatorProps(getattr(getattr(bpy.ops, module), name).get_rna_type())

    def operator_menu_enum(self, idname, prop, **kwargs):
        props = self.operator(idname)
        assert prop in props.rna.properties
        return props

    def progress(self, factor=0.0, type="BAR", text=""):
        assert 0.0 <= factor <= 1.0
        self.log.append(("progress", factor))


class _OperatorProps:
    def __init__(self, rna):
        object.__setattr__(self, "rna", rna)

    def __setattr__(self, name, value):
        assert name in self.rna.properties, f"{self.rna.identifier} has no {name!r}"


def _draw_all(context):
    import anima.panels
    log = []
    for cls in anima.panels.CLASSES:            # every sub-panel of the Anima tab
        if hasattr(cls, "poll") and not cls.poll(context):
            continue
        panel = type("P", (), {})()
        panel.layout = RecordingLayout(log)
        cls.draw(panel, context)
    return log


def test_panels_draw_in_every_state(make_armature, tmp_path):
    from anima.operators import jobs
    ctx = bpy.context
    log = _draw_all(ctx)                                    # nothing selected
    assert ("label", "Select an armature to animate") in log
    assert ("operator", "anima.generate") in log

    arm = make_armature()
    bpy.ops.anima.mapping_auto()
    log = _draw_all(ctx)
    # 22 joints + root bone (Mapping) + the path object (Follow Path)
    assert sum(1 for k, _ in log if k == "prop_search") == 24

    st = ctx.window_manager.anima
    st.busy, st.progress, st.state, st.status = True, 0.4, "READY", "Anima: walk 40%"
    log = _draw_all(ctx)
    assert ("progress", pytest.approx(0.4)) in log and ("operator", "anima.cancel") in log

    st.busy, st.state, st.error, st.can_resubmit = False, "DEAD", "The backend stopped " \
        "unexpectedly (killed). Press Restart Backend; your scene was not changed", True
    log = _draw_all(ctx)
    assert ("operator", "anima.restart_backend") in log
    assert any(k == "label" and "stopped" in t for k, t in log)

    jobs.set_alternatives([{"clip": str(tmp_path / "a.npz"), "caption": "walk", "score": 0.8,
                            "source": "BN", "licence": "CC BY-NC-ND 4.0",
                            "commercial_ok": False}], target=arm.name, prompt="walk",
                          warnings=["odd prompt"])
    log = _draw_all(ctx)
    assert ("label", "CC BY-NC-ND 4.0 (non-commercial)") in log


def test_generate_panel_shows_the_model_licence_and_variations(make_armature, tmp_path):
    from anima.operators import jobs
    ctx = bpy.context
    make_armature()
    settings = ctx.scene.anima
    assert settings.model == "starter"                  # the default, and it says so
    log = _draw_all(ctx)
    assert ("prop", "model") in log and ("prop", "variations") in log
    assert ("label", "CC BY-NC 4.0: non-commercial use only") in log
    assert [t for k, t in log if k == "operator"].count("anima.generate") == 2  # + Find in Library
    settings.model = "clean"
    assert ("label", "CMU data: commercial use OK") in _draw_all(ctx)

    jobs.set_alternatives([{"clip": str(tmp_path / f"v{k}.npz"), "caption": "walk",
                            "name": f"variation {k + 1} (seed {10 + k})", "seed": 10 + k,
                            "source": "text2motion:clean", "licence": "CMU",
                            "commercial_ok": True} for k in range(3)], prompt="walk")
    log = _draw_all(ctx)
    assert ("label", "variation 3 (seed 12)") in log
    assert not any(k == "label" and t.startswith("score") for k, t in log)


def test_edit_motion_panel_offers_every_edit(make_armature):
    from anima.operators import retarget
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    import retarget_accuracy as RA
    arm = make_armature()
    retarget.apply_clip_to_armature(arm, RA.library_clip("walk"), frame_start=1)
    scene = bpy.context.scene
    scene.use_preview_range, scene.frame_preview_start, scene.frame_preview_end = True, 10, 30
    log = _draw_all(bpy.context)
    for op in ("anima.inbetween", "anima.regenerate_range", "anima.continue_motion",
               "anima.edit_body_part", "anima.clean_keys", "anima.retime", "anima.make_loop",
               "anima.follow_path"):
        assert ("operator", op) in log, op
    assert ("label", "Frames: preview range 10-30") in log


def test_prompt_suggestions_list_what_the_model_knows():
    from anima.operators import generate
    settings = bpy.context.scene.anima
    # the prompt field's search callback (Blender calls it while the user types)
    assert generate._prompt_search(settings, bpy.context, "kick")
    every = generate.prompt_suggestions("starter", "")
    assert len(every) >= 20 and any("walk" in s for s in every)
    waves = generate.prompt_suggestions("starter", "wav")
    assert waves and all("wav" in s.lower() for s in waves)
    clean = generate.prompt_suggestions("clean", "")
    assert not any("bow" in s.lower() for s in clean)       # clean has no Bandai actions
    assert generate.prompt_suggestions("starter", "zzzz") == []
    # styles the model saw most come first (its card's training coverage): elderly before happy
    walks = generate.prompt_suggestions("starter", "a person walks")
    first = {w: next(i for i, s in enumerate(walks) if w in s) for w in ("elderly", "happily")}
    assert first["elderly"] < first["happily"], walks


def test_main_panel_says_when_the_backend_cannot_start(tmp_path):
    """No interpreter (a user who installed the zip and not yet the backend) or a missing
    one: the panel says what to do and opens the preferences; a working one: nothing."""
    from anima.panels import main
    prefs = bpy.context.preferences.addons["anima"].preferences
    old = prefs.python_path
    try:
        prefs.python_path = str(tmp_path / "gone" / "python")
        main._SETUP_HINT["at"] = -1e9
        log = _draw_all(bpy.context)
        assert ("operator", "preferences.addon_show") in log
        assert any(k == "label" and "interpreter not found" in t for k, t in log)
        prefs.python_path = sys.executable
        main._SETUP_HINT["at"] = -1e9
        assert ("operator", "preferences.addon_show") not in _draw_all(bpy.context)
    finally:
        prefs.python_path = old
        main._SETUP_HINT["at"] = -1e9
