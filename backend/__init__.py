"""Anima backend package.

Only `backend.protocol`, `backend.client` and `backend.motion` may be imported from Blender's
Python: they need the standard library (client, protocol) or numpy (motion) only.
Everything that needs torch lives under `backend.models`, `backend.text`, `backend.server`.
"""
