# SPDX-License-Identifier: GPL-3.0-or-later
"""Anima: animate your own rig from a text prompt.

Registration only. The add-on code lives in `operators/` and `panels/`; the motion backend
(`backend/`) runs in a separate Python process and is imported here only through its
standard-library client and the numpy-only `backend.motion` package (never torch).
"""
from __future__ import annotations

import bpy

from . import operators, panels, preferences

_registered = False


def _classes():
    # Property groups first (operators' CLASSES list them before anything that uses them).
    return [*operators.CLASSES, *panels.CLASSES, *panels.LIST_PANELS, *preferences.CLASSES]


def register():
    global _registered
    if _registered:            # registering twice in a row: start from a clean slate
        unregister()
    _registered = True
    try:
        for cls in _classes():
            bpy.utils.register_class(cls)
        for owner, attr, make in operators.PROPS:
            setattr(owner, attr, make())
    except Exception:
        unregister()          # leave nothing half-registered behind
        raise


def unregister():
    global _registered
    # Stop the event pump and close the backend before the classes it writes to disappear.
    operators.shutdown()
    for owner, attr, _make in reversed(operators.PROPS):
        if hasattr(owner, attr):
            try:
                delattr(owner, attr)
            except AttributeError:
                pass
    for cls in reversed(_classes()):
        if getattr(cls, "is_registered", False):
            bpy.utils.unregister_class(cls)
    _registered = False
