"""Client of the Anima backend, used by the Blender add-on and the command line.

STANDARD LIBRARY ONLY (imported inside Blender's Python; no numpy, torch or bpy).

    client = BackendClient.spawn("/path/to/python", cache_dir)       # or .connect(host, ...)
    job_id = client.submit("sleep", {"seconds": 1})
    for event in client.poll():          # modal operator / timer: non-blocking
        ...
    result = client.wait(job_id, on_progress=print)                   # CLI / background: blocking

A reader thread turns server messages into ``Event``s. Events of a job somebody ``wait``s for
go to that waiter; all others go to the ``events`` queue (``poll``). When the backend dies or
the connection drops, every job in flight gets an ``error`` event with code ``backend_died``,
and one more such event with ``job_id=None`` is queued.
"""
from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping, Sequence

from . import protocol
from .protocol import (ARTIFACTS_KEY, SERVER_TO_CLIENT, ErrorCode, MessageType, ProtocolError,
                       ProtocolMismatch)

CLIENT_NAME = "anima-client"
REPO_ROOT = Path(__file__).resolve().parent.parent      # the folder holding `backend/`
LOG_NAME = "backend.log"
RECEIVED_SUBDIR = "received"     # <cache_dir>/received/<job_id>/<file> for TCP artifacts
SPAWN_HANDSHAKE_TIMEOUT_S = 120.0   # start-up may import torch and load models
CONNECT_TIMEOUT_S = 10.0
CONNECT_HANDSHAKE_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 3.0            # after shutdown, before the process is terminated
KILL_TIMEOUT_S = 2.0
EXIT_WAIT_S = 1.0                # how long to wait for an exit code after EOF
LOG_TAIL_BYTES = 4000
FINISHED_MEMORY = 256            # terminal events remembered for late wait() calls
TERMINAL_TYPES = frozenset({MessageType.RESULT, MessageType.ERROR, MessageType.CANCELLED})
_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]")


class BackendError(Exception):
    """Any failure talking to the backend; ``code`` is one of ``protocol.ErrorCode``."""

    def __init__(self, code: str, message: str, job_id: str | None = None,
                 traceback: str = ""):
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message
        self.job_id = job_id
        self.traceback = traceback


@dataclass(frozen=True)
class Event:
    """A server message for the application.

    type: ``accepted``, ``progress``, ``result``, ``error`` or ``cancelled``.
    job_id: the job, or None for connection-level errors.
    payload: the message's other fields, e.g. ``{"fraction", "message"}`` for progress,
    ``{"result"}`` for result, ``{"code", "message", "traceback"}`` for error.
    """
    type: str
    job_id: str | None
    payload: dict = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        """True for the last event of a job (result, error, cancelled)."""
        return self.type in TERMINAL_TYPES

    def as_error(self) -> BackendError:
        """The error this terminal event stands for (``error`` or ``cancelled``)."""
        if self.type == MessageType.CANCELLED:
            return BackendError(ErrorCode.CANCELLED, f"job {self.job_id} was cancelled",
                                self.job_id)
        return BackendError(self.payload.get("code", ErrorCode.JOB_FAILED),
                            self.payload.get("message", ""), self.job_id,
                            self.payload.get("traceback", ""))


def _error_event(code: str, message: str, job_id: str | None = None, tb: str = "") -> Event:
    return Event(MessageType.ERROR, job_id, {"code": code, "message": message, "traceback": tb})


def _safe_filename(name: str, fallback: str) -> str:
    name = _UNSAFE_FILENAME_CHARS.sub("_", Path(name).name).lstrip("._-")
    return name or fallback


def check_cache_dir(cache_dir: str | os.PathLike) -> Path:
    """Create ``cache_dir`` if needed and prove it writable by writing a temporary file."""
    path = Path(cache_dir).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as e:
        raise BackendError(ErrorCode.CACHE_NOT_WRITABLE,
                           f"cache dir {path} is not writable: {e}") from e
    return path.resolve()


def find_interpreter(python_executable: str | os.PathLike) -> str:
    """Absolute path of an existing, executable interpreter (bare names are looked up on PATH)."""
    text = os.fspath(python_executable)
    if text and os.sep not in text and (os.altsep is None or os.altsep not in text):
        text = shutil.which(text) or text
    path = Path(text).expanduser()
    if not text or not path.is_file():
        raise BackendError(ErrorCode.INTERPRETER_NOT_FOUND,
                           f"Python interpreter {os.fspath(python_executable)!r} does not exist")
    if not os.access(path, os.X_OK):
        raise BackendError(ErrorCode.INTERPRETER_NOT_FOUND,
                           f"Python interpreter {path} is not executable")
    return str(path.absolute())


# ============================================================================ transports
class _Transport:
    """Byte streams to the server plus how to end them."""
    reader: BinaryIO
    writer: BinaryIO

    def alive(self) -> bool:
        raise NotImplementedError

    def close(self, timeout: float) -> None:
        """End the peer (process exit / socket shutdown) so that the reader sees EOF."""
        raise NotImplementedError

    def release(self) -> None:
        """Close the streams (after the reader thread is done with them)."""
        for stream in (self.writer, self.reader):
            try:
                stream.close()
            except (OSError, ValueError):
                pass

    def describe_death(self) -> str:
        """Why the stream ended, for error messages."""
        raise NotImplementedError


class _ProcessTransport(_Transport):
    def __init__(self, process: subprocess.Popen, log_path: Path):
        self.process = process
        self.log_path = log_path
        self.reader = process.stdout
        self.writer = process.stdin

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self, timeout: float) -> None:
        try:
            self.writer.close()            # EOF on the server's stdin ends its session
        except OSError:
            pass
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(KILL_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - LOG_TAIL_BYTES))
                return f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def describe_death(self) -> str:
        try:
            code = self.process.wait(EXIT_WAIT_S)
            status = f"the backend process exited with code {code}"
        except subprocess.TimeoutExpired:
            status = "the backend process closed its output"
        tail = self.log_tail()
        return f"{status}; log {self.log_path}:\n{tail}" if tail else \
            f"{status}; its log {self.log_path} is empty"


class _SocketTransport(_Transport):
    def __init__(self, sock: socket.socket, address: str):
        self.sock = sock
        self.address = address
        self.reader = sock.makefile("rb")
        self.writer = sock.makefile("wb")
        self._closed = False

    def alive(self) -> bool:
        return not self._closed

    def close(self, timeout: float) -> None:
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)   # wakes the reader thread
        except OSError:
            pass

    def release(self) -> None:
        super().release()
        self.sock.close()

    def describe_death(self) -> str:
        return f"the backend at {self.address} closed the connection"


# ============================================================================ client
class BackendClient:
    """A connection to one backend server; create it with ``spawn`` or ``connect``."""

    def __init__(self, transport: _Transport, cache_dir: Path):
        self._transport = transport
        self.cache_dir = cache_dir
        self.info: dict = {}
        self.events: "queue.Queue[Event]" = queue.Queue()
        self._write_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._waiters: dict[str, queue.Queue] = {}
        self._finished: "OrderedDict[str, Event]" = OrderedDict()
        self._received: dict[str, dict[str, Path | str]] = {}   # job -> name -> path | error
        self._handshake_done = threading.Event()
        self._handshake_error: BackendError | None = None
        self._dead = False
        self._closing = False
        self._reader = threading.Thread(target=self._read_loop, name="anima-backend-reader",
                                        daemon=True)

    # ------------------------------------------------------------------ construction
    @classmethod
    def spawn(cls, python_executable: str | os.PathLike, cache_dir: str | os.PathLike,
              device: str = "auto", extra_env: Mapping[str, str] | None = None,
              cwd: str | os.PathLike = REPO_ROOT, *, extra_args: Sequence[str] = (),
              handshake_timeout: float = SPAWN_HANDSHAKE_TIMEOUT_S) -> "BackendClient":
        """Start ``python -m backend serve --stdio`` and shake hands with it.

        stderr of the backend goes to ``<cache_dir>/backend.log`` (``client.log_path``)."""
        python = find_interpreter(python_executable)
        cache = check_cache_dir(cache_dir)
        log_path = cache / LOG_NAME
        command = [python, "-u", "-m", "backend", "serve", "--stdio", "--cache-dir", str(cache),
                   "--device", device, *extra_args]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONHOME"}  # Blender's, not ours
        env.update({"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"})
        env.update(extra_env or {})
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)        # no console on Windows
        try:
            with open(log_path, "wb") as log_file:
                process = subprocess.Popen(command, stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, stderr=log_file,
                                           cwd=os.fspath(cwd), env=env, creationflags=flags)
        except OSError as e:
            code = (ErrorCode.INTERPRETER_NOT_FOUND
                    if isinstance(e, (FileNotFoundError, PermissionError))
                    else ErrorCode.BACKEND_START_FAILED)
            raise BackendError(code, f"cannot start {python}: {e}") from e
        client = cls(_ProcessTransport(process, log_path), cache)
        client._handshake(None, handshake_timeout)
        return client

    @classmethod
    def connect(cls, host: str, port: int, token: str, cache_dir: str | os.PathLike, *,
                handshake_timeout: float = CONNECT_HANDSHAKE_TIMEOUT_S) -> "BackendClient":
        """Connect to ``python -m backend serve --tcp`` and shake hands with the token."""
        cache = check_cache_dir(cache_dir)
        address = f"{host}:{port}"
        try:
            sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
        except OSError as e:
            raise BackendError(ErrorCode.CONNECT_FAILED,
                               f"cannot connect to the backend at {address}: {e}") from e
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = cls(_SocketTransport(sock, address), cache)
        client._handshake(token, handshake_timeout)
        return client

    def _handshake(self, token: str | None, timeout: float) -> None:
        self._reader.start()
        try:
            self._send(protocol.client_message(MessageType.HELLO,
                                               protocol=protocol.PROTOCOL_VERSION,
                                               client=CLIENT_NAME, token=token))
        except BackendError:
            pass                 # the reader reports why the backend is gone
        if self._handshake_done.wait(timeout):
            error = self._handshake_error
        else:
            error = BackendError(ErrorCode.HANDSHAKE_TIMEOUT,
                                 f"the backend did not answer the handshake within {timeout:g} s"
                                 + self._log_suffix())
        if error is not None:
            self._shutdown_transport()
            raise error

    # ------------------------------------------------------------------ properties
    @property
    def alive(self) -> bool:
        """True while the backend is connected and running."""
        return not self._dead and not self._closing and self._transport.alive()

    @property
    def process(self) -> subprocess.Popen | None:
        """The spawned backend process (None for TCP connections)."""
        return getattr(self._transport, "process", None)

    @property
    def log_path(self) -> Path | None:
        """The spawned backend's stderr log (None for TCP connections)."""
        return getattr(self._transport, "log_path", None)

    # ------------------------------------------------------------------ requests
    def submit(self, kind: str, params: Mapping[str, Any] | None = None) -> str:
        """Queue a job; returns its id. Its events arrive on ``events`` (or in ``wait``)."""
        return self._submit(kind, params, claim=False)

    def run(self, kind: str, params: Mapping[str, Any] | None = None,
            timeout: float | None = None,
            on_progress: Callable[[float, str], Any] | None = None) -> dict:
        """``submit`` + ``wait``, with none of the job's events going to ``events``."""
        return self.wait(self._submit(kind, params, claim=True), timeout, on_progress)

    def cancel(self, job_id: str) -> None:
        """Ask the backend to cancel a job; it ends with a ``cancelled`` event (or its result,
        if it finished first). Unknown or finished jobs are ignored."""
        with self._state_lock:
            if job_id not in self._in_flight:
                return
        self._send(protocol.client_message(MessageType.CANCEL, job_id=job_id))

    def poll(self, max_events: int = 100) -> list[Event]:
        """Up to ``max_events`` queued events, without blocking."""
        out = []
        while len(out) < max_events:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                break
        return out

    def wait(self, job_id: str, timeout: float | None = None,
             on_progress: Callable[[float, str], Any] | None = None) -> dict:
        """Block until the job ends and return its result (artifact paths are local).

        ``on_progress(fraction, message)`` is called on this thread. Raises ``BackendError``
        if the job fails (its code), is cancelled (``cancelled``), the backend dies
        (``backend_died``) or ``timeout`` seconds pass (``timeout``; the job goes on)."""
        with self._state_lock:
            event = self._finished.pop(job_id, None)
            if event is None:
                if job_id not in self._in_flight:
                    raise BackendError(ErrorCode.UNKNOWN_JOB, f"no job {job_id!r} in flight",
                                       job_id)
                waiter = self._waiters.setdefault(job_id, queue.Queue())
        deadline = None if timeout is None else time.monotonic() + timeout
        while event is None:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = waiter.get(timeout=remaining)
            except queue.Empty:
                raise BackendError(ErrorCode.TIMEOUT, f"job {job_id} did not finish within "
                                                      f"{timeout:g} s", job_id) from None
            if item.terminal:
                event = item
            elif item.type == MessageType.PROGRESS and on_progress is not None:
                on_progress(item.payload["fraction"], item.payload["message"])
        with self._state_lock:
            self._finished.pop(job_id, None)
        if event.type != MessageType.RESULT:
            raise event.as_error()
        return event.payload["result"]

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Send ``shutdown`` and end the connection (the spawned process is terminated if it
        does not exit within ``timeout``). Jobs in flight end with ``client_closed``."""
        if self._closing:
            return
        self._closing = True
        try:
            self._send(protocol.client_message(MessageType.SHUTDOWN))
        except BackendError:
            pass
        self._shutdown_transport(timeout)

    def __enter__(self) -> "BackendClient":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _submit(self, kind: str, params: Mapping[str, Any] | None, claim: bool) -> str:
        if not self.alive:
            raise BackendError(ErrorCode.BACKEND_DIED, "the backend is not running"
                               + self._log_suffix())
        job_id = uuid.uuid4().hex
        try:
            message = protocol.client_message(MessageType.SUBMIT, job_id=job_id, kind=kind,
                                              params=dict(params or {}))
            data = protocol.encode(message)
        except ProtocolError as e:
            raise BackendError(ErrorCode.BAD_PARAMS, f"cannot send {kind!r} job: {e}") from e
        with self._state_lock:
            self._in_flight.add(job_id)
            if claim:
                self._waiters[job_id] = queue.Queue()
        try:
            self._write(data)
        except BackendError:
            with self._state_lock:
                self._in_flight.discard(job_id)
                self._waiters.pop(job_id, None)
            raise
        return job_id

    def _send(self, msg: dict) -> None:
        self._write(protocol.encode(msg))

    def _write(self, data: bytes) -> None:
        with self._write_lock:
            try:
                self._transport.writer.write(data)
                self._transport.writer.flush()
            except (OSError, ValueError) as e:
                raise BackendError(ErrorCode.BACKEND_DIED,
                                   f"cannot write to the backend ({e})" + self._log_suffix()
                                   ) from e

    def _shutdown_transport(self, timeout: float = 0.0) -> None:
        self._closing = True
        self._transport.close(timeout)
        if self._reader.is_alive():
            self._reader.join(CLOSE_TIMEOUT_S)
        if not self._reader.is_alive():
            self._transport.release()

    def _log_suffix(self) -> str:
        tail = getattr(self._transport, "log_tail", lambda: "")()
        return f"\nbackend log {self.log_path}:\n{tail}" if tail else ""

    def _post(self, event: Event) -> None:
        """Route an event to its job's waiter, or to the ``events`` queue."""
        with self._state_lock:
            if event.job_id is not None and event.terminal:
                self._in_flight.discard(event.job_id)
                self._received.pop(event.job_id, None)
                self._finished[event.job_id] = event
                while len(self._finished) > FINISHED_MEMORY:
                    self._finished.popitem(last=False)
                waiter = self._waiters.pop(event.job_id, None)
            else:
                waiter = self._waiters.get(event.job_id) if event.job_id else None
        (waiter if waiter is not None else self.events).put(event)

    # ------------------------------------------------------------------ reader thread
    def _read_loop(self) -> None:
        try:
            self._read_messages()
        finally:                            # whatever happened, nobody may wait forever
            self._on_eof()

    def _read_messages(self) -> None:
        reader = self._transport.reader
        while True:
            try:
                line = protocol.read_line(reader)
                if line is None:
                    return
                msg = protocol.decode(line, SERVER_TO_CLIENT)
            except ProtocolMismatch as e:
                self._fail_handshake(BackendError(ErrorCode.PROTOCOL_MISMATCH, str(e)))
                continue
            except ProtocolError as e:
                self._on_bad_message(e)
                continue
            except (OSError, ValueError):
                return                      # stream closed under us
            try:
                self._dispatch(msg, reader)
            except (OSError, ValueError, EOFError):
                return

    def _fail_handshake(self, error: BackendError) -> None:
        if not self._handshake_done.is_set():
            self._handshake_error = error
            self._handshake_done.set()
        else:
            self._post(_error_event(error.code, error.message))

    def _on_bad_message(self, error: ProtocolError) -> None:
        message = f"malformed message from the backend: {error}"
        self._fail_handshake(BackendError(ErrorCode.PROTOCOL_ERROR, message))

    def _dispatch(self, msg: dict, reader: BinaryIO) -> None:
        mtype = msg["type"]
        if not self._handshake_done.is_set():
            if mtype == MessageType.HELLO:
                self.info = {k: v for k, v in msg.items() if k != "type"}
                self._handshake_done.set()
            elif mtype == MessageType.ERROR:
                self._fail_handshake(BackendError(msg["code"], msg["message"], None,
                                                  msg["traceback"]))
            else:
                self._fail_handshake(BackendError(
                    ErrorCode.PROTOCOL_ERROR, f"expected the server's hello, got {mtype!r}"))
            return
        if mtype == MessageType.BLOB:
            self._receive_blob(msg, reader)
            return
        if mtype == MessageType.HELLO:
            self._post(_error_event(ErrorCode.PROTOCOL_ERROR, "unexpected second hello"))
            return
        payload = {k: v for k, v in msg.items() if k not in ("type", "job_id")}
        job_id = msg.get("job_id")
        if mtype == MessageType.RESULT:
            error = self._localise_artifacts(job_id, payload["result"])
            if error is not None:
                self._post(error)
                return
        self._post(Event(mtype, job_id, payload))

    def _receive_blob(self, header: dict, reader: BinaryIO) -> None:
        """Read a blob body into ``<cache>/received/<job_id>/<file>`` (always consuming
        exactly ``size`` bytes, so the stream stays framed)."""
        job_id, name, size = header["job_id"], header["name"], header["size"]
        filename = _safe_filename(header.get("filename") or name, "artifact")
        directory = self.cache_dir / RECEIVED_SUBDIR / job_id
        target = directory / filename
        if target.exists():           # two artifacts with the same file name
            target = directory / f"{_safe_filename(name, 'artifact')}_{filename}"
        partial = target.with_name(target.name + ".part")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            out: BinaryIO | None = open(partial, "wb")
        except OSError as e:
            out, outcome = None, f"cannot write {partial}: {e}"
        try:
            digest = protocol.read_exact(reader, size, out.write if out else None)
        finally:
            if out is not None:
                out.close()
        if out is not None:
            if digest != header["sha256"]:
                outcome = f"artifact {name!r} arrived corrupted (sha256 mismatch)"
                partial.unlink(missing_ok=True)
            else:
                os.replace(partial, target)
                outcome = target
        with self._state_lock:
            if job_id in self._in_flight:
                self._received.setdefault(job_id, {})[name] = outcome

    def _localise_artifacts(self, job_id: str, result: dict) -> Event | None:
        """Point ``result["artifacts"]`` at the files received as blobs (TCP). Returns an
        error event instead if one is missing or corrupted."""
        if not self.info.get("blobs"):
            return None
        artifacts = result.get(ARTIFACTS_KEY)
        if not isinstance(artifacts, dict):
            return None
        with self._state_lock:
            received = self._received.pop(job_id, {})
        for name in list(artifacts):
            local = received.get(name)
            if not isinstance(local, Path):
                reason = local or f"artifact {name!r} was not transferred"
                return _error_event(ErrorCode.BLOB_FAILED, reason, job_id)
            artifacts[name] = str(local)
        return None

    def _on_eof(self) -> None:
        """The stream ended: fail the handshake or every job in flight."""
        if self._closing:
            code, why = ErrorCode.CLIENT_CLOSED, "the client closed the connection"
        else:
            code, why = ErrorCode.BACKEND_DIED, self._transport.describe_death()
        self._dead = True
        if not self._handshake_done.is_set():
            start_code = (ErrorCode.BACKEND_START_FAILED if code == ErrorCode.BACKEND_DIED
                          else code)
            self._fail_handshake(BackendError(start_code, f"the backend stopped during the "
                                                          f"handshake: {why}"))
            return
        with self._state_lock:
            in_flight = sorted(self._in_flight)
        for job_id in in_flight:
            self._post(_error_event(code, why, job_id))
        self._post(_error_event(code, why))
