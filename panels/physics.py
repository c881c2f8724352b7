"""The "Physics" sub-panel: Make Physically Plausible on the selected armature's Action
(operators/physics.py), its settings, its progress and Cancel while it runs, and the report of
the physics version that is active. draw() only reads.

The settings shown are the operator's last-used ones (`operator_properties_last`), as in the
Edit Motion panel; the report is the one stored on the active Action, so switching versions
(Versions panel) shows each version's own report.
"""
import bpy

from ..operators.physics import report_of
from .editing import _range_text
from .main import _AnimaPanel, _armature, _wrap_label, draw_busy


class ANIMA_PT_physics(_AnimaPanel, bpy.types.Panel):
    bl_idname = "ANIMA_PT_physics"
    bl_label = "Physics"
    bl_parent_id = "ANIMA_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context):
        return _armature(context) is not None

    def draw(self, context):
        layout = self.layout
        arm = _armature(context)
        action = arm.animation_data.action if arm.animation_data else None
        if action is None:
            layout.label(text="No motion to make physical", icon="INFO")
            return

        last = context.window_manager.operator_properties_last("anima.make_physical")
        col = layout.column(align=True)
        col.row(align=True).prop(last, "frames", expand=True)
        if last.frames == "RANGE":
            col.label(text=f"Frames: {_range_text(context.scene)}", icon="PREVIEW_RANGE")
        col = layout.column(align=True)
        col.prop(last, "assistance", slider=True)
        col.prop(last, "friction")
        col.prop(last, "gravity")
        col.prop(last, "planner")
        box = layout.box()
        box.prop(last, "use_push")
        if last.use_push:
            col = box.column(align=True)
            col.prop(last, "push_frame", text="Frame")
            col.prop(last, "push_body", text="At")
            col.prop(last, "push_direction", text="Direction")
            col.prop(last, "push_strength", text="Newtons")
            col.prop(last, "push_seconds", text="Seconds")
            col.prop(last, "push_recover")

        st = context.window_manager.anima
        if not draw_busy(layout.column(align=True), st):
            row = layout.row(align=True)
            row.scale_y = 1.3
            op = row.operator("anima.make_physical", icon="PHYSICS")
            for name in ("frames", "assistance", "friction", "gravity", "planner", "use_push",
                         "push_frame", "push_direction", "push_strength", "push_seconds",
                         "push_body", "push_recover"):
                setattr(op, name, getattr(last, name))

        report = report_of(action)
        if report is None:
            return
        box = layout.box()
        box.label(text=f"Last run: frames {report.get('frames', '?')}, assistance "
                       f"{report.get('assistance', 0.0):.2f}", icon="INFO")
        for line in report_lines(report):
            if line.startswith("Note: "):
                _wrap_label(box, line, icon="ERROR")
            else:
                box.label(text=line, icon="ERROR" if line.startswith("Fell") else "NONE")


def report_lines(report: dict) -> list[str]:
    """What the panel shows of a stored report (operators.physics.report_of), a line each."""
    r = report
    lines = []
    if "fell" in r:
        lines.append(f"Fell at frame {r['fell_frame']}" if r["fell"] and "fell_frame" in r
                     else "Fell" if r["fell"] else "Stayed on its feet")
    if "mpjpe_mm_mean" in r:
        lines.append(f"Tracking error {r['mpjpe_mm_mean']:.0f} mm mean, "
                     f"{r.get('mpjpe_mm_max', float('nan')):.0f} max")
    if "residual_pct_weight_mean" in r:
        lines.append(f"Root help {r['residual_pct_weight_mean']:.1f}% of weight "
                     f"({r.get('residual_n_mean', float('nan')):.0f} N mean, "
                     f"{r.get('residual_n_max', float('nan')):.0f} max)")
    if "needed_force_pct_weight" in r:
        lines.append(f"The input needs {r['needed_force_pct_weight']:.1f}% of weight of help")
    for key, name, unit in (("penetration", "Penetration", " cm"),
                            ("floating", "Floating", " cm"), ("skate", "Foot skating", "%")):
        if f"{key}_before" in r and f"{key}_after" in r:      # metres / fractions: x 100
            lines.append(f"{name} {100 * r[key + '_before']:.1f} -> "
                         f"{100 * r[key + '_after']:.1f}{unit}")
    if r.get("pushes") and "push_steps" in r:
        n = int(r["push_steps"])
        lines.append(f"Push: {n} step{'' if n == 1 else 's'} to catch itself" if n
                     else "Push: taken without a step")
    if r.get("warnings"):
        lines.append(f"Note: {r['warnings']}")
    return lines


CLASSES = [ANIMA_PT_physics]
