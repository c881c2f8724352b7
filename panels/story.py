"""The "Story" sub-panel: story text -> Plan -> editable segment list -> Make Motion (NLA
strips on the character) -> Regenerate Segment / Bake. draw() only reads: the story lives in
Scene.anima_story (operators/story.py), the job state in WindowManager.anima."""
import bpy

from .. import preferences
from .main import _AnimaPanel, _wrap_label, draw_busy


class ANIMA_UL_story_segments(bpy.types.UIList):
    """One row per segment: number, text (editable), kind and place."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname,
                  index=0):
        row = layout.row(align=True)
        row.label(text=f"{index + 1:02d}")
        row.prop(item, "text", text="", emboss=False)
        sub = row.row()
        sub.scale_x = 0.6
        sub.label(text=item.place or item.kind)


class ANIMA_PT_story(_AnimaPanel, bpy.types.Panel):
    bl_idname = "ANIMA_PT_story"
    bl_label = "Story"
    bl_parent_id = "ANIMA_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.anima_story
        st = context.window_manager.anima

        layout.prop(settings, "story", text="")
        col = layout.column(align=True)
        col.prop(settings, "scheduler", text="Planner")
        if settings.scheduler == "llm":
            box = col.box()
            prefs = preferences.get_prefs(context)
            for name in ("story_llm_url", "story_llm_model", "story_llm_timeout_s"):
                box.prop(prefs, name)
            box.label(text="API key: Anima add-on preferences", icon="PREFERENCES")
        col = layout.column(align=True)
        col.prop(settings, "rig")
        row = col.row(align=True)
        row.prop(settings, "frame_start")
        row.prop(settings, "seed")
        row = layout.row()
        row.enabled = not st.busy and bool(settings.story.strip())
        row.operator("anima.story_plan", text="Plan", icon="TEXT")

        row = layout.row()
        row.template_list("ANIMA_UL_story_segments", "", settings, "segments", settings,
                          "active_index", rows=4)
        side = row.column(align=True)
        side.operator("anima.story_segment_add", text="", icon="ADD")
        side.operator("anima.story_segment_remove", text="", icon="REMOVE")
        op = side.operator("anima.story_segment_move", text="", icon="TRIA_UP")
        op.direction = "UP"
        op = side.operator("anima.story_segment_move", text="", icon="TRIA_DOWN")
        op.direction = "DOWN"

        if 0 <= settings.active_index < len(settings.segments):
            item = settings.segments[settings.active_index]
            box = layout.box()
            box.prop(item, "kind")
            box.prop(item, "action")
            box.prop(item, "place")
            box.prop(item, "facing")
            row = box.row(align=True)
            row.prop(item, "seconds")
            row.prop(item, "speed")
            row = box.row(align=True)
            row.prop(item, "gait", text="")
            row.prop(item, "style", text="Style")
            box.prop(item, "overlay")
            if item.kind == "act":
                box.prop(item, "source")

        col = layout.column(align=True)
        if not draw_busy(col, st):
            row = col.row(align=True)
            row.scale_y = 1.3
            row.enabled = len(settings.segments) > 0
            row.operator("anima.story_make", text="Make Motion", icon="NLA")
            row = col.row(align=True)
            row.enabled = bool(settings.layout_json)
            row.operator("anima.story_regenerate_segment", icon="FILE_REFRESH")
            row.operator("anima.story_bake", text="Bake", icon="ACTION")
        for line in settings.warnings.splitlines()[:8]:
            _wrap_label(layout, line, icon="ERROR")


CLASSES = [ANIMA_UL_story_segments, ANIMA_PT_story]
