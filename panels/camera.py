"""The "Camera" sub-panel: subject, shot and options, frame range -> Plan -> alternatives with
their metrics (pick one: its curve is highlighted) -> Animate Camera / Contact Sheet. draw()
only reads: the settings live in Scene.anima_camera (operators/camera.py), the job state in
WindowManager.anima."""
import bpy

from .main import _AnimaPanel, _wrap_label, draw_busy


def _metrics_line(item) -> str:
    return (f"{item.crashes} crash{'es' if item.crashes != 1 else ''}, "
            f"clearance {item.min_clearance_m:.2f} m, in frame {item.in_frame:.0%}, "
            f"unoccluded {item.unoccluded:.0%}")


def _motion_line(item) -> str:
    return (f"framing {item.framing_error:.3f}, jerk {item.jerk:.3g} "
            f"(spline {item.catmull_rom_jerk:.3g}), {item.max_speed:.1f} m/s, turns "
            f"{item.max_yaw_rate:.0f}°/s")


class ANIMA_PT_camera(_AnimaPanel, bpy.types.Panel):
    bl_idname = "ANIMA_PT_camera"
    bl_label = "Camera"
    bl_parent_id = "ANIMA_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        s = context.scene.anima_camera
        st = context.window_manager.anima

        cam = context.active_object if context.active_object is not None and \
            context.active_object.type == "CAMERA" else context.scene.camera
        layout.label(text=f"Camera: {cam.name}" if cam is not None
                     else "No camera: add one or make one active", icon="CAMERA_DATA")
        col = layout.column(align=True)
        col.prop(s, "subject")
        col.prop(s, "shot")
        box = layout.box()
        col = box.column(align=True)
        row = col.row(align=True)
        row.prop(s, "distance")
        row.prop(s, "height")
        row = col.row(align=True)
        row.prop(s, "speed")
        row.prop(s, "lens_mm")
        row = col.row(align=True)
        row.prop(s, "side", expand=True)
        row = col.row(align=True)
        row.prop(s, "drone", expand=True)
        col = layout.column(align=True)
        col.prop(s, "use_scene_range")
        row = col.row(align=True)
        row.enabled = not s.use_scene_range
        row.prop(s, "frame_start")
        row.prop(s, "frame_end")
        row = col.row(align=True)
        row.prop(s, "alternatives")
        row.prop(s, "seed")

        col = layout.column(align=True)
        if not draw_busy(col, st):
            row = col.row(align=True)
            row.scale_y = 1.3
            row.enabled = cam is not None and s.subject is not None
            row.operator("anima.camera_plan", text="Plan", icon="OUTLINER_OB_CAMERA")

        for i, item in enumerate(s.paths):
            box = layout.box()
            row = box.row(align=True)
            chosen = i == s.chosen
            op = row.operator("anima.camera_pick", text=f"{i + 1}. {item.name}",
                              icon="RADIOBUT_ON" if chosen else "RADIOBUT_OFF",
                              depress=chosen)
            op.index = i
            sub = box.column(align=True)
            sub.scale_y = 0.7
            sub.alert = item.crashes > 0
            sub.label(text=_metrics_line(item))
            sub.label(text=_motion_line(item))
        if len(s.paths):
            layout.label(text=f"Scene: {s.triangles:,} triangles", icon="MESH_DATA")
            row = layout.row(align=True)
            row.scale_y = 1.3
            row.enabled = not st.busy
            row.operator("anima.camera_apply", text="Animate Camera", icon="ANIM")
            row.operator("anima.camera_clear_preview", text="", icon="X")
        row = layout.row()
        row.enabled = not st.busy and cam is not None
        row.operator("anima.camera_contact_sheet", icon="RENDER_STILL")
        if s.sheet_path:
            layout.label(text=bpy.path.basename(s.sheet_path), icon="IMAGE_DATA")
        for line in s.warnings.splitlines()[:8]:
            _wrap_label(layout, line, icon="ERROR")


CLASSES = [ANIMA_PT_camera]
