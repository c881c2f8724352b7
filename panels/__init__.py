"""Sidebar panels of the Anima add-on (registered in order: parents before children)."""
from . import (body, camera, editing, main, models, motion_file, path_follow, physics, story,
               versions)

CLASSES = [*main.CLASSES, *motion_file.CLASSES, *editing.CLASSES, *path_follow.CLASSES,
           *physics.CLASSES, *body.CLASSES, *camera.CLASSES,
           *versions.CLASSES, *models.CLASSES]
# Drawn with template_list: outside CLASSES until tests/blender/test_panels.py can record it.
LIST_PANELS = story.CLASSES
