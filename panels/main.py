"""The "Anima" tab of the 3D Viewport sidebar. draw() only reads state: the session mirrors
itself into WindowManager.anima, the options live in Scene.anima, the mapping on the Armature."""
from __future__ import annotations

import os
import time

import bpy

from .. import preferences
from ..operators.generate import model_licence

SETUP_HINT_EVERY_S = 2.0            # the setup check reads files: at most this often
_SETUP_HINT = {"at": -1e9, "text": ""}


def setup_hint(context) -> str:
    """What stops the local backend from starting, or an update it needs (empty: nothing):
    the panel says so and opens the preferences, where Install / Update Backend is."""
    now = time.monotonic()
    if now - _SETUP_HINT["at"] < SETUP_HINT_EVERY_S:
        return _SETUP_HINT["text"]
    text = ""
    prefs = preferences.get_prefs(context)
    if prefs is not None and prefs.backend_mode == "LOCAL":
        try:
            python = preferences.resolve_python(prefs)
        except preferences.ConfigError as e:
            text = str(e)
        else:
            from ..operators import install
            target = install.env_folder()
            if os.path.abspath(python).startswith(os.path.abspath(target) + os.sep):
                status = install.status_line(target)
                if status.startswith("needs update"):
                    text = (f"The installed backend {status}. Press Update Backend in the Anima "
                            f"add-on preferences")
    _SETUP_HINT.update(at=now, text=text)
    return text


class _AnimaPanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Anima"


def _armature(context):
    obj = context.active_object
    return obj if obj is not None and obj.type == "ARMATURE" else None


def progress_bar(layout, st, with_label: bool = True) -> None:
    """The running job's progress bar (percent and, with_label, its label)."""
    text = f"{int(round(st.progress * 100))}%" + (f" {st.job_label}" if with_label else "")
    if hasattr(layout, "progress"):          # Blender 4.0+
        layout.progress(factor=st.progress, type="BAR", text=text)
    else:  # pragma: no cover
        layout.label(text=text)


def queue_label(layout, st) -> None:
    """"Queued: 2 jobs ahead" while the job waits in the backend's queue."""
    if st.busy and st.queue_ahead > 0:
        n = st.queue_ahead
        layout.label(text=f"Queued: {n} job{'s' if n != 1 else ''} ahead", icon="TIME")


def draw_busy(layout, st) -> bool:
    """Cancel, the progress bar and the status while a job runs (then True), else False."""
    if not st.busy:
        return False
    layout.operator("anima.cancel", text="Cancel", icon="CANCEL")
    queue_label(layout, st)
    progress_bar(layout, st)
    if st.status:
        layout.label(text=st.status)
    return True


def _wrap_label(layout, text: str, icon: str = "NONE", width: int = 48):
    """Labels do not wrap; split a long message over a few lines."""
    words, line, lines = text.split(), "", []
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    if line:
        lines.append(line)
    col = layout.column(align=True)
    for i, ln in enumerate(lines[:6]):
        col.label(text=ln, icon=icon if i == 0 else "BLANK1")


class ANIMA_PT_main(_AnimaPanel, bpy.types.Panel):
    bl_idname = "ANIMA_PT_main"
    bl_label = "Anima"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.anima
        st = context.window_manager.anima

        hint = setup_hint(context)
        if hint:
            box = layout.box()
            _wrap_label(box, hint, icon="ERROR")
            op = box.operator("preferences.addon_show", text="Open Anima Preferences",
                              icon="PREFERENCES")
            op.module = preferences.ADDON_PACKAGE
        layout.prop(settings, "prompt", text="")
        row = layout.row(align=True)
        row.prop(settings, "seconds")
        row.prop(settings, "seed")

        arm = _armature(context)
        if arm is None:
            layout.label(text="Select an armature to animate", icon="INFO")
        elif arm.data.anima_mapping.low_confidence():
            _wrap_label(layout, "Bone mapping unsure of: " + ", ".join(
                j.replace("_", " ") for j in arm.data.anima_mapping.low_confidence()) +
                " (see Bone Mapping)", icon="ERROR")

        col = layout.column(align=True)
        row = col.row(align=True)
        row.prop(settings, "model", text="")
        row.prop(settings, "variations", text="")
        licence, commercial = model_licence(settings.model)
        if licence:
            sub = col.row()
            sub.scale_y = 0.8
            sub.label(text=licence, icon="CHECKMARK" if commercial else "ERROR")

        row = layout.row(align=True)
        row.scale_y = 1.4
        if st.busy:
            row.operator("anima.cancel", text="Cancel", icon="CANCEL")
        else:
            sub = row.row(align=True)
            sub.enabled = arm is not None and bool(settings.prompt.strip())
            sub.operator("anima.generate", text="Generate", icon="PLAY")
            op = sub.operator("anima.generate", text="Find in Library", icon="VIEWZOOM")
            op.source = "LIBRARY"

        if st.busy:
            queue_label(layout, st)
            progress_bar(layout, st, with_label=False)
        if st.status:
            layout.label(text=st.status, icon="INFO" if st.state in {"READY", "STARTING"}
                         else "NONE")
        if st.error:
            box = layout.box()
            _wrap_label(box, st.error, icon="ERROR")
        if st.state in {"DEAD", "ERROR"}:
            op = layout.operator("anima.restart_backend", icon="FILE_REFRESH",
                                 text="Restart Backend" + (" and Retry" if st.can_resubmit
                                                           else ""))
            op.resubmit = True


class ANIMA_PT_alternatives(_AnimaPanel, bpy.types.Panel):
    """The clips of the last result: generated variations (one per seed) or library
    matches; the applied one is ticked, any other can be applied as a new Action."""
    bl_idname = "ANIMA_PT_alternatives"
    bl_label = "Variations"
    bl_parent_id = "ANIMA_PT_main"

    @classmethod
    def poll(cls, context):
        return len(context.window_manager.anima.alternatives) > 0

    def draw(self, context):
        layout = self.layout
        st = context.window_manager.anima
        if st.last_prompt:
            layout.label(text=f"For: {st.last_prompt[:60]}")
        if st.read_as:
            layout.label(text=f"Read as: {st.read_as[:60]}", icon="INFO")
        if st.warnings:
            _wrap_label(layout, st.warnings, icon="ERROR")
        for i, alt in enumerate(st.alternatives):
            box = layout.box()
            row = box.row()
            applied = os.path.normcase(alt.clip) == os.path.normcase(st.applied_clip)
            generated = alt.seed >= 0 or bool(alt.label)
            title = (alt.label or f"variation {i + 1}") if generated else \
                (alt.caption or os.path.basename(alt.clip))
            row.label(text=title, icon="CHECKMARK" if applied else "ACTION")
            op = row.operator("anima.apply_clip", text="", icon="IMPORT")
            op.alternative = i
            col = box.column(align=True)
            col.scale_y = 0.7
            if generated:
                col.label(text=alt.source)
            else:
                col.label(text=f"score {alt.score:.2f}  {alt.source}".strip())
            if alt.licence:
                col.label(text=alt.licence if alt.commercial_ok
                          else f"{alt.licence} (non-commercial)",
                          icon="NONE" if alt.commercial_ok else "ERROR")
            if alt.attribution:
                col.label(text=alt.attribution[:80])


class ANIMA_PT_options(_AnimaPanel, bpy.types.Panel):
    bl_idname = "ANIMA_PT_options"
    bl_label = "Retarget Options"
    bl_parent_id = "ANIMA_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        s = context.scene.anima
        layout.prop(s, "root_mode")
        layout.prop(s, "foot_ik")
        layout.prop(s, "twist_share", slider=True)
        layout.prop(s, "use_current_frame")
        row = layout.row()
        row.enabled = not s.use_current_frame
        row.prop(s, "frame_start")
        layout.prop(s, "push_to_nla")
        layout.prop(s, "match_scene_fps")
        layout.prop(s, "extend_scene")
        layout.prop(s, "top_k")
        col = layout.column(align=True)
        col.operator("anima.apply_clip", text="Apply Clip File...", icon="FILEBROWSER")
        col.operator("anima.import_character", icon="OUTLINER_OB_ARMATURE")


class ANIMA_PT_mapping(_AnimaPanel, bpy.types.Panel):
    bl_idname = "ANIMA_PT_mapping"
    bl_label = "Bone Mapping"
    bl_parent_id = "ANIMA_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context):
        return _armature(context) is not None

    def draw(self, context):
        layout = self.layout
        arm = _armature(context)
        mapping = arm.data.anima_mapping
        row = layout.row(align=True)
        row.operator("anima.mapping_auto", icon="VIEWZOOM")
        row.operator("anima.mapping_clear", text="", icon="X")
        row = layout.row(align=True)
        row.operator_menu_enum("anima.mapping_load_preset", "preset", text="Load Preset",
                               icon="PRESET")
        row.operator("anima.mapping_save_preset", text="Save Preset", icon="ADD")
        if not len(mapping.joints):
            layout.label(text="Not mapped yet (done automatically on Generate)")
            return
        if mapping.rig_type:
            layout.label(text=f"Rig: {mapping.rig_type}" + (f", by {mapping.method}"
                                                             if mapping.method else ""))
        low = mapping.low_confidence()
        if low:
            _wrap_label(layout, "Check the marked joints: the automatic mapping is not sure "
                        "of them", icon="ERROR")
        for note in [n for n in mapping.notes.split("\n") if n][:4]:
            _wrap_label(layout, note, icon="INFO")
        layout.prop_search(mapping, "root_bone", arm.data, "bones", text="Root")
        col = layout.column(align=True)
        for item in mapping.joints:
            row = col.row(align=True)
            row.alert = item.name in low
            row.prop_search(item, "bone", arm.data, "bones", text=item.name.replace("_", " "),
                            icon="ERROR" if item.name in low else "NONE")


class ANIMA_PT_backend(_AnimaPanel, bpy.types.Panel):
    bl_idname = "ANIMA_PT_backend"
    bl_label = "Backend"
    bl_parent_id = "ANIMA_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        st = context.window_manager.anima
        layout.label(text=f"State: {st.state.title()}" + (f" ({st.device})" if st.device else ""))
        row = layout.row(align=True)
        row.operator("anima.restart_backend", text="Start" if st.state in {"STOPPED"}
                     else "Restart", icon="FILE_REFRESH")
        row.operator("anima.stop_backend", text="Stop", icon="QUIT")


CLASSES = [ANIMA_PT_main, ANIMA_PT_alternatives, ANIMA_PT_options, ANIMA_PT_mapping,
           ANIMA_PT_backend]
