"""Sidebar panels of the Anima add-on (registered in order: parents before children)."""
from . import main

CLASSES = [*main.CLASSES]
from . import motion_file  # noqa: E402
CLASSES += motion_file.CLASSES
from . import body  # noqa: E402
CLASSES += body.CLASSES
