"""Client of the Anima backend, used by the Blender add-on and the command line.

STANDARD LIBRARY ONLY (imported inside Blender's Python; no numpy, torch or bpy).

    client = BackendClient.spawn("/path/to/python", cache_dir)
    # or BackendClient.connect(host, port, token, cache_dir, tls=True, cafile="server.pem")
    job_id = client.submit("sleep", {"seconds": 1})
    for event in client.poll():          # modal operator / timer: non-blocking
        ...
    result = client.wait(job_id, on_progress=print)                   # CLI / background: blocking

A reader thread turns server messages into ``Event``s. Events of a job somebody ``wait``s for
go to that waiter; all others go to the ``events`` queue (``poll``). When the backend dies or
the connection drops, every job in flight gets an ``error`` event with code ``backend_died``,
and one more such event with ``job_id=None`` is queued. A watchdog thread does the same with
code ``backend_hung`` when the backend sends nothing at all (not even its heartbeat) for
``HUNG_AFTER_S``: a stopped or frozen process; ``close()`` then kills a spawned backend.

TCP connections may use TLS (``connect(..., tls=True)``); all TLS calls then run on one
``TlsBridge`` thread, because OpenSSL forbids reading and writing one connection from two
threads at once (the server uses the same bridge).
"""
from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping, Sequence

from . import params as job_params
from . import protocol
from .protocol import (ARTIFACTS_KEY, HUNG_AFTER_S, SERVER_TO_CLIENT, ErrorCode, MessageType,
                       ProtocolError, ProtocolMismatch)
from .transport import TlsBridge, _ProcessTransport, _SocketTransport, _Transport
from .transport import describe_signal  # noqa: F401 - the add-on reads it from here

CLIENT_NAME = "anima-client"
REPO_ROOT = Path(__file__).resolve().parent.parent      # the folder holding `backend/`
LOG_NAME = "backend.log"
RECEIVED_SUBDIR = "received"     # <cache_dir>/received/<job_id>/<file> for TCP artifacts
SPAWN_HANDSHAKE_TIMEOUT_S = 120.0   # start-up may import torch and load models
CONNECT_TIMEOUT_S = 10.0
CONNECT_HANDSHAKE_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 3.0            # after shutdown, before the process is terminated
FINISHED_MEMORY = 256            # terminal events remembered for late wait() calls
WATCHDOG_TICK_S = 0.1            # how often the watchdog looks at the time of the last message
HUNG_HEARTBEATS = 3              # a server announcing slow heartbeats gets this many periods
BUSY_HUNG_AFTER_S = 20.0         # silence allowed to a local backend whose threads are running
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

    type: ``accepted``, ``queued``, ``progress``, ``result``, ``error`` or ``cancelled``.
    job_id: the job, or None for connection-level errors.
    payload: the message's other fields, e.g. ``{"ahead": n}`` for queued (n jobs run before
    this one; 0: it starts now), ``{"fraction", "message"}`` for progress, ``{"result"}`` for
    result, ``{"code", "message", "traceback"}`` for error.
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

def _tls_handshake(sock: socket.socket, host: str, address: str,
                   cafile: str | os.PathLike | None) -> ssl.SSLSocket:
    """Wrap a connected socket in TLS, verifying the server's certificate for ``host``."""
    try:
        context = ssl.create_default_context(cafile=os.fspath(cafile) if cafile else None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context.wrap_socket(sock, server_hostname=host)
    except (ssl.SSLError, OSError) as e:
        sock.close()
        what = "read the CA file" if isinstance(e, FileNotFoundError) else "verify"
        raise BackendError(ErrorCode.CONNECT_FAILED,
                           f"TLS with the backend at {address} failed (cannot {what}: {e}); "
                           f"is the server started with --tls-cert, and is cafile the "
                           f"certificate (or CA) it uses?") from e


class BackendClient:
    """A connection to one backend server; create it with ``spawn`` or ``connect``."""

    def __init__(self, transport: _Transport, cache_dir: Path):
        self._transport = transport
        self.cache_dir = cache_dir
        self.info: dict = {}
        self._schemas: dict = {}           # kind -> parsed parameter schema from the hello
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
        self._hung = False
        self.last_heard = time.monotonic()     # when the last message (or blob bytes) arrived
        self._reader = threading.Thread(target=self._read_loop, name="anima-backend-reader",
                                        daemon=True)
        self._watchdog = threading.Thread(target=self._watch, name="anima-backend-watchdog",
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
                handshake_timeout: float = CONNECT_HANDSHAKE_TIMEOUT_S, tls: bool = False,
                cafile: str | os.PathLike | None = None) -> "BackendClient":
        """Connect to ``python -m backend serve --tcp`` and shake hands with the token.

        ``tls``: the server was started with ``--tls-cert``; its certificate must be valid for
        ``host`` and signed by ``cafile`` (a PEM file; None: the system's trusted CAs)."""
        cache = check_cache_dir(cache_dir)
        address = f"{host}:{port}"
        try:
            sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
        except OSError as e:
            raise BackendError(ErrorCode.CONNECT_FAILED,
                               f"cannot connect to the backend at {address}: {e}") from e
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        bridge = None
        if tls:
            bridge = TlsBridge(_tls_handshake(sock, host, address, cafile), name="client-tls")
            sock = bridge.plain
        sock.settimeout(None)
        client = cls(_SocketTransport(sock, address, bridge), cache)
        client._handshake(token, handshake_timeout)
        return client

    def _handshake(self, token: str | None, timeout: float) -> None:
        self._reader.start()
        self._watchdog.start()
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
        """True while the backend is connected, running and answering."""
        return (not self._dead and not self._closing and not self._hung
                and self._transport.alive())

    @property
    def hung(self) -> bool:
        """True once the watchdog declared the backend hung (``backend_hung``)."""
        return self._hung

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
        (``backend_died``) or stops answering (``backend_hung``), or ``timeout`` seconds pass
        (``timeout``; the job goes on). ``queued`` events (the job's place in the queue) are
        skipped here; ``poll`` users see them."""
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
        if self._hung:                    # a stopped process would never read the shutdown
            self._transport.kill()
        else:
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
        if self._hung:
            raise BackendError(ErrorCode.BACKEND_HUNG, self._hung_message())
        if not self.alive:
            raise BackendError(ErrorCode.BACKEND_DIED, "the backend is not running"
                               + self._log_suffix())
        self.check_params(kind, params or {})
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

    def check_params(self, kind: str, params: Mapping[str, Any]) -> None:
        """Check a request against the schema the server published in its hello (the same
        check the server runs), so that a bad value is refused at once, before the round trip:
        ``BackendError("bad_params")`` naming the parameter. Kinds the server did not describe
        pass (the server decides)."""
        described = (self.info.get("jobs") or {}).get(kind)
        if not isinstance(described, dict):
            return
        try:
            schema = self._schemas.get(kind) or job_params.from_json(described)
            self._schemas[kind] = schema
            job_params.check(kind, schema, params)
        except job_params.ParamError as e:
            raise BackendError(ErrorCode.BAD_PARAMS, str(e)) from None
        except (KeyError, TypeError, ValueError):
            return                          # a schema this client cannot read: the server checks

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
                self.last_heard = time.monotonic()
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
        if mtype == MessageType.HEARTBEAT or self._hung:
            return                    # heartbeats only feed last_heard; a hung client is done
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
        exactly ``size`` bytes, so the stream stays framed). Blobs of jobs not in flight are
        read and dropped; nothing is ever written outside ``<cache>/received`` (the file name
        is sanitised, and symbolic links are neither followed nor overwritten)."""
        job_id, name, size = header["job_id"], header["name"], header["size"]
        with self._state_lock:
            wanted = job_id in self._in_flight
        out, outcome, partial, target = None, "", None, None
        if wanted:
            try:
                target = self._blob_target(job_id, name, header.get("filename") or name)
                partial = target.with_name(target.name + ".part")
                flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
                out = os.fdopen(os.open(partial, flags, 0o644), "wb")
            except OSError as e:
                outcome = f"cannot write artifact {name!r}: {e}"

        def sink(chunk: bytes) -> None:
            self.last_heard = time.monotonic()      # a long transfer is not a hang
            if out is not None:
                out.write(chunk)
        try:
            digest = protocol.read_exact(reader, size, sink)
        finally:
            if out is not None:
                out.close()
        if out is not None:
            if digest != header["sha256"]:
                outcome = f"artifact {name!r} arrived corrupted (sha256 mismatch)"
                partial.unlink(missing_ok=True)
            else:
                os.replace(partial, target)       # replaces a link itself, never its target
                outcome = target
        with self._state_lock:
            if wanted and job_id in self._in_flight:
                self._received.setdefault(job_id, {})[name] = outcome

    def _blob_target(self, job_id: str, name: str, filename: str) -> Path:
        """Where a received artifact goes; ``OSError`` if that is not inside the cache."""
        root = (self.cache_dir / RECEIVED_SUBDIR).resolve()
        directory = root / job_id
        directory.mkdir(parents=True, exist_ok=True)
        if not directory.resolve().is_relative_to(root) or directory.is_symlink():
            raise OSError(f"{directory} leads outside the cache dir {root}")
        filename = _safe_filename(filename, "artifact")
        target = directory / filename
        if os.path.lexists(target):           # two artifacts with the same file name
            target = directory / f"{_safe_filename(name, 'artifact')}_{filename}"
        return target

    def _localise_artifacts(self, job_id: str, result: dict) -> Event | None:
        """Point ``result["artifacts"]`` at the files received as blobs (TCP). Returns an
        error event instead if one is missing or corrupted."""
        artifacts = result.get(ARTIFACTS_KEY)
        if not isinstance(artifacts, dict):
            return None
        if not self.info.get("blobs"):
            return self._check_local_artifacts(job_id, artifacts)
        with self._state_lock:
            received = self._received.pop(job_id, {})
        for name in list(artifacts):
            local = received.get(name)
            if not isinstance(local, Path):
                reason = local or f"artifact {name!r} was not transferred"
                return _error_event(ErrorCode.BLOB_FAILED, reason, job_id)
            artifacts[name] = str(local)
        return None

    def _check_local_artifacts(self, job_id: str, artifacts: dict) -> Event | None:
        """stdio: the server names files in the shared cache dir; refuse any other path."""
        cache = self.cache_dir.resolve()
        for name, value in artifacts.items():
            if not isinstance(value, str) or not Path(value).resolve().is_relative_to(cache):
                return _error_event(ErrorCode.BLOB_FAILED, f"artifact {name!r}: {value!r:.200} "
                                                           f"is outside the cache dir {cache}",
                                    job_id)
        return None

    # ------------------------------------------------------------------ watchdog
    def _hung_after(self) -> float:
        """Silence after which the backend counts as hung."""
        beat = self.info.get("heartbeat_s")
        beat = beat if isinstance(beat, (int, float)) else 0.0
        return max(HUNG_AFTER_S, HUNG_HEARTBEATS * beat)

    def _watch(self) -> None:
        """Declare the backend hung when nothing arrived for ``_hung_after()`` seconds."""
        sleep, now = time.sleep, time.monotonic    # kept: module teardown may clear globals
        while True:
            sleep(WATCHDOG_TICK_S)
            if self._dead or self._closing or self._hung:
                return
            if self._handshake_error is not None:
                return                      # never connected: nothing to watch
            if not self._handshake_done.is_set():
                continue                    # the handshake has its own timeout
            silence = now() - self.last_heard
            if silence > self._hung_after() and (silence > BUSY_HUNG_AFTER_S
                                                 or not self._transport.busy()):
                self._declare_hung(silence)

    def _hung_message(self, silence: float | None = None) -> str:
        what = (f"the backend process (pid {self.process.pid})" if self.process is not None
                else f"the backend at {getattr(self._transport, 'address', '?')}")
        quiet = f" for {silence:.1f} s" if silence is not None else ""
        return (f"{what} stopped answering: no message, not even a heartbeat,{quiet} (it is "
                f"stopped, frozen or unreachable). Restart the backend to go on; jobs in "
                f"flight are lost.")

    def _declare_hung(self, silence: float) -> None:
        with self._state_lock:
            if self._hung or self._dead or self._closing:
                return
            self._hung = True
            in_flight = sorted(self._in_flight)
        message = self._hung_message(silence)
        for job_id in in_flight:
            self._post(_error_event(ErrorCode.BACKEND_HUNG, message, job_id))
        self._post(_error_event(ErrorCode.BACKEND_HUNG, message))

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
        if not self._hung:                  # the hang was reported already
            self._post(_error_event(code, why))
