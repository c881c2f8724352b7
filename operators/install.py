"""Install backend / Cancel / Update and "Use existing Python" (the add-on preferences' Install box).

The work is done by `backend.installer` (standard library only). With a UI the install runs on
a worker thread and a `bpy.app.timers` poll mirrors its progress into the preferences (Blender
never waits); in background mode (`bpy.app.background`, scripts and tests) the operator blocks
until the install ends. After a successful install `python_path` points at the new
environment's interpreter.
"""
from __future__ import annotations

import os
import sys
import threading

import bpy
from bpy.props import BoolProperty, StringProperty

from .. import preferences
from ..backend.installer import InstallError, InstallOptions, Runner, check_python
from ..backend.installer.plan import LOG_NAME
from ..backend.installer.upgrade import describe_status

POLL_S = 0.25
ENV_FOLDER = "backend-env"


class _Activity:
    """What the Install box shows: the running install (if any) and the last outcomes."""
    runner: Runner | None = None
    thread: threading.Thread | None = None
    target: str = ""
    message: str = ""          # last refusal or failure, one line
    check_lines: list[str] = []
    check_thread: threading.Thread | None = None
    check_result = None


activity = _Activity()


def env_folder(override: str = "") -> str:
    """The folder the backend environment lives in (the extension's user dir by default)."""
    if override:
        return bpy.path.abspath(override)
    return preferences.user_dir(ENV_FOLDER)


def installing() -> bool:
    return activity.thread is not None and activity.thread.is_alive()


def status_line(target: str) -> str:
    """not installed / installing: step k of n / ready / needs update: ... / failed: ..."""
    runner = activity.runner
    if installing() and runner is not None:
        p = runner.progress()
        return describe_status(target, running=(p.index, p.count, p.title))
    text = describe_status(target)
    if activity.message and text == "not installed":
        return "failed: " + activity.message
    return text


def log_excerpt(target: str, count: int = 8) -> list[str]:
    """The last lines of the install log (the running install's, else the file's)."""
    runner = activity.runner
    if runner is not None and runner.lines:
        return list(runner.lines)[-count:]
    try:
        with open(os.path.join(target, LOG_NAME), "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4000))
            lines = f.read().decode("utf-8", "replace").splitlines()
        return lines[-count:]
    except OSError:
        return []


def _options(context, target: str) -> InstallOptions:
    prefs = preferences.get_prefs(context)
    base = getattr(prefs, "install_base_python", "") or sys.executable
    wheels = getattr(prefs, "wheel_folder", "")
    return InstallOptions(target=target, base_python=bpy.path.abspath(base),
                          wheel_folder=bpy.path.abspath(wheels) if wheels else "",
                          torch_variant=getattr(prefs, "torch_variant", "AUTO").lower(),
                          online_access=bool(getattr(bpy.app, "online_access", True)))


def _finish_install(context=None) -> str:
    """Main thread, after the runner ended: point python_path at the new environment."""
    runner, activity.thread = activity.runner, None
    progress = runner.progress()
    if progress.error:
        activity.message = progress.error
        return progress.error
    activity.message = ""
    prefs = preferences.get_prefs(context)
    if hasattr(prefs, "bl_rna"):                  # real preferences, not the defaults
        prefs.python_path = str(runner.plan.python)
    return ""


def _redraw_preferences() -> None:
    for wm in bpy.data.window_managers:
        for window in wm.windows:
            screen = window.screen
            for area in (screen.areas if screen else ()):
                if area.type == "PREFERENCES":
                    area.tag_redraw()


def _poll_install():
    if installing():
        _redraw_preferences()
        return POLL_S
    if activity.runner is not None and activity.thread is not None:
        _finish_install()
    _redraw_preferences()
    return None


def start_install(runner: Runner, block: bool) -> bool:
    """Run `runner`: blocking (background mode; then the outcome is applied at once), or on
    a thread followed by the `_poll_install` timer. False if a blocking install failed."""
    activity.runner, activity.target = runner, str(runner.plan.target)
    activity.thread = threading.Thread(target=runner.run_quietly, daemon=True,
                                       name="anima-install")
    activity.thread.start()
    if block:
        activity.thread.join()
        return not _finish_install()
    if not bpy.app.timers.is_registered(_poll_install):
        bpy.app.timers.register(_poll_install, first_interval=POLL_S)
    return True


class ANIMA_OT_install_backend(bpy.types.Operator):
    """Install (or update, or resume) the motion backend in its own Python environment"""
    bl_idname = "anima.install_backend"
    bl_label = "Install Backend"
    bl_options = {"REGISTER", "INTERNAL"}

    target: StringProperty(name="Folder", default="", options={"SKIP_SAVE", "HIDDEN"},
                           description="Where the environment goes (empty: the extension's "
                                       "user folder)")
    requirements: StringProperty(name="Requirements", default="",
                                 options={"SKIP_SAVE", "HIDDEN"},
                                 description="Requirements file to install (empty: the "
                                             "add-on's requirements-backend.txt)")

    @classmethod
    def poll(cls, context):
        return not installing()

    def execute(self, context):
        try:
            target = env_folder(self.target)
        except OSError as e:
            return self._refuse(f"The extension's user folder is not writable: {e}")
        activity.target, activity.message = target, ""
        try:
            options = _options(context, target)
            if self.requirements:
                options.requirements = bpy.path.abspath(self.requirements)
            runner = Runner(options, preferences.resolve_cache_dir())
        except (InstallError, preferences.ConfigError) as e:
            return self._refuse(str(e))
        if not start_install(runner, block=bpy.app.background):
            self.report({"ERROR"}, activity.message)
            return {"CANCELLED"}
        if bpy.app.background:
            self.report({"INFO"}, f"Anima backend installed: {runner.plan.python}")
        else:
            self.report({"INFO"}, "Installing the Anima backend (progress in the preferences)")
        return {"FINISHED"}

    def _refuse(self, message: str):
        activity.message = message
        self.report({"ERROR"}, message)
        return {"CANCELLED"}


class ANIMA_OT_cancel_install(bpy.types.Operator):
    """Stop the install now; Retry resumes at the step it was in"""
    bl_idname = "anima.cancel_install"
    bl_label = "Cancel Install"
    bl_options = {"REGISTER", "INTERNAL"}

    @classmethod
    def poll(cls, context):
        return installing()

    def execute(self, context):
        activity.runner.cancel()
        return {"FINISHED"}


class ANIMA_OT_check_python(bpy.types.Operator):
    """Check the chosen Python for the backend (version, torch and its device, packages) and
    use it if nothing is missing"""
    bl_idname = "anima.check_python"
    bl_label = "Check and Use"
    bl_options = {"REGISTER", "INTERNAL"}

    use: BoolProperty(name="Use", default=True, options={"SKIP_SAVE"},
                      description="Point the backend's interpreter at it when the check passes")

    @classmethod
    def poll(cls, context):
        return activity.check_thread is None or not activity.check_thread.is_alive()

    def execute(self, context):
        prefs = preferences.get_prefs(context)
        python = bpy.path.abspath(getattr(prefs, "existing_python", "") or "")
        if not python:
            self.report({"ERROR"}, "Choose a Python interpreter to check first")
            return {"CANCELLED"}
        if bpy.app.background:
            return self._conclude(context, check_python(python))
        activity.check_lines = [f"checking {python}..."]

        def work():
            activity.check_result = check_python(python)

        activity.check_result = None
        activity.check_thread = threading.Thread(target=work, daemon=True, name="anima-check")
        activity.check_thread.start()
        use = self.use

        def poll():
            if activity.check_thread.is_alive():
                return POLL_S
            _apply_check(bpy.context, activity.check_result, use)
            _redraw_preferences()
            return None

        bpy.app.timers.register(poll, first_interval=POLL_S)
        return {"FINISHED"}

    def _conclude(self, context, report):
        _apply_check(context, report, self.use)
        if report.ok:
            self.report({"INFO"}, report.summary())
            return {"FINISHED"}
        self.report({"ERROR"}, report.summary())
        return {"CANCELLED"}


def _apply_check(context, report, use: bool) -> None:
    activity.check_result = report
    if report.error:
        activity.check_lines = [report.error]
    elif report.ok:
        activity.check_lines = [report.summary()]
    else:
        activity.check_lines = ([f"Python {'.'.join(map(str, report.version))}: missing:"]
                                + [f"  {m}" for m in report.missing] + ["Fix with:"]
                                + [f"  {c}" for c in report.fix_commands])
    prefs = preferences.get_prefs(context)
    if use and report.ok and hasattr(prefs, "bl_rna"):
        prefs.python_path = report.python


def shutdown() -> None:
    """Add-on unregister: stop a running install (it stays resumable)."""
    if installing():
        activity.runner.cancel()
        activity.thread.join(10.0)
    if bpy.app.timers.is_registered(_poll_install):
        bpy.app.timers.unregister(_poll_install)


CLASSES = [ANIMA_OT_install_backend, ANIMA_OT_cancel_install, ANIMA_OT_check_python]
