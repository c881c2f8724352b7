"""The panel's view of the session: `WindowManager.anima` (never saved) and the alternatives
of the last result."""
from __future__ import annotations

import os

import bpy
from bpy.props import (BoolProperty, CollectionProperty, FloatProperty, IntProperty,
                       PointerProperty, StringProperty)

from .job_records import STOPPED


def set_alternatives(alternatives: list[dict], target: str = "", prompt: str = "",
                     applied: str = "", warnings=(), read_as: str = "") -> None:
    """Show a result's alternative clips in the panel (WindowManager.anima.alternatives)."""
    for wm in bpy.data.window_managers:
        st = getattr(wm, "anima", None)
        if st is None:
            continue
        st.alternatives.clear()
        for alt in alternatives:
            item = st.alternatives.add()
            item.clip = str(alt.get("clip", ""))
            item.caption = str(alt.get("caption", ""))
            item.name = item.caption[:60] or os.path.basename(item.clip)
            try:
                item.score = float(alt.get("score", 0.0))
            except (TypeError, ValueError):
                item.score = 0.0
            seed = alt.get("seed")
            item.seed = seed if isinstance(seed, int) and 0 <= seed < 2**31 else -1
            item.label = str(alt.get("name", "") or "")
            item.source = str(alt.get("source", ""))
            item.licence = str(alt.get("licence", alt.get("license", "")))
            item.attribution = str(alt.get("attribution", "") or "")
            item.commercial_ok = bool(alt.get("commercial_ok", True))
        st.target = target
        st.warnings = "; ".join(warnings)
        st.read_as = read_as        # the caption the model was given (prompt snapping)
        st.last_prompt = prompt
        st.applied_clip = applied


class AnimaAlternative(bpy.types.PropertyGroup):
    """One clip of a result: a library match (score) or a generated variation (seed >= 0)."""
    clip: StringProperty(subtype="FILE_PATH")
    caption: StringProperty()
    label: StringProperty()          # the result's own name for it ("variation 2 (seed 12)")
    score: FloatProperty()
    seed: IntProperty(default=-1)
    source: StringProperty()
    licence: StringProperty()
    attribution: StringProperty()
    commercial_ok: BoolProperty(default=True)


class AnimaRuntime(bpy.types.PropertyGroup):
    """WindowManager.anima: what the panel shows (written by the session, never saved)."""
    state: StringProperty(default=STOPPED)
    status: StringProperty()
    error: StringProperty()
    busy: BoolProperty()
    failure: StringProperty()        # DEAD: backend_died or backend_hung
    queue_ahead: IntProperty()       # jobs the backend runs before ours (0: running / none)
    progress: FloatProperty(min=0.0, max=1.0, subtype="FACTOR")
    job_label: StringProperty()
    device: StringProperty()
    can_resubmit: BoolProperty()
    alternatives: CollectionProperty(type=AnimaAlternative)
    alternatives_index: IntProperty()
    target: StringProperty()
    last_prompt: StringProperty()
    applied_clip: StringProperty()
    warnings: StringProperty()
    read_as: StringProperty()


CLASSES = [AnimaAlternative, AnimaRuntime]

PROPS = [(bpy.types.WindowManager, "anima", lambda: PointerProperty(type=AnimaRuntime))]
