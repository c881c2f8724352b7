"""Sidebar panels of the Anima add-on (registered in order: parents before children)."""
from . import body, editing, main, motion_file, versions

CLASSES = [*main.CLASSES, *motion_file.CLASSES, *editing.CLASSES, *body.CLASSES,
           *versions.CLASSES]
