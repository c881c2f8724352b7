"""Add-on preferences: where the motion backend runs and where it caches files.

Helpers here resolve the settings into concrete values (interpreter, cache folder) and apply
Blender's *Allow Online Access* rule, so the session code never reads raw properties.
"""
from __future__ import annotations

import ipaddress
import os
import tempfile
from types import SimpleNamespace

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

ADDON_PACKAGE = __package__          # "anima" in tests, "bl_ext.<repo>.anima" as an extension
ADDON_DIR = os.path.dirname(os.path.abspath(__file__))


class ConfigError(Exception):
    """A preference makes the backend impossible to start; the message says what to change."""


# ----------------------------------------------------------------------------- defaults
def default_python() -> str:
    """The project's own virtual environment next to the add-on, if there is one."""
    venv = os.path.join(ADDON_DIR, ".venv")
    if os.name == "nt":
        candidate = os.path.join(venv, "Scripts", "python.exe")
    else:
        candidate = os.path.join(venv, "bin", "python")
    # No realpath: a venv's python is a symlink and must be started through the link.
    return candidate if os.path.exists(candidate) else ""


_DEFAULTS = dict(
    backend_mode="LOCAL",
    python_path=default_python(),
    host="127.0.0.1",
    port=8765,
    token="",
    device="AUTO",
    cache_dir="",
    smplx_folder="",
)


def _backend_setting_changed(self, context):
    # A running backend was started with the old settings: let the next job start a new one.
    from .operators import jobs
    jobs.on_config_changed()


class AnimaPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_PACKAGE

    backend_mode: EnumProperty(
        name="Backend",
        items=[
            ("LOCAL", "Local", "Start the backend as a process on this computer"),
            ("REMOTE", "Remote", "Connect to a backend already running on another machine "
                                 "(e.g. a GPU server)"),
        ],
        default=_DEFAULTS["backend_mode"],
        update=_backend_setting_changed,
    )
    python_path: StringProperty(
        name="Python Interpreter",
        description="Python of the environment that has the backend's dependencies installed "
                    "(default: the add-on's own .venv)",
        subtype="FILE_PATH",
        default=_DEFAULTS["python_path"],
        update=_backend_setting_changed,
    )
    host: StringProperty(name="Host", default=_DEFAULTS["host"],
                         description="Address of the remote backend",
                         update=_backend_setting_changed)
    port: IntProperty(name="Port", default=_DEFAULTS["port"], min=1, max=65535,
                      update=_backend_setting_changed)
    token: StringProperty(name="Token", subtype="PASSWORD", default=_DEFAULTS["token"],
                          description="Shared secret the remote backend was started with",
                          update=_backend_setting_changed)
    use_tls: BoolProperty(
        name="TLS", default=False, update=_backend_setting_changed,
        description="The remote backend was started with --tls-cert: encrypt the connection "
                    "and check the server's certificate")
    tls_cafile: StringProperty(
        name="CA Certificate", subtype="FILE_PATH", default="",
        update=_backend_setting_changed,
        description="PEM file of the authority that signed the server's certificate (empty: "
                    "the system's trusted authorities)")
    device: EnumProperty(
        name="Device",
        items=[
            ("AUTO", "Auto", "Use a GPU when the backend finds one"),
            ("CPU", "CPU", "Run the models on the CPU"),
            ("CUDA", "CUDA", "Run the models on an NVIDIA GPU"),
        ],
        default=_DEFAULTS["device"],
        update=_backend_setting_changed,
    )
    cache_dir: StringProperty(
        name="Cache Folder",
        description="Where downloaded models and generated clips are kept "
                    "(empty: the extension's user folder)",
        subtype="DIR_PATH",
        default=_DEFAULTS["cache_dir"],
        update=_backend_setting_changed,
    )
    smplx_folder: StringProperty(
        name="SMPL-X Model Folder",
        description="Folder of the SMPL-X model files you downloaded (smpl-x.is.tue.mpg.de, "
                    "models_smplx_v1_1.zip): the one holding 'smplx/SMPLX_NEUTRAL.npz'",
        subtype="DIR_PATH",
        default=_DEFAULTS["smplx_folder"],
    )

    # The backend installer (the Install box; operators/install.py, docs/install.md).
    wheel_folder: StringProperty(
        name="Wheel Folder",
        description="Install offline from this folder of wheel files (pip --no-index "
                    "--find-links); empty: download from the package index (needs online access)",
        subtype="DIR_PATH", default="")
    torch_variant: EnumProperty(
        name="Torch Build",
        items=[
            ("AUTO", "Auto", "CUDA when nvidia-smi is found, Apple MPS on Apple silicon, else CPU"),
            ("CPU", "CPU", "The CPU-only build (smallest download)"),
            ("CUDA", "CUDA", "The NVIDIA GPU build"),
            ("MPS", "Apple MPS", "The macOS build with Apple GPU support"),
        ],
        default="AUTO")
    install_base_python: StringProperty(
        name="Base Python",
        description="Python 3.11 the backend's environment is made from (empty: Blender's own)",
        subtype="FILE_PATH", default="")
    existing_python: StringProperty(
        name="Existing Python",
        description="An interpreter that already has the backend's packages: Check and Use "
                    "validates it and lists what is missing",
        subtype="FILE_PATH", default="")

    # The story planner's optional language model (an OpenAI-compatible chat server). Kept
    # here, not in the .blend file, so that a shared file never carries the key.
    story_llm_url: StringProperty(
        name="Story LLM URL", default="http://localhost:11434/v1",
        description="Base URL of an OpenAI-compatible chat server (llama.cpp: "
                    "http://127.0.0.1:8080/v1, Ollama: http://localhost:11434/v1). Servers not "
                    "on this computer are only called with online access allowed")
    story_llm_model: StringProperty(name="Story LLM Model", default="",
                                    description="Model name the server expects")
    story_llm_api_key: StringProperty(name="Story LLM API Key", subtype="PASSWORD", default="",
                                      description="Sent as a Bearer token; empty for none")
    story_llm_timeout_s: FloatProperty(name="Story LLM Timeout", default=60.0, min=1.0,
                                       max=600.0, unit="TIME_ABSOLUTE",
                                       description="Seconds to wait for the plan before the "
                                                   "offline planner is used instead")

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "backend_mode", expand=True)
        if self.backend_mode == "LOCAL":
            layout.prop(self, "python_path")
            if not self.python_path:
                layout.label(text="No interpreter set: press Install Backend below "
                                  "or choose one", icon="ERROR")
            layout.prop(self, "device")
        else:
            layout.prop(self, "host")
            layout.prop(self, "port")
            layout.prop(self, "token")
            layout.prop(self, "use_tls")
            if self.use_tls:
                layout.prop(self, "tls_cafile")
            elif not is_loopback(self.host):
                layout.label(text="Without TLS the token and the motion travel unencrypted: "
                                  "use TLS or a tunnel (docs/operations.md)", icon="INFO")
            if not getattr(bpy.app, "online_access", True) and not is_loopback(self.host):
                layout.label(text="Online access is disabled (Preferences > System > Network)",
                             icon="ERROR")
        layout.prop(self, "cache_dir")
        if not self.cache_dir:
            try:
                layout.label(text="Cache in use: " + user_dir("cache"))
            except OSError as e:  # pragma: no cover - unwritable user folder
                layout.label(text=f"Cache folder unavailable: {e}", icon="ERROR")
        layout.prop(self, "smplx_folder")
        if self.backend_mode == "LOCAL":
            draw_install_box(self, layout.box())
        try:
            from .panels.models import draw_model_manager
        except ImportError:
            draw_model_manager = None
        if draw_model_manager is not None:
            draw_model_manager(layout, context)
        box = layout.box()
        box.label(text="Story planner language model (optional)")
        for name in ("story_llm_url", "story_llm_model", "story_llm_api_key",
                     "story_llm_timeout_s"):
            box.prop(self, name)


# ----------------------------------------------------------------------------- install box
def draw_install_box(prefs, box) -> None:
    """Status, Install / Cancel / Retry / Update, options, log excerpt, Use existing Python."""
    from .operators import install
    box.label(text="Backend installation", icon="PACKAGE")
    try:
        target = install.activity.target or install.env_folder()
    except OSError as e:
        box.label(text=f"The extension's user folder is not writable: {e}", icon="ERROR")
        return
    status = install.status_line(target)
    icon = ("CHECKMARK" if status == "ready" else "SORTTIME" if status.startswith("installing")
            else "ERROR" if status.startswith(("failed", "needs update", "interrupted",
                                               "cancelled")) else "INFO")
    box.label(text="Status: " + status, icon=icon)
    if install.installing():
        box.operator("anima.cancel_install", icon="CANCEL")
    else:
        label = ("Update Backend" if status.startswith("needs update") or protocol_mismatch()
                 else "Retry" if status.startswith(("failed", "interrupted", "cancelled"))
                 else "" if status == "ready" else "Install Backend")
        if label:
            box.operator("anima.install_backend", text=label, icon="IMPORT")
    if protocol_mismatch():
        box.label(text="The backend speaks another protocol than this add-on: Update Backend",
                  icon="ERROR")
    if not getattr(bpy.app, "online_access", True) and not prefs.wheel_folder:
        box.label(text="Online access is off: allow it (Preferences > System > Network) or "
                       "choose a Wheel Folder", icon="ERROR")
    box.prop(prefs, "wheel_folder")
    box.prop(prefs, "torch_variant")
    box.prop(prefs, "install_base_python")
    lines = install.log_excerpt(target)
    if lines:
        col = box.column(align=True)
        col.scale_y = 0.7
        for line in lines:
            col.label(text=line[:160])
    sub = box.box()
    sub.label(text="Use existing Python")
    row = sub.row()
    row.prop(prefs, "existing_python", text="")
    row.operator("anima.check_python", icon="CHECKMARK")
    for line in install.activity.check_lines:
        sub.label(text=line[:200])


def protocol_mismatch() -> bool:
    """The running session's last error was a protocol mismatch with the backend."""
    from .operators import jobs
    session = jobs._session
    return session is not None and "protocol_mismatch" in (session.error_detail or "")


def installed_python() -> str:
    """The interpreter of the backend environment "Install Backend" made, if there is one."""
    from .backend.installer import venv_python
    try:
        path = venv_python(user_dir("backend-env"))
    except OSError:
        return ""
    return str(path) if path.exists() else ""


# ----------------------------------------------------------------------------- helpers
def get_prefs(context=None):
    """The add-on preferences, or the defaults when the add-on was loaded without the
    preferences system (e.g. imported and registered directly by a test)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_PACKAGE)
    if addon is not None and addon.preferences is not None:
        return addon.preferences
    return SimpleNamespace(**_DEFAULTS)


def user_dir(name: str) -> str:
    """A writable per-user folder of the extension (`cache`, `presets`...).

    As an extension this is `bpy.utils.extension_path_user(__package__, path=name)`; when the
    code is loaded as a legacy add-on or a plain package (tests) that raises, and a folder in
    the temporary directory is used instead.
    """
    try:
        return bpy.utils.extension_path_user(ADDON_PACKAGE, path=name, create=True)
    except (ValueError, AttributeError, OSError):
        path = os.path.join(tempfile.gettempdir(), "anima-" + ADDON_PACKAGE.replace(".", "_"), name)
        os.makedirs(path, exist_ok=True)
        return path


def resolve_cache_dir(prefs=None) -> str:
    prefs = prefs or get_prefs()
    if prefs.cache_dir:
        path = bpy.path.abspath(prefs.cache_dir)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"Cache folder {path!r} cannot be created: {e.strerror}") from e
        return path
    return user_dir("cache")


def resolve_python(prefs=None) -> str:
    """The interpreter to start the local backend with; ConfigError explains a bad setting."""
    prefs = prefs or get_prefs()
    path = prefs.python_path or default_python() or installed_python()
    if not path:
        raise ConfigError("No Python interpreter set for the local backend: press Install "
                          "Backend in the Anima add-on preferences, or choose an interpreter")
    path = bpy.path.abspath(path)
    if not os.path.isfile(path):
        raise ConfigError(f"Python interpreter not found: {path!r}. Fix the path in the Anima "
                          "add-on preferences")
    if not os.access(path, os.X_OK):
        raise ConfigError(f"Python interpreter is not executable: {path!r}")
    return path


def is_loopback(host: str) -> bool:
    """True for this computer's own addresses. Names are not resolved (that would itself be
    network access); only "localhost" is recognised by name."""
    host = (host or "").strip().strip("[]").lower()
    if host in {"localhost", "localhost.localdomain", "ip6-localhost"}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_remote_allowed(host: str) -> None:
    """Remote backends need Blender's online access unless they are on this computer."""
    if not (host or "").strip():
        raise ConfigError("No host set for the remote backend (Anima add-on preferences)")
    if not getattr(bpy.app, "online_access", True) and not is_loopback(host):
        raise ConfigError(f"Online access is disabled in Blender (Preferences > System > Network "
                          f"> Allow Online Access): connecting to remote backend {host!r} was "
                          "refused. Allow online access or use a local backend")


CLASSES = [AnimaPreferences]
