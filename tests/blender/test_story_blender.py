"""Story to motion in real Blender (operators/story*.py, panels/story.py): the scene read as
the story's map; a story result written as NLA strips, markers and new Actions (what was in
the scene before untouched); regenerating one segment; baking; undo; the panel. Results are
hand-made here from library motion (the `story` job's shape), so no backend is needed; the
end-to-end test runs the real backend once backend/models/story/job.py exists."""
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
import retarget_accuracy as RA  # noqa: E402

pytestmark = [pytest.mark.blender]
STORY_FPS = 20.0
OPTIONS = {"root_mode": "hips", "foot_ik": True, "twist_share": 0.0}
TEXTS = ["walks to the chair", "sits down", "waves"]


# ----------------------------------------------------------------------------- helpers
def _canonical(caption, frames, offset=0):
    from anima.backend.motion.resample import resample
    clip = resample(RA.library_clip(caption, seconds=12.0), STORY_FPS)
    assert clip.num_frames >= offset + frames
    return clip.slice(offset, offset + frames)


def _join(parts):
    from anima.backend.motion.clip import Clip
    return Clip(np.concatenate([p.local_rotations for p in parts]),
                np.concatenate([p.root_translation for p in parts]), STORY_FPS,
                parts[0].skeleton, {"caption": "story"})


def _result(path, bounds, texts=TEXTS, changed=None, partial=False):
    """A `story` result: segments at bounds [(start, end)...], transitions between them."""
    segments = [{"index": i, "text": t, "kind": "act", "action": t, "place": None,
                 "start": a, "end": b, "source": "test", "warnings": []}
                for i, (t, (a, b)) in enumerate(zip(texts, bounds))]
    transitions = [{"between": [i, i + 1], "start": bounds[i][1], "end": bounds[i + 1][0]}
                   for i in range(len(bounds) - 1)]
    return {"fps": STORY_FPS, "frames": bounds[-1][1], "segments": segments,
            "transitions": transitions, "partial": partial, "warnings": ["a test warning"],
            "seed": 0, "licence": "CMU", "commercial_ok": True, "attribution": "",
            "changed": changed or list(range(len(bounds))),
            "artifacts": {"story": str(path)}}


def _first_story(tmp_path):
    clip = _join([_canonical("walk", 40), _canonical("run", 10), _canonical("slow walk", 30),
                  _canonical("run", 10, 10), _canonical("jump, balance", 30)])
    path = clip.save_npz(tmp_path / "story1.npz")
    return clip, _result(path, [(0, 40), (50, 80), (90, 120)])


def _user_data(arm):
    """What the user had before the story: an active action, an NLA track, a marker."""
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    anim = arm.animation_data_create()
    mine = bpy.data.actions.new("MyAction")
    anim.action = mine
    arm.pose.bones["pelvis"].rotation_mode = "QUATERNION"
    arm.keyframe_insert('pose.bones["pelvis"].rotation_quaternion', index=0, frame=1)
    other = bpy.data.actions.new("UserClip")
    anim.action = other
    arm.keyframe_insert('pose.bones["pelvis"].location', index=2, frame=3)
    other_slot = anim.action_slot
    anim.action = mine
    track = anim.nla_tracks.new()
    track.name = "UserTrack"
    strip = track.strips.new("UserStrip", 3, other)
    strip.action_slot = other_slot
    scene.timeline_markers.new("Intro", frame=5)
    return mine, other


def _snapshot(arm):
    anim = arm.animation_data
    scene = bpy.context.scene
    return {"actions": sorted(a.name for a in bpy.data.actions),
            "tracks": [(t.name, [(s.name, s.frame_start, s.frame_end, s.action.name)
                                 for s in t.strips]) for t in anim.nla_tracks],
            "markers": sorted((m.name, m.frame) for m in scene.timeline_markers),
            "active": anim.action.name if anim.action else None,
            "frame_end": scene.frame_end}


def _story_strips(arm):
    track = arm.animation_data.nla_tracks["Anima Story"]
    return sorted(track.strips, key=lambda s: s.frame_start)


def _apply(arm, result):
    from anima.operators import story
    scene = bpy.context.scene
    scene.anima_story.rig = arm
    return story.apply_story_result(result, arm.name, scene.name, 1, OPTIONS)


# ----------------------------------------------------------------------------- scene
def _box(name, size, centre_xy, yaw_deg, lowest_z=0.0):
    bpy.ops.mesh.primitive_cube_add(size=1.0)
    obj = bpy.context.active_object
    obj.name = name
    obj.scale = size
    obj.rotation_euler = (0.0, 0.0, math.radians(yaw_deg))
    obj.location = (centre_xy[0], centre_xy[1], lowest_z + size[2] / 2)
    return obj


def test_scene_to_dict_measures_boxes_and_skips_character_and_floor(make_armature):
    from anima.backend.models.story import schema
    from anima.operators import story_scene
    arm = make_armature("game_engine")
    arm.location = (0.5, -1.0, 0.0)
    arm.rotation_euler = (0.0, 0.0, math.radians(45))
    _box("Floor", (10.0, 10.0, 0.02), (0, 0), 0, lowest_z=-0.02)
    _box("Chair", (0.5, 0.4, 0.9), (2.0, 1.0), 30)
    _box("Table", (1.2, 0.6, 0.75), (-1.0, 3.0), 200)
    _box("Lamp", (0.3, 0.3, 0.3), (1.0, -2.0), 0, lowest_z=2.0)
    _box("Hidden", (1, 1, 1), (5, 5), 0).hide_set(True)
    _box("Body", (0.4, 0.3, 1.7), (0.5, -1.0), 0).parent = arm        # the character's own
    skin = _box("Skin", (0.4, 0.3, 1.7), (0.6, -1.0), 0)             # deformed by the rig
    skin.modifiers.new("Armature", "ARMATURE").object = arm
    bpy.ops.object.empty_add(location=(0.0, -4.0, 0.0), rotation=(0, 0, math.radians(-90)))
    bpy.context.active_object.name = "Door"
    bpy.context.view_layer.objects.active = arm

    d = story_scene.scene_to_dict(bpy.context, arm)
    objs = {o["name"]: o for o in d["objects"]}
    assert sorted(objs) == ["Chair", "Door", "Lamp", "Table"]
    chair, table, lamp, door = objs["Chair"], objs["Table"], objs["Lamp"], objs["Door"]
    assert chair["position"] == pytest.approx([2.0, 1.0, 0.0], abs=1e-5)
    assert chair["size"] == pytest.approx([0.5, 0.4, 0.9], abs=1e-5)    # its own footprint
    assert chair["yaw"] == pytest.approx(30.0, abs=1e-4) and chair["obstacle"] is True
    assert table["yaw"] == pytest.approx(-160.0, abs=1e-4)
    assert table["size"] == pytest.approx([1.2, 0.6, 0.75], abs=1e-5)
    assert table["position"] == pytest.approx([-1.0, 3.0, 0.0], abs=1e-5)
    assert lamp["position"][2] == pytest.approx(2.0, abs=1e-5) and lamp["obstacle"] is False
    assert door == {"name": "Door", "position": pytest.approx([0.0, -4.0, 0.0], abs=1e-6),
                    "yaw": pytest.approx(-90.0), "size": [0.0, 0.0, 0.0], "obstacle": False}
    ch = d["character"]
    assert ch["yaw"] == pytest.approx(45.0, abs=1e-4)
    hips = arm.matrix_world @ arm.pose.bones["pelvis"].head
    assert ch["position"] == pytest.approx([hips.x, hips.y], abs=1e-5)
    assert np.hypot(ch["position"][0] - 0.5, ch["position"][1] + 1.0) < 0.1
    # Posed: the hips moved 0.3 m along the rig's own X, the start follows them.
    arm.pose.bones["pelvis"].location = (0.3, 0.0, 0.0)
    bpy.context.view_layer.update()
    moved = story_scene.scene_to_dict(bpy.context, arm)["character"]["position"]
    assert np.hypot(moved[0] - ch["position"][0], moved[1] - ch["position"][1]) \
        == pytest.approx(0.3, abs=0.01)
    parsed = schema.Scene.from_dict(d)                      # the backend accepts it as is
    assert parsed.get("Chair").obstacle and not parsed.get("Door").obstacle
    with pytest.raises(ValueError, match="armature"):
        story_scene.scene_to_dict(bpy.context, bpy.data.objects["Chair"])


# ----------------------------------------------------------------------------- writing
def test_story_result_becomes_strips_markers_and_new_actions(make_armature, tmp_path):
    from anima.operators import retarget, rig_motion
    arm = make_armature("game_engine")
    mine, other = _user_data(arm)
    before = _snapshot(arm)
    clip, result = _first_story(tmp_path)
    track = _apply(arm, result)
    assert track.name == "Anima Story"
    strips = _story_strips(arm)
    assert [s.name for s in strips] == ["01 walks to the chair", "01-02 transition",
                                        "02 sits down", "02-03 transition", "03 waves"]
    # 20 fps story on a 30 fps scene from frame 1: canonical frame c at 1 + 1.5 c.
    assert [s.frame_start for s in strips] == [1, 61, 76, 121, 136]
    assert strips[-1].frame_end == 1 + round(119 * 1.5)
    assert all(a.frame_end <= b.frame_start for a, b in zip(strips, strips[1:]))
    new_actions = {s.action.name for s in strips}
    assert len(new_actions) == 5 and not new_actions & set(before["actions"])
    assert all(s.action["anima_story_piece"] for s in strips)
    scene = bpy.context.scene
    markers = sorted((m.frame, m.name) for m in scene.timeline_markers)
    assert markers == [(1, "walks to the chair"), (5, "Intro"), (76, "sits down"),
                       (136, "waves")]
    anim = arm.animation_data
    assert anim.action is None and mine.use_fake_user                 # the NLA plays
    user = anim.nla_tracks["UserTrack"]
    assert [(s.name, s.action) for s in user.strips] == [("UserStrip", other)]
    assert set(before["actions"]) <= {a.name for a in bpy.data.actions}
    assert "a test warning" in scene.anima_story.warnings
    assert json.loads(scene.anima_story.layout_json)["armature"] == arm.name

    # The strips play the story clip as one retarget of the whole clip would.
    twin = bpy.data.objects.new("Twin", arm.data)
    scene.collection.objects.link(twin)
    twin.location = arm.location
    bpy.context.view_layer.update()                  # gives the new object its pose
    retarget.apply_clip_to_armature(twin, clip, frame_start=1, scene=scene, **OPTIONS)
    frames = [1, 30, 61, 70, 76, 121, 150, 179]
    _r0, pos0 = rig_motion.evaluated_world_pose(arm, frames)
    _r1, pos1 = rig_motion.evaluated_world_pose(twin, frames)
    worst = np.abs(pos0 - pos1).max()
    print(f"story strips vs whole-clip retarget: {worst * 1000:.4f} mm")
    assert worst < 1e-4

    # Making the story again replaces the story (track, markers, its actions), nothing else.
    _apply(arm, result)
    assert [t.name for t in anim.nla_tracks] == ["UserTrack", "Anima Story"]
    assert sorted(m.name for m in scene.timeline_markers) == sorted(TEXTS + ["Intro"])
    assert sum(1 for a in bpy.data.actions if a.get("anima_story_piece")) == 5
    assert not new_actions & {a.name for a in bpy.data.actions}


def test_bad_results_change_nothing(make_armature, tmp_path):
    from anima.operators import story_nla
    arm = make_armature("game_engine")
    _user_data(arm)
    _clip, good = _first_story(tmp_path)
    before = _snapshot(arm)
    bad_overlap = dict(good, transitions=[{"between": [0, 1], "start": 30, "end": 55}])
    gone = dict(good, artifacts={"story": str(tmp_path / "nope.npz")})
    too_long = _result(good["artifacts"]["story"], [(0, 40), (50, 80), (90, 500)])
    for result, message in [(bad_overlap, "overlaps"), (gone, "missing"),
                            (too_long, "outside"), (dict(good, segments=[]), "no segments")]:
        with pytest.raises(ValueError, match=message):
            _apply(arm, result)
        assert _snapshot(arm) == before
    with pytest.raises(ValueError, match="no story track"):
        story_nla.bake_story(arm, bpy.context.scene, None)
    assert _snapshot(arm) == before


def test_regenerate_replaces_only_three_strips(make_armature, tmp_path):
    from anima.operators import story, story_nla
    arm = make_armature("game_engine")
    _user_data(arm)
    clip, result = _first_story(tmp_path)
    _apply(arm, result)
    old = {s.name: (s.action, s.frame_start, s.frame_end) for s in _story_strips(arm)}
    # Segment 2 comes back 10 canonical frames (15 scene frames) longer, with new text.
    new_clip = _join([clip.slice(0, 40), _canonical("run/jog", 10),
                      _canonical("jump, balance", 40, 30), _canonical("run/jog", 10, 10),
                      clip.slice(90, 120)])
    path = new_clip.save_npz(tmp_path / "story2.npz")
    texts = [TEXTS[0], "sits down slowly", TEXTS[2]]
    new = _result(path, [(0, 40), (50, 90), (100, 130)], texts, changed=[1])
    scene = bpy.context.scene
    layout = json.loads(scene.anima_story.layout_json)
    user_before = [(t.name, [(s.name, s.action.name) for s in t.strips])
                   for t in arm.animation_data.nla_tracks if t.name != "Anima Story"]
    story.apply_regenerated(new, arm.name, scene.name, 1, OPTIONS)
    strips = _story_strips(arm)
    assert [s.name for s in strips] == ["01 walks to the chair", "01-02 transition",
                                        "02 sits down slowly", "02-03 transition", "03 waves"]
    first, last = strips[0], strips[-1]
    assert first.action is old["01 walks to the chair"][0]            # the same objects
    assert last.action is old["03 waves"][0]
    assert (first.frame_start, first.frame_end) == old["01 walks to the chair"][1:]
    assert last.frame_start == old["03 waves"][1] + 15 and \
        last.frame_end == old["03 waves"][2] + 15                    # moved, not remade
    for s in strips[1:4]:
        assert all(s.action is not a for a, _s, _e in old.values())
    assert [s.frame_start for s in strips] == [1, 61, 76, 136, 151]
    assert all(a.frame_end <= b.frame_start for a, b in zip(strips, strips[1:]))
    markers = sorted((m.frame, m.name) for m in scene.timeline_markers)
    assert markers == [(1, "walks to the chair"), (5, "Intro"), (76, "sits down slowly"),
                       (151, "waves")]
    assert [(t.name, [(s.name, s.action.name) for s in t.strips])
            for t in arm.animation_data.nla_tracks if t.name != "Anima Story"] == user_before
    assert json.loads(scene.anima_story.layout_json)["frame_start"] == layout["frame_start"]
    assert scene.anima_story.regenerations == 1
    assert sum(1 for a in bpy.data.actions if a.get("anima_story_piece")) == 5

    # Segment 1 made again 10 frames shorter: the later strips move 15 frames back.
    kept = {s.name: s.action for s in _story_strips(arm)[2:]}
    third = _join([clip.slice(0, 30), _canonical("run/jog", 10), new_clip.slice(50, 130)])
    path = third.save_npz(tmp_path / "story3.npz")
    story.apply_regenerated(_result(path, [(0, 30), (40, 80), (90, 120)], texts,
                                    changed=[0]), arm.name, scene.name, 0, OPTIONS)
    strips = _story_strips(arm)
    assert [s.frame_start for s in strips] == [1, 46, 61, 121, 136]
    assert all(s.action is kept[s.name] for s in strips[2:])
    assert sorted((m.frame, m.name) for m in scene.timeline_markers) == [
        (1, "walks to the chair"), (5, "Intro"), (61, "sits down slowly"), (136, "waves")]

    # After a bake, making the last segment again lets the story play again (bake kept).
    baked = story_nla.bake_story(arm, scene, json.loads(scene.anima_story.layout_json))
    kept = [s.action for s in _story_strips(arm)[:3]]
    story.apply_regenerated(_result(path, [(0, 30), (40, 80), (90, 120)], texts,
                                    changed=[2]), arm.name, scene.name, 2, OPTIONS)
    anim = arm.animation_data
    assert anim.action is None and not anim.nla_tracks["Anima Story"].mute
    assert baked.use_fake_user and baked.name in bpy.data.actions
    assert [s.action for s in _story_strips(arm)[:3]] == kept


def test_partial_result_applies_the_segments_made(make_armature, tmp_path):
    arm = make_armature("game_engine")
    clip, result = _first_story(tmp_path)
    part = clip.slice(0, 80).save_npz(tmp_path / "partial.npz")
    _apply(arm, _result(part, [(0, 40), (50, 80)], TEXTS[:2], partial=True))
    assert [s.name for s in _story_strips(arm)] == ["01 walks to the chair",
                                                    "01-02 transition", "02 sits down"]
    warnings = bpy.context.scene.anima_story.warnings.splitlines()
    assert warnings[0] == "Cancelled: only the first 2 segment(s) were made"


def test_low_frame_rate_drops_transitions_shorter_than_a_frame(make_armature, tmp_path):
    arm = make_armature("game_engine")
    bpy.context.scene.render.fps = 10
    clip, result = _first_story(tmp_path)
    _apply(arm, _result(result["artifacts"]["story"], [(0, 41), (42, 80), (90, 120)]))
    strips = _story_strips(arm)
    assert [s.name for s in strips] == ["01 walks to the chair", "02 sits down",
                                        "02-03 transition", "03 waves"]
    assert all(a.frame_end <= b.frame_start for a, b in zip(strips, strips[1:]))


def test_llm_settings_come_from_the_preferences_not_the_blend_file(fresh_scene):
    from anima import preferences
    from anima.operators import story
    prefs = preferences.get_prefs(bpy.context)
    prefs.story_llm_url, prefs.story_llm_model = " http://127.0.0.1:8080/v1 ", "qwen"
    prefs.story_llm_api_key, prefs.story_llm_timeout_s = "secret", 30.0
    assert story.llm_settings(bpy.context) == {"url": "http://127.0.0.1:8080/v1",
                                               "model": "qwen", "api_key": "secret",
                                               "timeout_s": 30.0}
    assert "llm" not in fresh_scene.anima_story.bl_rna.properties     # nothing in the .blend


def test_bake_matches_the_nla_and_undo_restores_the_scene(make_armature, tmp_path):
    from anima.operators import rig_motion, story
    arm = make_armature("game_engine")
    _user_data(arm)
    _clip, result = _first_story(tmp_path)
    bpy.ops.ed.undo_push(message="before the story")
    before = _snapshot(arm)
    _apply(arm, result)
    bpy.ops.ed.undo_push(message="Anima: make story motion")     # what the job pump does
    frames = [1, 20, 60, 61, 62, 75.5, 100, 136, 170, 179]
    rot_nla, pos_nla = rig_motion.evaluated_world_pose(arm, frames)
    actions = {a.name for a in bpy.data.actions}
    assert {"REGISTER", "UNDO"} <= story.ANIMA_OT_story_bake.bl_options
    assert bpy.ops.anima.story_bake() == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Bake Story")       # what Blender does for an UNDO operator
    baked = [a for a in bpy.data.actions if a.name not in actions]
    assert len(baked) == 1 and arm.animation_data.action == baked[0]
    track = arm.animation_data.nla_tracks["Anima Story"]
    assert track.mute and len(track.strips) == 5                   # kept, muted
    assert baked[0].frame_range[:] == pytest.approx((1, 179))
    rot_bake, pos_bake = rig_motion.evaluated_world_pose(arm, frames)
    mm = 1000 * np.abs(pos_bake - pos_nla).max()
    deg = np.degrees(2 * np.arccos(np.clip(np.abs(np.sum(rot_bake * rot_nla, -1)), 0, 1))).max()
    print(f"baked vs NLA: {mm:.5f} mm, {deg:.5f} deg")
    assert mm < 0.01 and deg < 0.01

    name = arm.name
    bpy.ops.ed.undo()                        # the bake
    arm = bpy.data.objects[name]
    assert arm.animation_data.action is None
    assert not arm.animation_data.nla_tracks["Anima Story"].mute
    bpy.ops.ed.undo()                        # the story (one step)
    arm = bpy.data.objects[name]
    assert _snapshot(arm) == before
    assert bpy.context.scene.anima_story.layout_json == ""


# ----------------------------------------------------------------------------- operators, panel
def test_operators_check_their_input_before_any_job(make_armature):
    arm = make_armature("game_engine")
    _user_data(arm)
    bpy.ops.object.empty_add(location=(2, 0, 0))
    bpy.context.active_object.name = "Door"
    bpy.context.view_layer.objects.active = arm
    settings = bpy.context.scene.anima_story
    before = _snapshot(arm)
    with pytest.raises(RuntimeError, match="Type the story"):
        bpy.ops.anima.story_plan()
    with pytest.raises(RuntimeError, match="no segments"):
        bpy.ops.anima.story_make()
    assert bpy.ops.anima.story_segment_add() == {"FINISHED"}
    assert bpy.ops.anima.story_segment_add() == {"FINISHED"}
    row = settings.segments[1]
    row.text, row.kind, row.place = "walks to the window", "move", "Window"
    with pytest.raises(RuntimeError, match="place 'Window' is not an object of the scene"):
        bpy.ops.anima.story_make()
    row.place = "Door"
    settings.active_index = 1
    assert bpy.ops.anima.story_segment_move(direction="UP") == {"FINISHED"}
    assert [s.text for s in settings.segments] == ["walks to the window", "a person waves"]
    with pytest.raises(RuntimeError, match="Make the story's motion first"):
        bpy.ops.anima.story_regenerate_segment()
    with pytest.raises(RuntimeError, match="no story track"):
        bpy.ops.anima.story_bake()
    assert bpy.ops.anima.story_segment_remove() == {"FINISHED"}
    assert [s.text for s in settings.segments] == ["a person waves"]
    assert _snapshot(arm) == before


def test_story_panel_draws_in_every_state(make_armature, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_panels import RecordingLayout                 # the panels' recording layout
    from anima.panels import story as story_panel

    class ListLayout(RecordingLayout):
        def template_list(self, listtype, list_id, data, prop, active_data, active_prop,
                          **kwargs):
            assert getattr(bpy.types, listtype, None) is not None, listtype
            self._check_prop(data, prop)
            self._check_prop(active_data, active_prop)
            self.log.append(("list", prop))

        def _child(self, *args, **kwargs):
            return ListLayout(self.log)

        row = column = box = split = _child

    def draw():
        log = []
        panel = type("P", (), {})()
        panel.layout = ListLayout(log)
        story_panel.ANIMA_PT_story.draw(panel, bpy.context)
        return log

    arm = make_armature("game_engine")
    assert hasattr(bpy.types, "ANIMA_PT_story") and hasattr(bpy.types, "ANIMA_UL_story_segments")
    log = draw()
    assert ("list", "segments") in log and ("operator", "anima.story_plan") in log
    assert ("operator", "anima.story_make") in log and ("prop", "story_llm_url") not in log
    settings = bpy.context.scene.anima_story
    settings.scheduler = "llm"
    bpy.ops.anima.story_segment_add()
    settings.warnings = "Cancelled: only the first 1 segment(s) were made\nplace unknown"
    log = draw()
    assert ("prop", "story_llm_url") in log and ("prop", "story_llm_api_key") not in log
    assert ("prop", "place") in log
    assert any(k == "label" and "Cancelled" in t for k, t in log)
    st = bpy.context.window_manager.anima
    st.busy, st.progress = True, 0.5
    try:
        log = draw()
    finally:
        st.busy, st.progress = False, 0.0
    assert ("operator", "anima.cancel") in log and ("progress", 0.5) in log
    del arm


# ----------------------------------------------------------------------------- end to end


def test_story_end_to_end_through_the_backend(session, make_armature):
    scene = bpy.context.scene
    scene.render.fps = 30
    arm = make_armature("game_engine")
    for name, xy in (("Chair", (2.5, -1.0)), ("Door", (-2.0, -3.0)), ("Table", (0.0, 3.0))):
        _box(name, (0.6, 0.6, 0.8), xy, 0)
    bpy.context.view_layer.objects.active = arm
    settings = scene.anima_story
    settings.story = ("A tired man walks to the Chair and sits down. Then he goes back to "
                      "the Door and waves. Finally he walks to the Table.")
    assert bpy.ops.anima.story_plan() == {"FINISHED"}
    assert len(settings.segments) >= 3
    places = {s.place for s in settings.segments}
    assert {"Chair", "Door", "Table"} <= places
    assert bpy.ops.anima.story_make() == {"FINISHED"}
    strips = _story_strips(arm)
    segs = [s for s in strips if "transition" not in s.name]
    assert len(segs) == len(settings.segments)
    assert all(a.frame_end <= b.frame_start for a, b in zip(strips, strips[1:]))
    assert len([m for m in scene.timeline_markers]) == len(segs)
    print("story strips:", [(s.name, s.frame_start, s.frame_end) for s in strips])
    result = json.loads(settings.result_json)
    assert not result["partial"] and result["artifacts"]["story"]
    settings.active_index = 1
    before = {s.name: s.action for s in strips}
    second = segs[1].name
    assert bpy.ops.anima.story_regenerate_segment() == {"FINISHED"}
    after = {s.name: s.action for s in _story_strips(arm)}
    remade = {n for n in after if before.get(n) is not after[n]}
    near = {second} | {n for n in after if n.startswith(("01-02", "02-03"))}
    assert second in remade and remade <= near, remade
    assert all(after[n] is before[n] for n in after if n not in near)
    assert bpy.ops.anima.story_bake() == {"FINISHED"}
    assert arm.animation_data.action.get("anima_story_baked") == "Anima Story"


def test_segment_rows_keep_overlay_and_source(fresh_scene):
    """A planned segment survives the list: overlay ("waves while walking") and source."""
    from anima.operators import story_scene
    seg = {"text": "walks to the door while waving", "kind": "move",
           "action": "a man walks forward", "style": "happy", "place": "Door", "facing": None,
           "seconds": None, "speed": 1.0, "gait": "walk", "sentence": 2,
           "overlay": "a man waves", "source": "generator"}
    item = fresh_scene.anima_story.segments.add()
    story_scene.fill_segment(item, seg)
    assert story_scene.segment_to_dict(item) == seg
    act = dict(seg, kind="act", text="dances", action="a man dances", place=None,
               overlay=None, source="library")
    story_scene.fill_segment(item, act)
    assert story_scene.segment_to_dict(item) == act
