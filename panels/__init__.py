"""Sidebar panels of the Anima add-on (registered in order: parents before children)."""
from . import main

CLASSES = [*main.CLASSES]
