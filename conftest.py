# The repository root is the Blender add-on package; pytest must not import its __init__.py.
collect_ignore = ["__init__.py"]
