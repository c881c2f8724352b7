"""Load the repository as the Blender add-on package `anima` inside a `bpy` process (tests,
demo, benchmarks), the way Blender loads an extension: as a package, so its package-relative
imports (`from ..backend import client`) work. The repository root is symlinked as
`<tmp>/anima` (copied where symlinks are unavailable) and `<tmp>` is put on sys.path.

`shutdown()` unregisters and unloads what the process added to Blender, so that the bpy module
exits cleanly on Blender 4.2 and 4.5 (run at exit once the add-on is loaded;
tests/blender/conftest.py calls it at session end). See docs/blender_versions.md."""
from __future__ import annotations

import atexit
import gc
import importlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "anima"


def load_addon(register: bool = False):
    global _STARTUP
    if _STARTUP is None:
        import bpy  # noqa: F401  (starts Blender, which enables, registers and imports its own)
        _STARTUP = _snapshot_startup()
    if PACKAGE in sys.modules:
        mod = sys.modules[PACKAGE]
    else:
        parent = tempfile.mkdtemp(prefix="anima-addon-")
        # rmtree removes the link itself, never what it points to.
        atexit.register(shutil.rmtree, parent, True)
        link = os.path.join(parent, PACKAGE)
        try:
            os.symlink(REPO, link, target_is_directory=True)
        except (OSError, NotImplementedError):
            shutil.copytree(REPO, link, ignore=shutil.ignore_patterns(
                ".git", ".venv", "tests", "out", "__pycache__", ".cache"))
        sys.path.insert(0, parent)
        mod = importlib.import_module(PACKAGE)
        # atexit handlers run before the interpreter frees its modules (bpy: Blender's exit).
        atexit.register(shutdown)
    if register:
        mod.register()
    return mod


def enable_preferences():
    """Make Blender's preferences know the package (instantiates its AddonPreferences)."""
    import bpy
    addons = bpy.context.preferences.addons
    if addons.get(PACKAGE) is None:
        addons.new().module = PACKAGE
    return addons[PACKAGE].preferences


def _addon_modules_ever_enabled() -> set[str]:
    """Add-on modules addon_utils has enabled in this process (it marks them `__addon_enabled__`,
    set to False again on disable). Reads module dicts directly, as addon_utils does."""
    return {name for name, m in list(sys.modules.items())
            if type(d := getattr(m, "__dict__", None)) is dict and "__addon_enabled__" in d}


def _registered_classes() -> set[type]:
    """Python classes registered with Blender now (panels, operators, property groups, ...)."""
    import bpy
    found, seen, stack = set(), set(), [bpy.types.bpy_struct]
    while stack:
        for cls in stack.pop().__subclasses__():
            if cls in seen:
                continue
            seen.add(cls)
            stack.append(cls)
            if (cls.__module__ != "bpy.types" and "bl_rna" in cls.__dict__
                    and getattr(cls, "is_registered", False)):
                found.add(cls)
    return found


def _snapshot_startup():
    """What Blender enabled, registered and imported at start-up (cycles, its UI): left for
    Blender to shut down."""
    return _addon_modules_ever_enabled(), _registered_classes(), set(sys.modules)


_STARTUP = _snapshot_startup() if "bpy" in sys.modules else None


def _unload_modules(names) -> None:
    """Drop modules from sys.modules, their globals set to None (as CPython's own shutdown does
    for modules it still finds), so that no object Blender still holds keeps `bpy` alive."""
    for name in names:
        namespace = sys.modules.pop(name).__dict__
        for key in namespace:
            if not (key.startswith("__") and key.endswith("__")):
                namespace[key] = None


def _blender_modules_since_startup(startup_modules: set[str]) -> list[str]:
    """The add-on's modules, and Blender's own (add-ons, bpy_extras, ... under its scripts
    folder) that were imported after start-up (Rigify, the glTF exporter's submodules, ...)."""
    import bpy
    scripts = os.path.realpath(bpy.utils.system_resource("SCRIPTS")) + os.sep
    names = []
    for name, module in list(sys.modules.items()):
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            names.append(name)
        elif name not in startup_modules:
            path = getattr(module, "__file__", None)
            if isinstance(path, str) and os.path.realpath(path).startswith(scripts):
                names.append(name)
    return names


def shutdown():
    """Unregister and unload what this process added to Blender, before the interpreter exits:
    the add-on (if loaded) is unregistered; add-ons enabled since start-up (Rigify, enabled by
    operators/character.py) are disabled; classes still registered since start-up (the UI
    script of a generated Rigify rig) are unregistered; then the add-on's modules and the
    Blender modules imported since start-up are unloaded.

    Without this the process does not exit cleanly (docs/blender_versions.md). bpy 4.2 runs
    Blender's exit step (`WM_exit`) only when the `bpy` module is freed, and a module's globals
    kept alive past CPython's clean-up (the add-on's PropertyGroup with a method, Rigify, the glTF
    exporter) keep `bpy` alive: C++ static destructors then free registered classes with no
    interpreter left, SIGSEGV. bpy 4.5 never exits while the rig-UI classes are registered.
    Safe to call more than once."""
    if "bpy" not in sys.modules or _STARTUP is None:
        return
    import bpy
    mod = sys.modules.get(PACKAGE)
    if mod is not None and hasattr(mod, "unregister"):
        mod.unregister()          # idempotent: unregisters only what is registered
    import addon_utils
    startup_addons, startup_classes, startup_modules = _STARTUP
    for name in sorted(_addon_modules_ever_enabled() - startup_addons):
        if getattr(sys.modules.get(name), "__addon_enabled__", False):
            addon_utils.disable(name, default_set=True)
    # Property groups last: other classes may point to them.
    leftovers = sorted(_registered_classes() - startup_classes,
                       key=lambda c: issubclass(c, bpy.types.PropertyGroup))
    for cls in leftovers:
        try:
            bpy.utils.unregister_class(cls)
        except RuntimeError:
            pass                  # already gone with a class unregistered before it
    _unload_modules(_blender_modules_since_startup(startup_modules))
    gc.collect()
