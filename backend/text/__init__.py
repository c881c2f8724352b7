"""Offline text encoding."""
