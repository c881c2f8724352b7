"""Generate / apply operators and the scene settings they read.

ANIMA_OT_generate validates everything it can on the Blender side, snapshots the retarget
options and submits a `generate` job (new motion from the text-to-motion model, several seeds
as variations) or, with ``source="LIBRARY"`` ("Find in Library"), a `search` job (the best
matching captured clips). With a UI it returns at once and the event pump
(operators/jobs.py) applies the result later as one undo step; in background mode it blocks
until the result is applied (timers do not run there).
"""
from __future__ import annotations

import os
import unicodedata

import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty,
                       StringProperty)

from . import jobs, retarget

PROMPT_MAX_CHARS = 1000
SECONDS_MAX = 60.0
VARIATIONS_MAX = 8            # the `generate` job's limit

# The shipped text-to-motion models (backend/models/text2motion, assets/models/): identifier,
# name, description (with the licence: the panel shows it next to the choice), icon, number
# (fixed: a dynamic enum stores the number, so the shipped two keep 0 and 1).
MODEL_ITEMS = [
    ("starter", "Starter (non-commercial)",
     "Trained on Bandai-Namco Research Motion (CC BY-NC 4.0) and CMU mocap: the widest range "
     "of actions and styles; the motion it makes may NOT be used commercially", "", 0),
    ("clean", "Clean (commercial use OK)",
     "Trained on commercially usable data only (CMU mocap): fewer actions and no styles, free "
     "for commercial work", "", 1),
]
MODEL_LICENCES = {
    "starter": ("CC BY-NC 4.0: non-commercial use only", False),
    "clean": ("CMU data: commercial use OK", True),
}
_MODEL_ITEMS_SHOWN: list = []   # Blender needs the strings of dynamic items kept alive


def user_model_items(models_dir) -> list[tuple]:
    """Enum items of the fine-tuned checkpoints in `models_dir` (`python -m backend train
    text2motion --init ...`): identifier = the .pt path (what the generate job takes), the
    licence from the summary (.json) next to it; registers each in MODEL_LICENCES."""
    import json
    import zlib
    from pathlib import Path

    items = []
    folder = Path(models_dir)
    for pt in sorted(folder.glob("*.pt")) if folder.is_dir() else []:
        try:
            info = json.loads(pt.with_suffix(".json").read_text(encoding="utf-8"))
            if info.get("family", "text2motion") != "text2motion":
                continue                 # an imported in-betweening or camera model
            licence, ok = str(info["licence"]), bool(info["commercial_ok"])
            origin = f"fine-tuned from '{info.get('init')}'" if info.get("init") else "yours"
        except (OSError, ValueError, KeyError, TypeError):
            licence, ok, origin = "unknown (no summary .json: see its model card)", False, "yours"
        MODEL_LICENCES[str(pt)] = (licence, ok)
        label = f"{pt.stem} ({'commercial use OK' if ok else 'non-commercial'})"
        items.append((str(pt), label, f"Your model {pt.name}, {origin}. Licence: {licence}; "
                      f"commercial use {'allowed' if ok else 'NOT allowed'}", "",
                      2 + zlib.crc32(pt.name.encode("utf-8")) % (1 << 30)))
    return items


def user_model_folders() -> list:
    """Where user checkpoints live: <user data>/models (fine-tuning writes there) and the
    model manager's folder (the extension's user folder when installed as an extension)."""
    from ..backend.paths import user_data_dir
    from . import models
    folders = [user_data_dir() / "models"]
    managed = models.user_models_dir()
    return folders + ([managed] if managed.resolve() != folders[0].resolve() else [])


def model_items(self, context):
    """The shipped models, then every text-to-motion .pt in the user model folders."""
    _MODEL_ITEMS_SHOWN[:] = MODEL_ITEMS + [item for folder in user_model_folders()
                                           for item in user_model_items(folder)]
    return _MODEL_ITEMS_SHOWN


def model_licence(model: str) -> tuple[str, bool]:
    """(licence text, commercial use allowed) of a model choice; user models are looked up
    in their folder when not seen yet; an unknown model is NOT assumed commercial."""
    if model not in MODEL_LICENCES:
        for folder in user_model_folders():
            user_model_items(folder)
    return MODEL_LICENCES.get(model, ("licence unknown", False))


SOURCES = [
    ("GENERATE", "Generate", "New motion from the text-to-motion model, several variations"),
    ("LIBRARY", "Find in Library", "The captured clips whose descriptions match the prompt best"),
]


_SUGGESTIONS: dict[str, list[str]] = {}
SUGGESTIONS_MAX = 30


def prompt_suggestions(model: str, typed: str) -> list[str]:
    """Phrasings of the actions (and styles) `model` knows (its model card, through
    backend/text/catalogue.py) that contain every word typed so far; all of them when
    nothing is typed. Shown by Blender while the user types the prompt."""
    if model not in _SUGGESTIONS:
        from ..backend.text.catalogue import catalogue
        try:
            cat = catalogue(model)
        except Exception:  # noqa: BLE001 - suggestions must never break the panel
            return []
        actions = [ex for a in cat["actions"] for ex in a["examples"][:3]]
        # the styles the model saw most first (a "happy" walk has 2 recordings, "elderly" 30)
        ranked = sorted(cat["styles"], key=lambda st: -(st.get("recordings") or 0))
        styles = [f"a person walks {ex}" for st in ranked for ex in st["examples"][:1]]
        _SUGGESTIONS[model] = list(dict.fromkeys(actions + styles))
    words = typed.lower().split()
    hits = [s for s in _SUGGESTIONS[model] if all(w in s.lower() for w in words)]
    return hits[:SUGGESTIONS_MAX]


def _prompt_search(self, context, edit_text):
    return prompt_suggestions(getattr(self, "model", "starter"), edit_text or "")


class AnimaSettings(bpy.types.PropertyGroup):
    """Per-scene generation and retarget options (Scene.anima)."""
    prompt: StringProperty(name="Prompt", description="Describe the motion, e.g. "
                           "'a person walks forward and waves'; suggestions list what the "
                           "model knows", default="", search=_prompt_search,
                           search_options={"SUGGESTION"})
    seconds: FloatProperty(name="Seconds", description="Length of the motion (0: let the "
                           "backend choose)", default=0.0, min=0.0, max=SECONDS_MAX,
                           subtype="TIME_ABSOLUTE", unit="TIME_ABSOLUTE")
    seed: IntProperty(name="Seed", description="Random seed (same prompt and seed give the "
                      "same motion)", default=0, min=0)
    model: EnumProperty(name="Model", items=model_items, default=0,
                        description="Text-to-motion model used by Generate")
    variations: IntProperty(name="Variations", description="How many versions to generate "
                            "(seeds seed, seed+1, ...); the first is applied, the others are "
                            "listed to pick from", default=4, min=1, max=VARIATIONS_MAX)
    top_k: IntProperty(name="Library Matches", description="How many captured clips Find in "
                       "Library returns", default=5, min=1, max=20)
    root_mode: EnumProperty(name="Root Motion", items=retarget.ROOT_MODES, default="hips")
    foot_ik: BoolProperty(name="Foot Contact", description="Correct the legs so the feet land "
                          "where the source's feet land", default=True)
    twist_share: FloatProperty(name="Twist Bones", description="How much of a limb's twist "
                               "the rig's twist bones take (0: they follow the limb)",
                               default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    use_current_frame: BoolProperty(name="Start at Current Frame", default=True)
    frame_start: IntProperty(name="Start Frame", default=1)
    push_to_nla: BoolProperty(name="Push to NLA", description="Put the new action in an NLA "
                              "track instead of making it the active action", default=False)
    match_scene_fps: BoolProperty(name="Resample to Scene FPS", default=True,
                                  description="Resample the motion to the scene frame rate "
                                              "(otherwise keys are spread to keep the timing)")
    extend_scene: BoolProperty(name="Extend Scene Range", default=True,
                               description="Make the scene end frame cover the new motion")


def options_from_settings(settings, scene) -> dict:
    """Keyword arguments for retarget.apply_clip_to_armature, frozen at submit time."""
    return dict(
        root_mode=settings.root_mode, foot_ik=settings.foot_ik,
        twist_share=settings.twist_share,
        frame_start=scene.frame_current if settings.use_current_frame else settings.frame_start,
        push_to_nla=settings.push_to_nla, match_scene_fps=settings.match_scene_fps,
        extend_scene=settings.extend_scene)


def validate_prompt(prompt: str) -> str:
    """The cleaned prompt, or ValueError with a message for the user."""
    text = " ".join(unicodedata.normalize("NFC", prompt or "").split())
    if not text:
        raise ValueError("Type a prompt describing the motion first")
    if len(text) > PROMPT_MAX_CHARS:
        raise ValueError(f"The prompt is too long ({len(text)} characters; at most "
                         f"{PROMPT_MAX_CHARS}): describe one motion in a sentence or two")
    if not any(ch.isalpha() for ch in text):
        raise ValueError("The prompt has no words in it: describe the motion")
    return text


def active_armature(context):
    obj = context.active_object
    if obj is None:
        raise ValueError("Select an armature to animate (no active object)")
    if obj.type != "ARMATURE":
        raise ValueError(f"The active object {obj.name!r} is not an armature: select the rig "
                         "to animate")
    return obj


# ----------------------------------------------------------------------------- result
def parse_search_result(result: dict) -> tuple[list[dict], int, list[str]]:
    """Normalise a `search` result into (clips, selected index, warnings).

    Each clip: {clip (local .npz path), caption, score, source, licence, commercial_ok,
    attribution}. Accepts the job's format ({"clips": [{"artifact": name, ...}], "selected",
    "artifacts": {name: path}, "warnings"}) and the plain one ({"clip": path,
    "alternatives": [{"clip": path, ...}]})."""
    result = result or {}
    artifacts = result.get("artifacts") or {}
    clips = []
    if isinstance(result.get("clips"), list):
        for c in result["clips"]:
            path = artifacts.get(c.get("artifact"), c.get("clip", ""))
            path = jobs.local_path(path, result)
            if path:
                clips.append(dict(c, clip=path))
        selected = int(result.get("selected", 0) or 0)
    else:
        primary = jobs.local_path(result.get("clip"), result)
        alts = []
        for alt in result.get("alternatives") or []:
            path = jobs.local_path(alt.get("clip"), result)
            if path:
                alts.append(dict(alt, clip=path))
        selected = next((i for i, a in enumerate(alts) if a["clip"] == primary), -1)
        if primary and selected < 0:
            alts.insert(0, {"clip": primary, "caption": result.get("caption", "")})
            selected = 0
        clips = alts
    if not clips:
        raise ValueError("The backend returned no motion clip")
    selected = min(max(selected, 0), len(clips) - 1)
    return clips, selected, [str(w) for w in result.get("warnings") or []]


def clip_info(alt: dict) -> dict:
    """Custom properties recorded on the new action (where the motion came from)."""
    out = {}
    for key in ("caption", "source", "licence", "attribution", "commercial_ok", "score", "seed"):
        value = alt.get(key)
        if isinstance(value, (str, int, float, bool)) and value != "":
            out["anima_" + key] = value
    return out


def apply_search_result(result: dict, target: str, options: dict, prompt: str = "",
                        scene_name: str | None = None):
    """Apply a `search` or `generate` job result (same shape): the selected clip onto
    armature `target`, all clips into the panel's alternatives (variations) list. Returns the
    new Action. Raises ValueError for the user."""
    clips, selected, warnings = parse_search_result(result)
    obj = bpy.data.objects.get(target)
    if obj is None or obj.type != "ARMATURE":
        raise ValueError(f"The armature {target!r} is gone; the motion was not applied")
    scene = bpy.data.scenes.get(scene_name) if scene_name else None
    chosen = clips[selected]
    action = retarget.apply_clip_to_armature(
        obj, chosen["clip"],
        action_name=retarget.keys.action_name_for(prompt or chosen.get("caption", "")),
        scene=scene or bpy.context.scene, info=clip_info(chosen), **options)
    jobs.set_alternatives(clips, target=target, prompt=prompt, applied=chosen["clip"],
                          warnings=warnings, read_as=str(result.get("read_as") or ""))
    return action


# ----------------------------------------------------------------------------- operators
class ANIMA_OT_generate(bpy.types.Operator):
    """Generate new motion for the prompt (or find captured clips) and apply it to the active
    armature"""
    bl_idname = "anima.generate"
    bl_label = "Generate"
    bl_options = {"REGISTER"}

    prompt: StringProperty(name="Prompt", options={"SKIP_SAVE"},
                           description="Prompt (default: the scene's Anima prompt)")
    seconds: FloatProperty(name="Seconds", options={"SKIP_SAVE"}, min=0.0)
    seed: IntProperty(name="Seed", options={"SKIP_SAVE"}, min=0)
    source: EnumProperty(name="Source", items=SOURCES, default="GENERATE",
                         options={"SKIP_SAVE"})
    model: EnumProperty(name="Model", items=model_items, options={"SKIP_SAVE"},
                        description="Model (default: the scene's Anima model)")
    variations: IntProperty(name="Variations", options={"SKIP_SAVE"}, min=1,
                            max=VARIATIONS_MAX)

    @classmethod
    def description(cls, context, properties):
        return next(d for k, _n, d in SOURCES if k == properties.source)

    def _value(self, name, settings):
        return getattr(self, name) if self.properties.is_property_set(name) \
            else getattr(settings, name)

    def job(self, settings, prompt: str) -> tuple[str, dict]:
        """(job kind, params) for the chosen source."""
        params = {"text": prompt, "seed": int(self._value("seed", settings))}
        seconds = float(self._value("seconds", settings))
        if seconds > 0:
            params["seconds"] = seconds
        if self.source == "LIBRARY":
            params["top_k"] = int(settings.top_k)
            return "search", params
        params["model"] = str(self._value("model", settings))
        params["variations"] = int(self._value("variations", settings))
        return "generate", params

    def execute(self, context):
        settings = context.scene.anima
        try:
            prompt = validate_prompt(self._value("prompt", settings))
            arm = active_armature(context)
        except ValueError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        session = jobs.get_session()
        if session.busy:
            self.report({"ERROR"}, "Anima is already working on a job: wait or cancel it")
            return {"CANCELLED"}
        kind, params = self.job(settings, prompt)
        options = options_from_settings(settings, context.scene)
        target, scene_name = arm.name, context.scene.name

        def on_result(result):
            return apply_search_result(result, target, options, prompt, scene_name)

        try:
            record = session.submit(kind, params, label=prompt, on_result=on_result,
                                    undo_message=f"Anima: {prompt[:60]}", context=context)
        except jobs.JobFailed as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        if record.done:                      # background mode: already applied (or failed)
            if record.error:
                self.report({"ERROR"}, record.error)
                return {"CANCELLED"}
            self.report({"INFO"}, f"Applied {record.applied_name!r}")
        return {"FINISHED"}


class ANIMA_OT_cancel(bpy.types.Operator):
    """Cancel the running Anima job"""
    bl_idname = "anima.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context):
        return jobs.get_session().busy

    def execute(self, context):
        if not jobs.get_session().cancel():
            self.report({"WARNING"}, "No Anima job is running")
            return {"CANCELLED"}
        return {"FINISHED"}


class ANIMA_OT_restart_backend(bpy.types.Operator):
    """(Re)start the motion backend; a job interrupted by a crash is submitted again"""
    bl_idname = "anima.restart_backend"
    bl_label = "Restart Backend"

    resubmit: BoolProperty(name="Resubmit Interrupted Job", default=True)

    def execute(self, context):
        try:
            jobs.get_session().restart(context=context, resubmit=self.resubmit)
        except jobs.JobFailed as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        return {"FINISHED"}


class ANIMA_OT_stop_backend(bpy.types.Operator):
    """Stop the motion backend process (it starts again on the next Generate)"""
    bl_idname = "anima.stop_backend"
    bl_label = "Stop Backend"

    def execute(self, context):
        jobs.get_session().stop()
        return {"FINISHED"}


class ANIMA_OT_apply_clip(bpy.types.Operator):
    """Apply a motion clip (.npz) to the active armature"""
    bl_idname = "anima.apply_clip"
    bl_label = "Apply Motion Clip"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="Clip", subtype="FILE_PATH", options={"SKIP_SAVE"})
    filter_glob: StringProperty(default="*.npz", options={"HIDDEN"})
    alternative: IntProperty(name="Alternative", default=-1, options={"SKIP_SAVE"},
                             description="Index in the alternatives list (instead of a file)")

    def invoke(self, context, event):
        if self.filepath or self.alternative >= 0:
            return self.execute(context)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        try:
            arm = active_armature(context)
            name = None
            path = self.filepath
            if self.alternative >= 0:
                alts = context.window_manager.anima.alternatives
                if self.alternative >= len(alts):
                    raise ValueError("That alternative is no longer available")
                alt = alts[self.alternative]
                path = alt.clip
                name = retarget.keys.action_name_for(context.window_manager.anima.last_prompt
                                                     or alt.caption)
                info = clip_info({k: getattr(alt, k) for k in (
                    "caption", "source", "licence", "attribution", "commercial_ok")})
                info.update(clip_info({"seed": alt.seed} if alt.seed >= 0
                                      else {"score": alt.score}))
            else:
                info = {}
            if not path:
                raise ValueError("Choose a motion clip file (.npz)")
            path = bpy.path.abspath(path)
            options = options_from_settings(context.scene.anima, context.scene)
            action = retarget.apply_clip_to_armature(arm, path, action_name=name, info=info,
                                                     **options)
        except Exception as e:  # noqa: BLE001 - every failure becomes a report
            self.report({"ERROR"}, jobs.user_message(e))
            return {"CANCELLED"}
        if self.alternative >= 0:
            context.window_manager.anima.applied_clip = path
        self.report({"INFO"}, f"Applied {os.path.basename(path)} as {action.name!r}")
        return {"FINISHED"}


class ANIMA_OT_import_character(bpy.types.Operator):
    """Add the default character (MakeHuman body on a game rig) to the scene"""
    bl_idname = "anima.import_character"
    bl_label = "Add Default Character"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        from . import character
        if context.mode != "OBJECT" and context.active_object is not None:
            bpy.ops.object.mode_set(mode="OBJECT")
        try:
            arm, _mesh = character.build_character(context.collection)
        except Exception as e:  # noqa: BLE001
            self.report({"ERROR"}, f"Could not build the default character: {e}")
            return {"CANCELLED"}
        for o in context.view_layer.objects:
            o.select_set(False)
        arm.select_set(True)
        context.view_layer.objects.active = arm
        return {"FINISHED"}


CLASSES = [AnimaSettings, ANIMA_OT_generate, ANIMA_OT_cancel, ANIMA_OT_restart_backend,
           ANIMA_OT_stop_backend, ANIMA_OT_apply_clip, ANIMA_OT_import_character]

PROPS = [(bpy.types.Scene, "anima", lambda: PointerProperty(type=AnimaSettings))]
