"""Versions of a character's motion: every Action Anima wrote for an armature (generated,
found, applied from a file, or edited: each edit writes a new Action and keeps the original),
listed in the Versions panel to switch between.

An Action belongs to an armature's versions when Anima wrote it for that armature (custom
property `anima_armature`), or when it is the armature's active action.
"""
from __future__ import annotations

import bpy
from bpy.props import StringProperty

from . import keys


def versions_of(arm_obj) -> list:
    """The armature's versions, oldest first (the active action included)."""
    out = [a for a in bpy.data.actions if a.get("anima_armature") == arm_obj.name]
    anim = arm_obj.animation_data
    if anim is not None and anim.action is not None and anim.action not in out:
        out.insert(0, anim.action)
    return out


def version_label(action) -> str:
    """What the panel shows for a version: its name and what it was made from."""
    base = action.get("anima_version_of")
    return f"{action.name}  (from {base})" if base else action.name


class ANIMA_OT_use_version(bpy.types.Operator):
    """Make this version the active action of the selected armature (the one that was
    active is kept)"""
    bl_idname = "anima.use_version"
    bl_label = "Use Version"
    bl_options = {"REGISTER", "UNDO"}

    action: StringProperty(name="Action", options={"SKIP_SAVE"})

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return obj is not None and obj.type == "ARMATURE"

    def execute(self, context):
        arm = context.active_object
        action = bpy.data.actions.get(self.action)
        if action is None:
            self.report({"ERROR"}, f"No action named {self.action!r}")
            return {"CANCELLED"}
        owner = action.get("anima_armature")
        if owner and owner != arm.name:
            self.report({"ERROR"}, f"{action.name!r} was made for {owner!r}, not {arm.name!r}")
            return {"CANCELLED"}
        try:
            keys.assign_action(arm, action)
        except ValueError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        return {"FINISHED"}


CLASSES = [ANIMA_OT_use_version]
PROPS = []
