"""Story to motion: the story text becomes an editable list of timed, placed segments (Plan),
the list becomes motion on the character as NLA strips (Make Motion), one segment can be made
again (Regenerate Segment) and the whole story baked into one Action for export (Bake).

Scene.anima_story (AnimaStory) keeps the text, the scheduler choice, the segment list and
what the last Make wrote (its result, story clip file and strip layout, JSON). Plan, Make and
Regenerate submit a backend job (`story_plan` / `story`) and return at once; the result is
applied on the main thread as one undo step (blocking in background mode). The scene is read
as the story's map by story_scene.py and written by story_nla.py.
"""
from __future__ import annotations

import json
import os

import bpy
from bpy.props import (CollectionProperty, EnumProperty, FloatProperty,
                       IntProperty, PointerProperty, StringProperty)

from ..backend.models.story.schedule import MAX_STORY_CHARS
from . import jobs, story_nla, story_scene

KIND_ITEMS = [("move", "Move", "Go to a place of the scene"),
              ("act", "Act", "An action where the character stands"),
              ("pose", "Pose", "A held pose: sit, stand, idle, turn, lie")]
GAIT_ITEMS = [("walk", "Walk", ""), ("run", "Run", "")]
SOURCE_ITEMS = [("generator", "Generator", "New motion from the text-to-motion model"),
                ("library", "Library", "The captured clip whose caption is nearest the action "
                 "(the shipped library and the ones you imported)")]
SCHEDULER_ITEMS = [("offline", "Offline", "The built-in rule-based planner (no network)"),
                   ("llm", "Language Model", "An OpenAI-compatible language model server "
                                             "(URL, model and key below)")]


def _place_search(self, context, edit_text):
    scene = context.scene if context else None
    names = [o.name for o in (scene.objects if scene else ())
             if o.type in {"MESH", "EMPTY"}]
    typed = (edit_text or "").lower()
    return [n for n in names if typed in n.lower()][:50]


class AnimaStorySegment(bpy.types.PropertyGroup):
    """One row of the story: what the character does (schema.Segment)."""
    text: StringProperty(name="Text", description="The words of the story (the strip's name)")
    kind: EnumProperty(name="Kind", items=KIND_ITEMS, default="act")
    action: StringProperty(name="Action", description="What the generator is given (act), "
                           "the gait text (move), the pose name (pose)")
    place: StringProperty(name="Place", description="Scene object to go to / act at",
                          search=_place_search)
    seconds: FloatProperty(name="Seconds", description="How long (0: automatic)", default=0.0,
                           min=0.0, max=60.0)
    speed: FloatProperty(name="Speed", description="Share of the gait's natural speed",
                         default=1.0, min=0.3, max=2.5)
    gait: EnumProperty(name="Gait", items=GAIT_ITEMS, default="walk")
    facing: StringProperty(name="Facing", description="What to face at the end: a scene "
                           "object, or an angle in degrees (empty: keep)", search=_place_search)
    style: StringProperty(name="Style", description="How (e.g. 'tired'); empty: normal")
    sentence: IntProperty(name="Sentence", min=0)
    overlay: StringProperty(name="At the Same Time", description="An upper-body action done "
                            "during this segment, e.g. 'a person waves' (empty: none)")
    source: EnumProperty(name="Source", items=SOURCE_ITEMS, default="generator",
                         description="Where an action's motion comes from")


def _is_armature(self, obj):
    return obj.type == "ARMATURE"


class AnimaStory(bpy.types.PropertyGroup):
    """Scene.anima_story: the story, its segments and what the last Make wrote."""
    story: StringProperty(name="Story", description="What happens, e.g. 'A tired man walks to "
                          "the Chair and sits down. Then he goes back to the Door and waves.'")
    scheduler: EnumProperty(name="Planner", items=SCHEDULER_ITEMS, default="offline")
    segments: CollectionProperty(type=AnimaStorySegment)
    active_index: IntProperty(name="Segment")
    rig: PointerProperty(name="Character", type=bpy.types.Object, poll=_is_armature,
                         description="Armature the story is about (empty: the active one)")
    frame_start: IntProperty(name="Start Frame", default=1)
    seed: IntProperty(name="Seed", default=0, min=0)
    warnings: StringProperty(name="Warnings")
    clip_path: StringProperty(name="Story Motion", subtype="FILE_PATH",
                              description="The last result's canonical story clip (.npz)")
    result_json: StringProperty()        # the last `story` result
    layout_json: StringProperty()        # story_nla layout: track, markers, start frame
    regenerations: IntProperty(min=0)    # seeds of Regenerate Segment differ each time


def story_armature(context):
    """The story's chosen rig, else the active armature (ValueError)."""
    rig = context.scene.anima_story.rig
    if rig is not None:
        if context.scene.objects.get(rig.name) != rig:
            raise ValueError(f"The story's character {rig.name!r} is not in this scene")
        return rig
    from .generate import active_armature
    return active_armature(context)


LLM_FIELDS = ("url", "model", "api_key", "timeout_s")


def llm_settings(context) -> dict:
    """The language-model endpoint from the add-on preferences (`story_llm_<field>`): kept
    out of the .blend file, so a shared file never carries the key."""
    from .. import preferences
    prefs = preferences.get_prefs(context)
    out = {f: getattr(prefs, "story_llm_" + f) for f in LLM_FIELDS}
    out.update(url=str(out["url"]).strip(), model=str(out["model"]).strip(),
               timeout_s=float(out["timeout_s"]))
    return out


def _last(settings, key: str):
    try:
        return json.loads(getattr(settings, key) or "null")
    except ValueError:
        return None


def _warn(settings, warnings) -> None:
    settings.warnings = "\n".join(str(w) for w in warnings if str(w).strip())


def _options(scene) -> dict:
    from .generate import options_from_settings
    opts = options_from_settings(scene.anima, scene)
    return {k: opts[k] for k in ("root_mode", "foot_ik", "twist_share")}


def _keep_result(settings, result: dict, layout: dict) -> None:
    settings.clip_path = jobs.local_path((result.get("artifacts") or {}).get("story"), result)
    settings.result_json = json.dumps(result)
    settings.layout_json = json.dumps(layout)
    warnings = list(result.get("warnings") or [])
    if result.get("partial"):
        done = len(result.get("segments") or [])
        warnings.insert(0, f"Cancelled: only the first {done} segment(s) were made")
    _warn(settings, warnings)


# ----------------------------------------------------------------------------- appliers
def apply_plan(result: dict, scene_name: str) -> None:
    """Fill the segment list from a `story_plan` result."""
    schedule = story_scene.schema().Schedule.from_dict((result or {}).get("schedule"))
    settings = bpy.data.scenes[scene_name].anima_story
    settings.segments.clear()
    for seg in schedule.segments:
        story_scene.fill_segment(settings.segments.add(), seg.to_dict())
    settings.active_index = 0
    _warn(settings, list(schedule.warnings) + [w for w in result.get("warnings") or []
                                               if w not in schedule.warnings])


def apply_story_result(result: dict, target: str, scene_name: str, frame_start: int,
                       options: dict):
    """Write a `story` result on armature `target` (replacing the story made before on it);
    returns the NLA track."""
    scene = bpy.data.scenes[scene_name]
    settings = scene.anima_story
    old = _last(settings, "layout_json")
    replace = old if isinstance(old, dict) and old.get("armature") == target else None
    track, layout = story_nla.apply_story(bpy.data.objects.get(target), scene, result,
                                          frame_start=frame_start, options=options,
                                          replace=replace)
    _keep_result(settings, result, layout)
    return track


def apply_regenerated(result: dict, target: str, scene_name: str, index: int,
                      options: dict):
    scene = bpy.data.scenes[scene_name]
    settings = scene.anima_story
    layout = _last(settings, "layout_json")
    arm = bpy.data.objects.get(target)
    layout = story_nla.regenerate_segment(arm, scene, result, layout, index, options)
    _keep_result(settings, result, layout)
    settings.regenerations += 1
    return story_nla.find_track(arm, layout)


# ----------------------------------------------------------------------------- operators
class _StoryJob:
    bl_options = {"REGISTER"}

    def submit(self, context, kind: str, params: dict, label: str, on_result, undo: str):
        session = jobs.get_session()
        if session.busy:
            self.report({"ERROR"}, "Anima is already working on a job: wait or cancel it")
            return {"CANCELLED"}
        try:
            record = session.submit(kind, params, label=label, on_result=on_result,
                                    undo_message=undo, context=context)
        except jobs.JobFailed as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        if record.done:                   # background mode: applied (or failed) already
            if record.error:
                self.report({"ERROR"}, record.error)
                return {"CANCELLED"}
            self.report({"INFO"}, f"{label}: done")
        return {"FINISHED"}


class ANIMA_OT_story_plan(_StoryJob, bpy.types.Operator):
    """Split the story into timed segments placed in this scene (editable in the list)"""
    bl_idname = "anima.story_plan"
    bl_label = "Plan Story"

    def execute(self, context):
        settings = context.scene.anima_story
        story = " ".join(settings.story.split())
        try:
            if not story:
                raise ValueError("Type the story first")
            if len(story) > MAX_STORY_CHARS:
                raise ValueError(f"The story is {len(story):,} characters; at most "
                                 f"{MAX_STORY_CHARS:,}: split it into parts")
            scene_dict = story_scene.scene_to_dict(context, story_armature(context))
        except ValueError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        params = {"story": story, "scene": scene_dict, "scheduler": settings.scheduler,
                  "allow_online": bool(getattr(bpy.app, "online_access", True)),
                  "model": "starter"}
        if settings.scheduler == "llm":
            params["llm"] = llm_settings(context)
        scene_name = context.scene.name
        return self.submit(context, "story_plan", params, f"plan: {story[:40]}",
                           lambda result: apply_plan(result, scene_name), "Anima: plan story")


def _story_params(context, settings, arm) -> tuple[dict, dict]:
    scene_dict = story_scene.scene_to_dict(context, arm)
    schedule = story_scene.checked_schedule(settings, scene_dict)
    return {"schedule": schedule, "scene": scene_dict, "model": str(context.scene.anima.model),
            "seed": int(settings.seed)}, scene_dict


class ANIMA_OT_story_make(_StoryJob, bpy.types.Operator):
    """Make the motion of every segment and place it on the character as NLA strips"""
    bl_idname = "anima.story_make"
    bl_label = "Make Motion"

    def execute(self, context):
        settings = context.scene.anima_story
        try:
            arm = story_armature(context)
            params, _scene = _story_params(context, settings, arm)
        except ValueError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        target, scene_name = arm.name, context.scene.name
        frame_start, options = int(settings.frame_start), _options(context.scene)

        def on_result(result):
            return apply_story_result(result, target, scene_name, frame_start, options)

        return self.submit(context, "story", params, f"story on {target}", on_result,
                           "Anima: make story motion")


class ANIMA_OT_story_regenerate_segment(_StoryJob, bpy.types.Operator):
    """Make the selected segment again (and the transitions around it); the other strips
    keep their motion and move in time if its length changes"""
    bl_idname = "anima.story_regenerate_segment"
    bl_label = "Regenerate Segment"

    def execute(self, context):
        from ..backend.motion.clip import Clip
        from ..backend.motion.wire import clip_to_wire
        settings = context.scene.anima_story
        index = settings.active_index
        try:
            arm = story_armature(context)
            last, layout = _last(settings, "result_json"), _last(settings, "layout_json")
            if not isinstance(last, dict) or not isinstance(layout, dict):
                raise ValueError("Make the story's motion first")
            if layout.get("armature") != arm.name:
                raise ValueError(f"The story was made on {layout.get('armature')!r}, not "
                                 f"{arm.name!r}")
            if not 0 <= index < len(settings.segments):
                raise ValueError("Select the segment to make again in the list")
            if not os.path.isfile(settings.clip_path):
                raise ValueError(f"The last story motion file is gone ({settings.clip_path}):"
                                 f" Make Motion again")
            story_nla.find_track(arm, layout)
            params, _scene = _story_params(context, settings, arm)
            params["seed"] = int(settings.seed) + 1 + int(settings.regenerations)
            params["previous"] = {"clip": clip_to_wire(Clip.load_npz(settings.clip_path)),
                                  "segments": last.get("segments") or [],
                                  "transitions": last.get("transitions") or [],
                                  "regenerate": [index]}
        except ValueError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        target, scene_name, options = arm.name, context.scene.name, _options(context.scene)

        def on_result(result):
            return apply_regenerated(result, target, scene_name, index, options)

        return self.submit(context, "story", params, f"segment {index + 1} on {target}",
                           on_result, f"Anima: regenerate story segment {index + 1}")


class ANIMA_OT_story_bake(bpy.types.Operator):
    """Bake the story's NLA strips into one new Action (for export); the strips are kept,
    muted"""
    bl_idname = "anima.story_bake"
    bl_label = "Bake Story"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        settings = context.scene.anima_story
        try:
            arm = story_armature(context)
            action = story_nla.bake_story(arm, context.scene, _last(settings, "layout_json"))
        except ValueError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Baked the story into {action.name!r}")
        return {"FINISHED"}


class ANIMA_OT_story_segment_add(bpy.types.Operator):
    """Add a segment after the selected one"""
    bl_idname = "anima.story_segment_add"
    bl_label = "Add Segment"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        settings = context.scene.anima_story
        item = settings.segments.add()
        item.text = item.name = "a person waves"
        item.kind, item.action = "act", "a person waves"
        last = len(settings.segments) - 1
        where = min(settings.active_index + 1, last) if last else 0
        settings.segments.move(last, where)
        settings.active_index = where
        return {"FINISHED"}


class ANIMA_OT_story_segment_remove(bpy.types.Operator):
    """Remove the selected segment"""
    bl_idname = "anima.story_segment_remove"
    bl_label = "Remove Segment"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return len(context.scene.anima_story.segments) > 0

    def execute(self, context):
        settings = context.scene.anima_story
        if not 0 <= settings.active_index < len(settings.segments):
            self.report({"ERROR"}, "Select the segment to remove")
            return {"CANCELLED"}
        settings.segments.remove(settings.active_index)
        settings.active_index = max(0, min(settings.active_index, len(settings.segments) - 1))
        return {"FINISHED"}


class ANIMA_OT_story_segment_move(bpy.types.Operator):
    """Move the selected segment up or down"""
    bl_idname = "anima.story_segment_move"
    bl_label = "Move Segment"
    bl_options = {"REGISTER", "UNDO"}

    direction: EnumProperty(items=[("UP", "Up", ""), ("DOWN", "Down", "")], default="UP")

    def execute(self, context):
        settings = context.scene.anima_story
        i = settings.active_index
        j = i - 1 if self.direction == "UP" else i + 1
        if not (0 <= i < len(settings.segments) and 0 <= j < len(settings.segments)):
            return {"CANCELLED"}
        settings.segments.move(i, j)
        settings.active_index = j
        return {"FINISHED"}


CLASSES = [AnimaStorySegment, AnimaStory, ANIMA_OT_story_plan,
           ANIMA_OT_story_make, ANIMA_OT_story_regenerate_segment, ANIMA_OT_story_bake,
           ANIMA_OT_story_segment_add, ANIMA_OT_story_segment_remove,
           ANIMA_OT_story_segment_move]

PROPS = [(bpy.types.Scene, "anima_story", lambda: PointerProperty(type=AnimaStory))]
