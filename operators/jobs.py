"""The backend session: one BackendClient per Blender process, and the event pump.

    session = get_session()
    record = session.submit("search", params, label=prompt, on_result=apply_fn,
                            undo_message="Anima: ...")      # UI: returns at once
    result = run_blocking("sleep", {"seconds": 1})           # scripts, tests: blocks

With a UI, `submit` returns at once; a `bpy.app.timers` pump (`pump`) drains the client's
event queue on the main thread, mirrors progress into `WindowManager.anima` (for the panel)
and the status bar, and applies a result by calling the job's `on_result` followed by one
undo push. The backend is started on a worker thread so Blender never freezes while it loads.

In background mode (`bpy.app.background`) timers never run, so `submit` starts the backend,
waits for the job (`client.wait`) and applies the result before it returns.

A backend that dies (killed, out of memory: `backend_died`) or stops answering (no heartbeat:
`backend_hung`, from the client's watchdog) is reported (state DEAD, `failure` naming which, a
message naming the cause, a Restart button in the panel); the job it was running is kept and
`restart(resubmit=True)` submits it again. The scene is only ever changed by `on_result`, on the
main thread, after a complete result. While a job waits in the backend's queue behind other
jobs (a shared remote backend), the server's `queued` events put its place in the panel
("2 jobs ahead").
"""
from __future__ import annotations

import atexit
import threading
import time
import traceback
from typing import Any, Callable

import bpy

from .. import preferences
from ..backend import client as client_mod
from ..backend.protocol import ErrorCode
# Re-exported: operators, panels and scripts use them as jobs.JobFailed, jobs.local_path ...
from .job_records import (DEAD, ERROR, LOSS_CODES, OUT_OF_MEMORY_HINT, READY,  # noqa: F401
                          STARTING, STOPPED, JobFailed, JobRecord, local_path, queue_text,
                          user_message)
from .job_state import (CLASSES, PROPS, AnimaAlternative, AnimaRuntime,  # noqa: F401
                        set_alternatives)

BUSY_INTERVAL_S = 0.1        # pump period while a job runs or the backend starts
IDLE_INTERVAL_S = 1.0        # pump period while idle (notices a backend that died)



def _config(context=None) -> dict:
    """Plain values from the preferences (ConfigError for the user), so that the worker
    thread never touches bpy."""
    prefs = preferences.get_prefs(context)
    cfg = {"mode": prefs.backend_mode, "cache_dir": preferences.resolve_cache_dir(prefs),
           "device": prefs.device.lower()}
    if prefs.backend_mode == "REMOTE":
        preferences.check_remote_allowed(prefs.host)
        cfg.update(host=prefs.host.strip(), port=int(prefs.port), token=prefs.token,
                   tls=bool(prefs.use_tls), cafile=bpy.path.abspath(prefs.tls_cafile) or None)
        cfg["describe"] = f"remote {cfg['host']}:{cfg['port']}"
    else:
        cfg["python"] = preferences.resolve_python(prefs)
        cfg["describe"] = "local"
    return cfg


def _make_client(cfg: dict):
    if cfg["mode"] == "REMOTE":
        return client_mod.BackendClient.connect(cfg["host"], cfg["port"], cfg["token"],
                                                cfg["cache_dir"], tls=cfg.get("tls", False),
                                                cafile=cfg.get("cafile"))
    return client_mod.BackendClient.spawn(cfg["python"], cfg["cache_dir"], device=cfg["device"])


class Session:
    """The one backend connection of this Blender process (see get_session)."""

    def __init__(self):
        self.client = None
        self.state = STOPPED
        self.error = ""              # one line for the panel
        self.error_detail = ""       # full text (log tail...), printed to the console
        self.failure = ""            # DEAD: the error code that killed it (LOSS_CODES)
        self.noticed_at = 0.0        # time.monotonic() when the loss was noticed
        self.describe = ""
        self.job: JobRecord | None = None        # running (submitted) job
        self.pending: JobRecord | None = None    # waiting for the backend to start
        self.lost_job: JobRecord | None = None   # interrupted by a backend death
        self.last: JobRecord | None = None       # last finished job
        self._starter: threading.Thread | None = None
        self._start_outcome = None               # client or BaseException, from the thread
        self._generation = 0                     # invalidates a starter after stop()
        self.stale_config = False                # preferences changed while busy
        self.config: dict = {}                   # the settings the backend was started with
        self._status_bar_text = None             # what we last put in the status bar
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        return self.job is not None or self.pending is not None

    @property
    def alive(self) -> bool:
        return self.client is not None and self.client.alive

    @property
    def progress(self) -> float:
        rec = self.job or self.pending
        return rec.progress if rec else 0.0

    def status_text(self) -> str:
        rec = self.job or self.pending
        if rec is not None:
            what = f"“{rec.label[:40]}”" if rec.label else rec.kind
            if self.state == STARTING:
                return f"Anima: starting the backend for {what}..."
            if rec.ahead > 0:
                return f"Anima: {what} queued, {queue_text(rec.ahead)}"
            pct = int(round(rec.progress * 100))
            return f"Anima: {what} {pct}% {rec.message}".rstrip()
        dead = ("Backend stopped answering" if self.failure == ErrorCode.BACKEND_HUNG
                else "Backend stopped unexpectedly")
        return {STOPPED: "Backend not running", STARTING: "Starting the backend...",
                READY: f"Backend ready ({self.describe}"
                       f"{', ' + self.device if self.device else ''})",
                DEAD: dead, ERROR: "Backend could not start"}[self.state]

    @property
    def device(self) -> str:
        return str((self.client.info or {}).get("device", "")) if self.client else ""

    def _fail_state(self, state: str, exc_or_msg) -> str:
        msg = exc_or_msg if isinstance(exc_or_msg, str) else user_message(exc_or_msg)
        self.state = state
        self.error = msg
        self.failure = getattr(exc_or_msg, "code", "") if state == DEAD else ""
        if state == DEAD:
            self.noticed_at = time.monotonic()
        self.error_detail = exc_or_msg if isinstance(exc_or_msg, str) else str(exc_or_msg)
        if self.error_detail != msg:
            print(f"Anima: {self.error_detail}")
        return msg

    # ------------------------------------------------------------------ start / stop
    def start(self, context=None, block: bool | None = None) -> None:
        """Start (or connect to) the backend if it is not running. Raises JobFailed for a
        configuration problem or, when blocking, a failed start."""
        if self.alive or self.state == STARTING:
            return
        block = bpy.app.background if block is None else block
        self._close_client()
        try:
            cfg = _config(context)
        except preferences.ConfigError as e:
            msg = self._fail_state(ERROR, str(e))
            self.sync()
            raise JobFailed(msg, "config") from None
        self.describe = cfg["describe"]
        self.config = cfg
        self.stale_config = False
        self.error = self.error_detail = self.failure = ""
        self.lost_job = None            # restart() took it already; a plain start forgets it
        self.state = STARTING
        if block:
            try:
                client = _make_client(cfg)
            except client_mod.BackendError as e:
                msg = self._fail_state(ERROR, e)
                self.sync()
                raise JobFailed(msg, e.code) from None
            self._started(client)
            return
        self._generation += 1
        generation = self._generation

        def worker():
            try:
                outcome = _make_client(cfg)
            except BaseException as e:  # noqa: BLE001 - reported on the main thread
                outcome = e
            with self._lock:
                if generation == self._generation:
                    self._start_outcome = outcome
                    return
            if not isinstance(outcome, BaseException):   # stopped meanwhile
                outcome.close()

        self._start_outcome = None
        self._starter = threading.Thread(target=worker, name="anima-backend-start", daemon=True)
        self._starter.start()
        ensure_pump()
        self.sync()

    def _started(self, client) -> None:
        self.client = client
        self.state = READY
        self.error = self.error_detail = self.failure = ""
        self.sync()

    def stop(self) -> None:
        """Close the backend (a running job is dropped, the scene is untouched)."""
        with self._lock:
            self._generation += 1
            self._start_outcome = None
        self._close_client()
        self.job = self.pending = None
        self.state = STOPPED
        self.sync()

    def restart(self, context=None, resubmit: bool = True, block: bool | None = None) -> None:
        """Stop, start again, and (resubmit=True) resubmit a job the backend lost when it died."""
        lost = self.lost_job or (self.job if self.state == DEAD else None)
        self.stop()
        self.error = self.error_detail = ""
        self.lost_job = None
        self.start(context, block=block)
        if resubmit and lost is not None:
            self.submit(lost.kind, lost.params, label=lost.label, on_result=lost.on_result,
                        undo_message=lost.undo_message, context=context, block=block)

    def _close_client(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing a dead client must not raise
                pass

    # ------------------------------------------------------------------ jobs
    def _check_capability(self, kind: str) -> None:
        info = self.client.info or {}
        caps = info.get("capabilities")
        if caps is not None and kind not in caps:
            why = ""
            for module, reason in (info.get("unavailable") or {}).items():
                why += f"; {module}: {reason}"
            raise JobFailed(f"The backend cannot run {kind!r} jobs (it offers "
                            f"{', '.join(caps) or 'none'}){why}", ErrorCode.UNKNOWN_JOB_KIND)

    def submit(self, kind: str, params: dict, *, label: str = "",
               on_result: Callable[[dict], Any] | None = None, undo_message: str = "",
               context=None, block: bool | None = None) -> JobRecord:
        """Run a job and apply its result with `on_result(result)` on the main thread.

        block=None: blocking in background mode, asynchronous with a UI. A blocking call
        returns the finished record (check .error); an asynchronous one returns at once.
        Raises JobFailed when the job cannot even be submitted (bad configuration, backend
        start failure, another job running)."""
        block = bpy.app.background if block is None else block
        if self.busy:
            raise JobFailed("Anima is already working on a job: wait or cancel it", "busy")
        record = JobRecord(kind, dict(params), label, on_result, undo_message)
        if block:
            self.start(context, block=True)
            self._check_capability(kind)
            self._run_blocking(record)
            self._finish(record, push_undo=False)
            return record
        self.start(context, block=False)
        if self.state == STARTING:
            self.pending = record
        else:
            self._send(record)
        ensure_pump()
        self.sync()
        return record

    def _send(self, record: JobRecord) -> None:
        self._check_capability(record.kind)
        try:
            record.job_id = self.client.submit(record.kind, record.params)
        except client_mod.BackendError as e:
            if not self.client.alive:
                self._fail_state(DEAD, e)
                self.lost_job = record
            raise JobFailed(user_message(e), e.code) from None
        self.job = record

    def _run_blocking(self, record: JobRecord, timeout: float | None = None,
                      on_progress: Callable[[float, str], Any] | None = None) -> None:
        try:
            record.job_id = self.client.submit(record.kind, record.params)
        except client_mod.BackendError as e:
            record.error, record.code = user_message(e), e.code
            if not self.client.alive:
                self._fail_state(DEAD, e)
                self.lost_job = record
            return
        self.job = record
        self.sync()

        def progress(fraction, message):
            record.progress, record.message = float(fraction), message
            if on_progress is not None:
                on_progress(fraction, message)
            self.sync()

        try:
            record.result = self.client.wait(record.job_id, timeout, progress)
            record.progress = 1.0
        except client_mod.BackendError as e:
            record.error, record.code = user_message(e), e.code
            if e.code == ErrorCode.TIMEOUT:
                self.cancel()
            elif e.code == ErrorCode.BACKEND_DIED or not self.client.alive:
                self._fail_state(DEAD, e)
                self.lost_job = record
        finally:
            self.job = None
            self._drain_stale()

    def run_blocking(self, kind: str, params: dict, timeout: float | None = None,
                     on_progress: Callable[[float, str], Any] | None = None,
                     context=None) -> dict:
        """Submit a job, wait for it and return its result dict (no on_result). Works with
        or without a UI. Raises JobFailed (.code: 'cancelled', 'backend_died', ...)."""
        if self.busy:
            raise JobFailed("Anima is already working on a job: wait or cancel it", "busy")
        self.start(context, block=True)
        self._check_capability(kind)
        record = JobRecord(kind, dict(params))
        self._run_blocking(record, timeout, on_progress)
        record.done = True
        self.last = record
        self.sync()
        if record.error:
            raise JobFailed(record.error, record.code)
        return record.result

    def cancel(self) -> bool:
        """Cancel the running job (the backend answers within a fraction of a second).
        May be called from another thread to interrupt a blocking wait."""
        main = threading.current_thread() is threading.main_thread()
        if self.pending is not None and main:
            rec, self.pending = self.pending, None
            rec.done, rec.error, rec.code = True, "Cancelled", ErrorCode.CANCELLED
            self.last = rec
            self.sync()
            return True
        rec = self.job
        if rec is None or rec.job_id is None or self.client is None:
            return False
        try:
            self.client.cancel(rec.job_id)
        except client_mod.BackendError:
            pass                       # dead: the pump reports it
        rec.message = "cancelling..."
        if main:                       # bpy is for the main thread only
            self.sync()
        return True

    def _finish(self, record: JobRecord, push_undo: bool) -> None:
        """Apply a finished job's result (main thread) and remember it."""
        record.done = True
        if not record.error and record.on_result is not None:
            try:
                out = record.on_result(record.result)
                record.applied_name = getattr(out, "name", "") or ""
                if push_undo:
                    _undo_push(record.undo_message or f"Anima: {record.kind}")
            except Exception as e:  # noqa: BLE001 - shown in the panel
                record.error, record.code = user_message(e), "apply_failed"
                traceback.print_exc()
        if record.error and record.code != ErrorCode.CANCELLED and self.state != DEAD:
            self.error = record.error
        elif not record.error and self.state == READY:
            self.error = ""
        self.last = record
        if self.stale_config and not self.busy:
            self.stale_config = False
            self.stop()
        self.sync()

    def _drain_stale(self) -> None:
        """Drop queued events of jobs nobody follows any more (and notice a death)."""
        if self.client is None:
            return
        for event in self.client.poll(1000):
            if event.job_id is None and event.type == "error" and self.state != DEAD:
                if event.payload.get("code") in LOSS_CODES:
                    self._fail_state(DEAD, event.as_error())

    # ------------------------------------------------------------------ pump
    def pump(self) -> float | None:
        """One tick: pick up a started backend, drain events, apply results, notice a death.
        Returns the delay until the next tick, or None when there is nothing to watch."""
        if self.state == STARTING:
            with self._lock:
                outcome, self._start_outcome = self._start_outcome, None
            if outcome is None:
                self.sync()
                return BUSY_INTERVAL_S
            if isinstance(outcome, BaseException):
                msg = self._fail_state(ERROR, outcome)
                rec, self.pending = self.pending, None
                if rec is not None:
                    rec.error, rec.code = msg, getattr(outcome, "code", "")
                    self._finish(rec, push_undo=False)
                self.sync()
                return None
            self._started(outcome)
            rec, self.pending = self.pending, None
            if rec is not None:
                try:
                    self._send(rec)
                except JobFailed as e:
                    rec.error, rec.code = str(e), e.code
                    self._finish(rec, push_undo=False)
        if self.client is None:
            self.sync()
            return None
        for event in self.client.poll(200):
            self._on_event(event)
        if self.client is not None and not self.client.alive and self.state == READY:
            # The reader thread (or the watchdog) queues a backend_died (backend_hung) event;
            # this catches the case where that event has not been read yet.
            self._on_death(self._loss_error(self.client))
        self.sync()
        if self.state == DEAD:
            return None
        return BUSY_INTERVAL_S if self.busy else IDLE_INTERVAL_S

    @staticmethod
    def _loss_error(client) -> "client_mod.BackendError":
        """Why a client that is no longer alive was lost (hung, or the process ended)."""
        if getattr(client, "hung", False):
            return client_mod.BackendError(ErrorCode.BACKEND_HUNG,
                                           "the backend stopped answering")
        proc = client.process
        code = proc.poll() if proc is not None else None
        if code is None:
            return client_mod.BackendError(ErrorCode.BACKEND_DIED,
                                           "the connection to the backend was lost")
        return client_mod.BackendError(ErrorCode.BACKEND_DIED, f"the backend process exited "
                                       f"with code {code}{client_mod.describe_signal(code)}")

    def _on_event(self, event) -> None:
        rec = self.job
        if event.job_id is None:
            if event.type == "error" and event.payload.get("code") in (
                    *LOSS_CODES, ErrorCode.CLIENT_CLOSED):
                if self.state not in (STOPPED, DEAD):
                    self._on_death(event.as_error())
            return
        if rec is None or event.job_id != rec.job_id:
            return                                   # a job we no longer follow
        if event.type == "queued":
            rec.ahead = max(0, int(event.payload.get("ahead", 0)))
        elif event.type == "progress":
            rec.ahead = 0                            # it runs
            rec.progress = float(event.payload.get("fraction", 0.0))
            rec.message = str(event.payload.get("message", ""))
        elif event.type == "result":
            rec.result, rec.progress = event.payload.get("result") or {}, 1.0
            self.job = None
            self._finish(rec, push_undo=True)
        elif event.type in ("error", "cancelled"):
            err = event.as_error()
            if err.code in LOSS_CODES:
                self._on_death(err)
                return
            rec.error, rec.code = user_message(err), err.code
            self.job = None
            self._finish(rec, push_undo=False)

    def _on_death(self, err) -> None:
        msg = self._fail_state(DEAD, err)
        if self.job is not None:
            self.lost_job = self.job
            code = getattr(err, "code", "")
            self.job.error, self.job.done = msg, True
            self.job.code = code if code in LOSS_CODES else ErrorCode.BACKEND_DIED
            self.last = self.job
            self.job = None

    # ------------------------------------------------------------------ UI mirror
    def sync(self) -> None:
        """Mirror the session into WindowManager.anima and the status bar; redraw the
        sidebar only when something changed."""
        rec = self.job or self.pending
        status = self.status_text()
        values = dict(state=self.state, status=status, error=self.error, busy=self.busy,
                      failure=self.failure, queue_ahead=rec.ahead if rec else 0,
                      progress=float(rec.progress if rec else 0.0),
                      job_label=rec.label if rec else "",
                      can_resubmit=self.lost_job is not None, device=self.device)
        bar_text = status if rec is not None else None
        for wm in bpy.data.window_managers:
            st = getattr(wm, "anima", None)
            if st is None:
                continue
            changed = False
            for key, value in values.items():
                old = getattr(st, key)
                if (abs(old - value) > 1e-4) if isinstance(value, float) else (old != value):
                    setattr(st, key, value)
                    changed = True
            if bpy.app.background:
                continue
            # The status bar text is ours only while a job runs: set it while it changes and
            # clear it once, so the idle pump never overrides another tool's status text.
            if bar_text != self._status_bar_text:
                for window in wm.windows:
                    try:
                        window.workspace.status_text_set(bar_text)
                    except Exception:  # noqa: BLE001 - cosmetic
                        pass
                changed = True
            if changed:
                for window in wm.windows:
                    screen = window.screen
                    for area in (screen.areas if screen else ()):
                        if area.type in {"VIEW_3D", "STATUSBAR"}:
                            area.tag_redraw()
        self._status_bar_text = bar_text


def _undo_push(message: str) -> None:
    if bpy.app.background:
        return
    try:
        wm = bpy.context.window_manager
        window = bpy.context.window or (wm.windows[0] if wm and wm.windows else None)
        if window is None:
            bpy.ops.ed.undo_push(message=message)
            return
        with bpy.context.temp_override(window=window):
            bpy.ops.ed.undo_push(message=message)
    except Exception:  # noqa: BLE001 - no undo step is better than a lost result
        traceback.print_exc()


# ----------------------------------------------------------------------------- singleton
_session: Session | None = None


def get_session() -> Session:
    global _session
    if _session is None:
        _session = Session()
    return _session


def _pump() -> float | None:
    session = _session
    if session is None:
        return None
    try:
        return session.pump()
    except Exception:  # noqa: BLE001 - a timer that raises is dropped silently by Blender
        traceback.print_exc()
        return IDLE_INTERVAL_S


def ensure_pump() -> None:
    """Register the pump timer (never in background mode, where timers do not run)."""
    if bpy.app.background:
        return
    if not bpy.app.timers.is_registered(_pump):
        # persistent: keep following the job when another .blend file is loaded.
        bpy.app.timers.register(_pump, first_interval=BUSY_INTERVAL_S, persistent=True)


def run_blocking(kind: str, params: dict, timeout: float | None = None,
                 on_progress: Callable[[float, str], Any] | None = None) -> dict:
    """Module-level shortcut: run a job synchronously on the session, return its result."""
    return get_session().run_blocking(kind, params, timeout, on_progress)


def on_config_changed() -> None:
    """A backend preference changed: close an idle backend now, a busy one after its job, so
    that the next job starts with the new settings."""
    session = _session
    if session is None:
        return
    try:
        if session.client is not None and _config() == session.config:
            return                               # nothing that matters changed
    except preferences.ConfigError:
        pass
    if session.busy:
        session.stale_config = True
    elif session.client is not None or session.state in (DEAD, ERROR):
        session.stop()


def shutdown() -> None:
    """Stop the pump and close the backend (add-on unregister, Blender exit)."""
    global _session
    if bpy.app.timers.is_registered(_pump):
        bpy.app.timers.unregister(_pump)
    session, _session = _session, None
    if session is not None:
        with session._lock:
            session._generation += 1
        session._close_client()
        for wm in bpy.data.window_managers:
            if bpy.app.background:
                break
            for window in wm.windows:
                try:
                    window.workspace.status_text_set(None)
                except Exception:  # noqa: BLE001
                    pass


atexit.register(lambda: _session is not None and _session._close_client())
