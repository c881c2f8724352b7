"""Parametric body models (SMPL-X) built from files the user provides."""
