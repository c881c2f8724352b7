"""Importers, the motion library and dataset loaders."""
