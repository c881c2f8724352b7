"""Operators of the Anima add-on and the properties they keep.

`CLASSES` is registered in order (property groups before the classes that point to them);
`PROPS` lists the (owner type, attribute, property factory) pointers added after them;
`shutdown()` stops the event pump and closes the backend.
"""
from . import generate, jobs, retarget

CLASSES = [*jobs.CLASSES, *retarget.CLASSES, *generate.CLASSES]
from . import export, motion_file  # noqa: E402
CLASSES += [*motion_file.CLASSES, *export.CLASSES]
from . import body  # noqa: E402
CLASSES += body.CLASSES

PROPS = [*jobs.PROPS, *retarget.PROPS, *generate.PROPS]


def shutdown():
    jobs.shutdown()
