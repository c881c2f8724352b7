"""What an install will do, decided and checked before anything is written.

STANDARD LIBRARY ONLY (runs inside Blender's Python).

    options = InstallOptions(target="/…/backend-env", base_python=sys.executable)
    plan = make_plan(options)       # InstallError with a message for the user, nothing written
    plan.variant                    # "cpu" | "cuda" | "mps"
    plan.keys["torch"]              # what the torch step's marker must say to count as done

Layout of `target`: `venv/` (the virtual environment), `install-state.json` (finished steps),
`install.log` (pip's output). The backend code itself is not installed: the add-on ships it
and starts `python -m backend` with the add-on folder as working directory.
"""
from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ADDON_DIR = Path(__file__).resolve().parents[2]        # the folder holding `backend/`
REQUIREMENTS_NAME = "requirements-backend.txt"
MANIFEST_NAME = "blender_manifest.toml"
VENV_SUBDIR = "venv"
STATE_NAME = "install-state.json"
LOG_NAME = "install.log"

# Python versions the pinned backend packages are built and tested for (numpy<2, torch 2.13.0,
# mujoco): Blender 4.2 LTS, 4.5 LTS and 5.0 all bundle Python 3.11.
SUPPORTED_PYTHONS = ((3, 11),)
TORCH_SPEC = "torch==2.13.0"        # keep equal to the Makefile's TORCH_SPEC (a test checks)
TORCH_VARIANTS = ("cpu", "cuda", "mps")
CPU_INDEX_URL = "https://download.pytorch.org/whl/cpu"
# PyPI's Linux torch wheels are CUDA builds and its macOS ones use MPS; Windows needs the CUDA
# index (PyPI's Windows wheel is CPU only).
WINDOWS_CUDA_INDEX_URL = "https://download.pytorch.org/whl/cu128"
PROBE_TIMEOUT_S = 60.0

# Steps in order: (id, title). A re-run resumes at the first step whose marker is missing or
# was made for other inputs (see Plan.keys).
STEPS = (
    ("venv", "Create the virtual environment"),
    ("pip", "Upgrade pip"),
    ("torch", "Install torch"),
    ("requirements", "Install the backend requirements"),
    ("verify", "Start the backend and check the handshake"),
)
STEP_IDS = tuple(step for step, _ in STEPS)


class InstallError(Exception):
    """Why an install cannot start or stopped; str() is a message for the user.

    kind: python_version | not_writable | offline | wheel_folder | missing_package |
    disk_full | cancelled | step_failed | verify_failed."""

    def __init__(self, message: str, kind: str = "step_failed", step: str = ""):
        super().__init__(message)
        self.kind = kind
        self.step = step


@dataclass
class InstallOptions:
    """What the user chose. target: the folder the add-on gives the backend (its user dir)."""
    target: str
    base_python: str = sys.executable
    wheel_folder: str = ""             # offline: pip --no-index --find-links <folder>
    torch_variant: str = "auto"        # auto | cpu | cuda | mps
    online_access: bool = True         # Blender's bpy.app.online_access
    requirements: str = str(ADDON_DIR / REQUIREMENTS_NAME)
    addon_dir: str = str(ADDON_DIR)
    torch_spec: str = TORCH_SPEC
    torch_index_url: str = ""          # overrides the variant's index (online only)
    device: str = ""                   # backend --device for the check; "" follows the variant


@dataclass
class Plan:
    options: InstallOptions
    variant: str
    base_version: tuple[int, int, int]
    addon_version: str
    requirements_sha256: str
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> Path:
        return Path(self.options.target)

    @property
    def venv_dir(self) -> Path:
        return self.target / VENV_SUBDIR

    @property
    def python(self) -> Path:
        return venv_python(self.target)

    @property
    def offline(self) -> bool:
        return bool(self.options.wheel_folder)

    def pip_source_args(self) -> list[str]:
        if self.offline:
            return ["--no-index", "--find-links", self.options.wheel_folder]
        return []

    def torch_args(self) -> list[str]:
        args = [self.options.torch_spec, *self.pip_source_args()]
        if not self.offline:
            index = self.options.torch_index_url or torch_index_url(self.variant)
            if index:
                args += ["--index-url", index]
        return args

    def backend_device(self) -> str:
        return self.options.device or {"cpu": "cpu", "cuda": "cuda"}.get(self.variant, "auto")

    def pip_env(self) -> dict[str, str]:
        """Environment for pip and the backend: never Blender's PYTHONHOME/PYTHONPATH or the
        user's site-packages; offline, no pip configuration either (its indexes and
        find-links would mix other sources into the wheel folder)."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
        env.update(PYTHONNOUSERSITE="1", PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1",
                   PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
        if self.offline:
            env = {k: v for k, v in env.items() if not k.startswith("PIP_")}
            env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1",
                       PIP_NO_INPUT="1")
        return env


# ----------------------------------------------------------------------------- small facts
def venv_python(target: str | os.PathLike) -> Path:
    """The interpreter of the environment installed under `target`."""
    venv = Path(target) / VENV_SUBDIR
    return venv / "Scripts" / "python.exe" if os.name == "nt" else venv / "bin" / "python"


def torch_index_url(variant: str) -> str:
    """The pip index of the variant's torch build ("" = pip's default, PyPI)."""
    if variant == "cpu" and sys.platform != "darwin":
        return CPU_INDEX_URL
    if variant == "cuda" and os.name == "nt":
        return WINDOWS_CUDA_INDEX_URL
    return ""


def detect_torch_variant(system: str = sys.platform, machine: str = platform.machine(),
                         which=shutil.which) -> str:
    """cuda when `nvidia-smi` is on PATH, mps on Apple silicon, else cpu."""
    if system == "darwin":
        return "mps" if machine.lower() in ("arm64", "aarch64") else "cpu"
    return "cuda" if which("nvidia-smi") else "cpu"


def addon_version(addon_dir: str | os.PathLike = ADDON_DIR) -> str:
    """`version` of the add-on's blender_manifest.toml ("" if it cannot be read)."""
    try:
        with open(Path(addon_dir) / MANIFEST_NAME, "rb") as f:
            return str(tomllib.load(f).get("version", ""))
    except (OSError, tomllib.TOMLDecodeError):
        return ""


def normalise(name: str) -> str:
    """PEP 503 project name: case and runs of -_. do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;#]*)")


def parse_requirements(path: str | os.PathLike) -> list[tuple[str, str]]:
    """[(project name, version specifier)] of a requirements file; comments, blank lines
    and pip options (lines starting with '-') are skipped."""
    out = []
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        m = _NAME.match(line)
        if m:
            out.append((m.group(1), m.group(3).strip()))
    return out


def file_sha256(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def wheel_folder_projects(folder: str | os.PathLike) -> dict[str, list[str]]:
    """{normalised project: [file names]} of the wheels and source archives in `folder`."""
    projects: dict[str, list[str]] = {}
    for entry in sorted(os.listdir(folder)):
        if entry.endswith(".whl"):
            name = entry.split("-", 1)[0]
        elif entry.endswith((".tar.gz", ".zip", ".tar.bz2")):
            name = re.sub(r"\.(tar\.gz|zip|tar\.bz2)$", "", entry).rsplit("-", 1)[0]
        else:
            continue
        projects.setdefault(normalise(name), []).append(entry)
    return projects


# ----------------------------------------------------------------------------- checks
def python_version(python: str) -> tuple[int, int, int]:
    """(major, minor, micro) of an interpreter, asked in a subprocess."""
    code = "import sys; print('%d %d %d' % sys.version_info[:3])"
    try:
        out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True,
                             timeout=PROBE_TIMEOUT_S, env=_clean_env())
    except (OSError, subprocess.TimeoutExpired) as e:
        raise InstallError(f"The Python interpreter {python!r} cannot be started: {e}",
                           "python_version") from e
    parts = out.stdout.split()
    if out.returncode != 0 or len(parts) != 3:
        raise InstallError(f"{python!r} did not report a Python version (exit status "
                           f"{out.returncode}): {out.stderr.strip()[-300:]}", "python_version")
    return tuple(int(p) for p in parts)  # type: ignore[return-value]


def supported_text() -> str:
    return " or ".join(f"{a}.{b}" for a, b in SUPPORTED_PYTHONS)


def check_base_python(python: str) -> tuple[int, int, int]:
    """The version of a usable base interpreter; InstallError says exactly what is wrong."""
    if not python:
        raise InstallError("No base Python chosen: choose a Python " + supported_text()
                           + " interpreter", "python_version")
    if not os.path.isfile(python):
        raise InstallError(f"The base Python {python!r} does not exist", "python_version")
    if os.path.basename(python).lower().startswith("blender"):
        raise InstallError(f"This Blender has its Python built into the program ({python}), "
                           f"which cannot make a virtual environment: choose a Python "
                           f"{supported_text()} interpreter as the Base Python", "python_version")
    version = python_version(python)
    if version[:2] not in SUPPORTED_PYTHONS:
        raise InstallError(
            f"{python} is Python {'.'.join(map(str, version))}, but the Anima backend needs "
            f"Python {supported_text()} (its packages, e.g. numpy<2 and {TORCH_SPEC}, are "
            f"pinned and tested for it). Choose a Python {supported_text()} interpreter as the "
            f"base (Blender 4.2 to 5.0 bundle one)", "python_version")
    probe = subprocess.run([python, "-I", "-c", "import venv, ensurepip"], capture_output=True,
                           text=True, timeout=PROBE_TIMEOUT_S, env=_clean_env())
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no error text"])[-1]
        raise InstallError(f"{python} cannot create virtual environments (its venv/ensurepip "
                           f"modules are missing: {last}). Choose another Python "
                           f"{supported_text()} as the base interpreter", "python_version")
    return version


def check_writable(target: str | os.PathLike) -> None:
    """Create `target` and prove it writable with a temporary file."""
    path = Path(target)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as e:
        raise InstallError(f"The folder {str(path)!r} for the backend is not writable "
                           f"({e.strerror or e}). Fix its permissions or free the drive; "
                           f"nothing was installed", "not_writable") from e


def check_online(options: InstallOptions) -> None:
    """Downloads need Blender's online access; a wheel folder does not."""
    if not options.wheel_folder and not options.online_access:
        raise InstallError(
            "Online access is off in Blender (Preferences > System > Network > Allow "
            "Online Access), so the backend's packages cannot be downloaded. Allow online "
            "access, or choose a Wheel Folder holding the packages' wheels (offline "
            "install); nothing was installed", "offline")


def check_wheel_folder(options: InstallOptions, requirements: list[tuple[str, str]]) -> None:
    """Every package named in the requirements (and torch) has a file in the wheel folder."""
    if not options.wheel_folder:
        return
    folder = options.wheel_folder
    if not os.path.isdir(folder):
        raise InstallError(f"The wheel folder {folder!r} does not exist", "wheel_folder")
    have = wheel_folder_projects(folder)
    wanted = [("torch", options.torch_spec), *((n, n + s) for n, s in requirements)]
    missing = [spec for name, spec in wanted if normalise(name) not in have]
    if missing:
        raise InstallError(f"The wheel folder {folder} has no package for: "
                           f"{', '.join(missing)}. Add the wheels (e.g. `pip download "
                           f"{' '.join(missing)}` on a computer with internet access, same "
                           f"Python and system) and press Retry", "missing_package")


def make_plan(options: InstallOptions) -> Plan:
    """Check everything that can be checked without installing; InstallError if not OK."""
    requirements_path = Path(options.requirements)
    if not requirements_path.is_file():
        raise InstallError(f"The add-on is incomplete: {requirements_path} is missing",
                           "step_failed")
    requirements = parse_requirements(requirements_path)
    check_online(options)                          # refused before anything else
    base_version = check_base_python(options.base_python)
    check_wheel_folder(options, requirements)
    check_writable(options.target)
    variant = options.torch_variant.lower()
    if variant == "auto":
        variant = detect_torch_variant()
    if variant not in TORCH_VARIANTS:
        raise InstallError(f"Unknown torch variant {options.torch_variant!r}: choose one of "
                           f"auto, {', '.join(TORCH_VARIANTS)}", "step_failed")
    plan = Plan(options, variant, base_version, addon_version(options.addon_dir),
                file_sha256(requirements_path))
    plan.keys = step_keys(plan)
    return plan


def step_keys(plan: Plan) -> dict[str, str]:
    """What each step's marker records; a step whose key changed is done again (upgrades)."""
    from ..protocol import PROTOCOL_VERSION
    py = "%d.%d" % plan.base_version[:2]
    return {
        "venv": f"python {py}",
        "pip": f"python {py}",
        "torch": f"{plan.options.torch_spec} {plan.variant} "
                 f"{plan.options.torch_index_url or torch_index_url(plan.variant)}".strip(),
        "requirements": f"sha256 {plan.requirements_sha256}",
        "verify": f"add-on {plan.addon_version} protocol {PROTOCOL_VERSION}",
    }


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
