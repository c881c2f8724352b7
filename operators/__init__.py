"""Operators of the Anima add-on and the properties they keep.

`CLASSES` is registered in order (property groups before the classes that point to them);
`PROPS` lists the (owner type, attribute, property factory) pointers added after them;
`shutdown()` stops the event pump and closes the backend.
"""
from . import (body, camera, clean_keys, edit_ops, export, generate, install, jobs, models,
               motion_file, path_follow, physics, retarget, story, timing, versions)

CLASSES = [*jobs.CLASSES, *retarget.CLASSES, *generate.CLASSES, *motion_file.CLASSES,
           *export.CLASSES, *body.CLASSES, *versions.CLASSES, *timing.CLASSES,
           *clean_keys.CLASSES, *path_follow.CLASSES, *edit_ops.CLASSES, *story.CLASSES,
           *physics.CLASSES, *camera.CLASSES, *models.CLASSES,
           *install.CLASSES]

PROPS = [*jobs.PROPS, *retarget.PROPS, *generate.PROPS, *story.PROPS, *camera.PROPS]


def shutdown():
    install.shutdown()
    models.shutdown()
    jobs.shutdown()
