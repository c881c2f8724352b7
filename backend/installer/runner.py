"""Runs an install plan: one subprocess per step, streamed to a log, resumable, cancellable.

STANDARD LIBRARY ONLY (runs inside Blender's Python, usually on a worker thread).

    runner = Runner(InstallOptions(target=..., wheel_folder=...), cache_dir)  # InstallError
    threading.Thread(target=runner.run_quietly).start()      # Blender; runner.run() blocks
    runner.progress()   # -> Progress(index, count, step, title, line, finished, error)
    runner.cancel()     # terminates pip; the finished steps stay recorded (Retry resumes)

Each finished step writes its marker to `<target>/install-state.json` (state.py); pip's
output goes to `<target>/install.log` and the last lines are kept in `runner.lines`.
"""
from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from .. import client as client_mod
from ..protocol import ErrorCode
from .plan import (LOG_NAME, STEPS, InstallError, InstallOptions, Plan, make_plan,
                   wheel_folder_projects)
from .state import InstallState, load_state

KEEP_LINES = 200
RESERVE_BYTES = 256 * 1024     # freed on a full disk so that the failure can still be recorded
RESERVE_NAME = ".space-reserve"
TERMINATE_WAIT_S = 5.0
_NO_MATCH = re.compile(r"No matching distribution found for ([^\s;]+)")
_NO_VERSION = re.compile(r"Could not find a version that satisfies the requirement ([^\s;]+)")
_DISK_FULL = ("No space left on device", "[Errno 28]", "File too large", "[Errno 27]",
              "Disk quota exceeded", "[Errno 122]")
_NO_NETWORK = ("Failed to establish a new connection", "Temporary failure in name resolution",
               "Name or service not known", "Network is unreachable", "nodename nor servname")


@dataclass(frozen=True)
class Progress:
    index: int            # 0-based step being run (== count when finished)
    count: int
    step: str
    title: str
    line: str             # pip's last line
    finished: bool
    error: str            # "" unless the run failed or was cancelled
    error_kind: str


class Runner:
    def __init__(self, options: InstallOptions, cache_dir: str | os.PathLike):
        self.plan: Plan = make_plan(options)
        self.cache_dir = Path(cache_dir)
        self.lines: deque[str] = deque(maxlen=KEEP_LINES)
        self.backend_info: dict = {}
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._proc: subprocess.Popen | None = None
        self._index, self._finished = 0, False
        self._error, self._error_kind = "", ""
        self.log_path = self.plan.target / LOG_NAME
        self.ran_steps: list[str] = []           # steps this run executed (not skipped)
        self._previous: dict | None = None        # the running step's outdated marker

    # ------------------------------------------------------------------ public
    def progress(self) -> Progress:
        with self._lock:
            index = self._index
            step, title = STEPS[min(index, len(STEPS) - 1)]
            return Progress(index, len(STEPS), step, title, self.lines[-1] if self.lines else "",
                            self._finished, self._error, self._error_kind)

    def cancel(self) -> None:
        """Stop at once: terminate the running pip; the state stays resumable."""
        self._cancel.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()

    def run_quietly(self) -> None:
        """run() for a thread: the outcome is in progress()."""
        try:
            self.run()
        except InstallError:
            pass

    def run(self) -> Path:
        """Run the unfinished steps; returns the environment's python. InstallError if a step
        fails or the run is cancelled (recorded in the state, which stays resumable)."""
        state = load_state(self.plan.target)
        self._log(f"==== Anima backend install {time.strftime('%Y-%m-%d %H:%M:%S')}: "
                  f"python {'.'.join(map(str, self.plan.base_version))}, torch {self.plan.variant}"
                  f"{', wheel folder ' + self.plan.options.wheel_folder if self.plan.offline else ''}")
        step = ""
        reserve = self.plan.target / RESERVE_NAME
        try:
            reserve.write_bytes(b"\0" * RESERVE_BYTES)
            state.set_status("running")
            for index, (step, title) in enumerate(STEPS):
                with self._lock:
                    self._index = index
                if self._cancel.is_set():
                    raise InstallError("Install cancelled; press Retry to resume", "cancelled",
                                       step)
                if self._finished_before(state, step):
                    self._log(f"---- {index + 1}/{len(STEPS)} {title}: done before, skipped")
                    continue
                # A pip step that was started and did not finish (failure, cancel, kill) may
                # have left half-copied packages that pip takes for installed: forget them.
                if state.data.get("started") == step:
                    self._forget_partial_installs()
                self._previous = state.marker(step)      # another build's marker: redo it
                state.data["started"] = step
                state.forget_from(step)                  # saves the record
                self._log(f"---- {index + 1}/{len(STEPS)} {title}")
                note = getattr(self, "_step_" + step)()
                self.ran_steps.append(step)
                state.data.pop("started", None)
                state.mark_done(step, self.plan.keys[step], note or "")
            state.set_status("ready", python=str(self.plan.python),
                             addon_version=self.plan.addon_version,
                             requirements_sha256=self.plan.requirements_sha256,
                             requirements=str(self.plan.options.requirements),
                             variant=self.plan.variant, backend=self.backend_info)
            self._log("==== ready: " + str(self.plan.python))
        except InstallError as e:
            e.step = e.step or step
            self._fail(state, e, reserve)
            raise
        except OSError as e:
            err = self._os_error(e, step)
            self._fail(state, err, reserve)
            raise err from e
        reserve.unlink(missing_ok=True)
        with self._lock:
            self._index, self._finished = len(STEPS), True
        return self.plan.python

    # ------------------------------------------------------------------ steps
    def _finished_before(self, state: InstallState, step: str) -> bool:
        if not state.done(step, self.plan.keys[step]):
            return False
        return self.plan.python.exists()      # a deleted environment is made again

    def _step_venv(self) -> str:
        args = [self.plan.options.base_python, "-m", "venv"]
        if self.plan.venv_dir.exists():
            args.append("--clear")              # a half-made environment from an interrupt
        self._run(args + [str(self.plan.venv_dir)], "venv")
        if not self.plan.python.exists():
            raise InstallError(f"The virtual environment was created but has no interpreter "
                               f"at {self.plan.python}", "step_failed", "venv")
        return str(self.plan.python)

    def _step_pip(self) -> str:
        if self.plan.offline and "pip" not in wheel_folder_projects(self.plan.options.wheel_folder):
            self._log("the wheel folder has no pip wheel: keeping the environment's own pip")
            return "kept the bundled pip (no pip wheel in the wheel folder)"
        self._pip(["--upgrade", "pip", *self.plan.pip_source_args()], "pip")
        return ""

    def _step_torch(self) -> str:
        # pip keeps an installed torch==2.13.0 of another build (cpu vs cuda): replace it.
        switch = ["--force-reinstall"] if self._previous is not None else []
        self._pip([*switch, *self.plan.torch_args()], "torch")
        return self.plan.options.torch_spec + " " + self.plan.variant

    def _step_requirements(self) -> str:
        self._pip(["-r", self.plan.options.requirements, *self.plan.pip_source_args()],
                  "requirements")
        return self.plan.requirements_sha256

    def _step_verify(self) -> str:
        self._log(f"starting {self.plan.python} -m backend serve --stdio "
                  f"(device {self.plan.backend_device()}, cache {self.cache_dir})")
        try:
            client = client_mod.BackendClient.spawn(
                self.plan.python, self.cache_dir, device=self.plan.backend_device(),
                cwd=self.plan.options.addon_dir, extra_env={"PYTHONNOUSERSITE": "1"})
        except client_mod.BackendError as e:
            self._log(str(e))
            if e.code == ErrorCode.PROTOCOL_MISMATCH:
                raise InstallError(f"The installed backend speaks another protocol: "
                                   f"{e.message}", "verify_failed", "verify") from e
            first = (e.message or e.code).strip().splitlines()[0]
            raise InstallError(f"The backend was installed but did not start: {first} "
                               f"(see {self.log_path} and backend.log in {self.cache_dir})",
                               "verify_failed", "verify") from e
        try:
            self.backend_info = {k: client.info.get(k) for k in (
                "server_version", "protocol", "device", "capabilities", "unavailable")}
        finally:
            client.close()
        self._log(f"handshake OK: backend {self.backend_info.get('server_version')}, "
                  f"protocol {self.backend_info.get('protocol')}, device "
                  f"{self.backend_info.get('device')}, jobs "
                  f"{', '.join(self.backend_info.get('capabilities') or [])}")
        for module, why in (self.backend_info.get("unavailable") or {}).items():
            self._log(f"note: {module} unavailable: {why}")
        return f"device {self.backend_info.get('device')}"

    # ------------------------------------------------------------------ subprocesses
    def _pip(self, args: list[str], step: str) -> None:
        self._run([str(self.plan.python), "-m", "pip", "install", "--progress-bar", "off",
                   "--disable-pip-version-check", "--no-input", *args], step)

    def _forget_partial_installs(self) -> None:
        """Remove the metadata of packages pip began but did not finish installing (pip
        writes a distribution's RECORD last): the step then installs them again."""
        for dist_info in self.plan.venv_dir.glob("[Ll]ib/**/site-packages/*.dist-info"):
            if dist_info.is_dir() and not (dist_info / "RECORD").exists():
                self._log(f"half-installed {dist_info.name}: installing it again")
                shutil.rmtree(dist_info, ignore_errors=True)

    def _run(self, command: list[str], step: str) -> None:
        """Run one command, streaming its output to the log; InstallError unless it succeeds."""
        self._log("$ " + " ".join(command))
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        with self._lock:
            if self._cancel.is_set():
                raise InstallError("Install cancelled; press Retry to resume", "cancelled", step)
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=self.plan.pip_env(),
                                    text=True, encoding="utf-8", errors="replace",
                                    bufsize=1, creationflags=flags)
            self._proc = proc
        tail: deque[str] = deque(maxlen=KEEP_LINES)
        try:
            for line in proc.stdout:
                line = line.rstrip()
                if line:
                    tail.append(line)
                    self._log(line)
        finally:
            proc.stdout.close()
            try:
                code = proc.wait(TERMINATE_WAIT_S if self._cancel.is_set() else None)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            with self._lock:
                self._proc = None
        if self._cancel.is_set():
            raise InstallError("Install cancelled; press Retry to resume", "cancelled", step)
        if code != 0:
            raise self._classify(list(tail), code, step)

    def _classify(self, lines: list[str], code: int, step: str) -> InstallError:
        """The user's message for a failed command, from its output."""
        title = dict(STEPS)[step]
        text = "\n".join(lines)
        if any(marker in text for marker in _DISK_FULL):
            return self._disk_full(step, next(l for l in lines if any(m in l for m in _DISK_FULL)))
        for pattern in (_NO_MATCH, _NO_VERSION):
            found = pattern.findall(text)
            if found:
                package = found[-1]
                if self.plan.offline:
                    msg = (f"The wheel folder {self.plan.options.wheel_folder} has no wheel of "
                           f"{package} for this Python and system (needed in step '{title}'). "
                           f"Add it and press Retry: the install resumes there")
                else:
                    msg = (f"pip found no installable {package} for Python "
                           f"{'.'.join(map(str, self.plan.base_version[:2]))} on this system "
                           f"(step '{title}'); see {self.log_path}")
                return InstallError(msg, "missing_package", step)
        if any(marker in text for marker in _NO_NETWORK):
            return InstallError(f"pip could not reach the package index in step '{title}' (no "
                                f"network?). Connect, or choose a Wheel Folder for an offline "
                                f"install, and press Retry", "offline", step)
        last = lines[-1] if lines else "no output"
        return InstallError(f"Step '{title}' failed (exit status {code}): {last[:300]}. "
                            f"Full log: {self.log_path}", "step_failed", step)

    def _disk_full(self, step: str, line: str) -> InstallError:
        return InstallError(f"The disk is full: writing to {self.plan.target} failed in step "
                            f"'{dict(STEPS)[step]}' ({line.strip()[:200]}). Free space (torch "
                            f"needs about 1 GB, its CUDA build about 5 GB) and press Retry: "
                            f"the install resumes at that step", "disk_full", step)

    def _os_error(self, e: OSError, step: str) -> InstallError:
        if e.errno in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", -1)):
            return self._disk_full(step, str(e))
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return InstallError(f"The folder {self.plan.target} is not writable ({e}); nothing "
                                f"more was installed", "not_writable", step)
        return InstallError(f"Step '{dict(STEPS).get(step, step)}' failed: {e}",
                            "step_failed", step)

    # ------------------------------------------------------------------ bookkeeping
    def _fail(self, state: InstallState, error: InstallError, reserve: Path) -> None:
        try:
            reserve.unlink(missing_ok=True)        # room for the record on a full disk
        except OSError:
            pass
        status = "cancelled" if error.kind == "cancelled" else "failed"
        with self._lock:
            self._error, self._error_kind, self._finished = str(error), error.kind, True
        self._log(f"==== {status}: {error}")
        try:
            state.set_status(status, str(error), error.kind, error.step)
        except OSError:
            pass                    # a full disk may refuse even this; the markers stand

    def _log(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)
        try:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        except OSError:
            pass                    # the log is a convenience; a full disk is reported anyway
