"""The Anima backend server: ``python -m backend serve --stdio | --tcp HOST:PORT``.

One worker thread runs jobs one at a time in FIFO order; each connection ("session") has a
reader loop on its own thread, so ``cancel`` messages are read while a job runs. Protocol
messages go to stdout (stdio mode) or the socket; everything else, logging included, goes to
stderr. In stdio mode the process's file descriptor 1 is redirected to stderr at start-up, so
that a stray ``print`` in a job (or a C extension writing to fd 1) cannot corrupt the protocol.

Sessions: stdio serves exactly one session and exits when it ends (``shutdown`` message or end
of stdin). TCP serves any number of sessions, one thread each, until the process is stopped;
``shutdown`` there only ends the session. A session's queued and running jobs are cancelled
when it ends.
"""
from __future__ import annotations

import argparse
import hmac
import importlib
import importlib.util
import ipaddress
import logging
import os
import socket
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable

from . import jobs as jobs_module
from .jobs import JOBS, JobCancelled, JobContext, JobError
from .protocol import (ARTIFACTS_KEY, CLIENT_TO_SERVER, HEARTBEAT_S, IO_CHUNK_BYTES,
                       PROTOCOL_NAME, PROTOCOL_VERSION, ErrorCode, MessageType, ProtocolError,
                       ProtocolMismatch, decode, encode, error_message, read_line, server_message,
                       sha256_file)

log = logging.getLogger("backend.server")

SERVER_VERSION = "0.1.0"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "anima"
DEVICE_CHOICES = ("auto", "cpu", "cuda")
REQUIRED_MODULES = ("numpy",)
TCP_HANDSHAKE_TIMEOUT_S = 10.0      # a TCP peer must say hello within this time
SHUTDOWN_GRACE_S = 2.0              # time a cancelled job gets to stop before the process exits
LISTENING_MARKER = "ANIMA_BACKEND_LISTENING"   # stderr line "<marker> <host> <port>"

EXIT_OK = 0
EXIT_MISSING_DEPENDENCY = 3
EXIT_START_FAILED = 4

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TORCH_MISSING_NOTE = "torch is not installed in this interpreter: jobs that need it are unavailable"


class ServerStartError(Exception):
    """The server cannot start (bad option, missing dependency ...); message is for the user."""


@dataclass
class ServerConfig:
    """What the server tells clients in its hello, plus where it writes artifacts."""
    cache_dir: Path
    device: str
    notes: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)

    def hello(self, blobs: bool) -> dict:
        return server_message(
            MessageType.HELLO, protocol=PROTOCOL_VERSION, protocol_name=PROTOCOL_NAME,
            server_version=SERVER_VERSION, capabilities=sorted(JOBS), device=self.device,
            pid=os.getpid(), unavailable=dict(self.unavailable), notes=list(self.notes),
            blobs=blobs, jobs=jobs_module.CATALOGUE.to_json(), heartbeat_s=HEARTBEAT_S)


class ArtifactError(Exception):
    """A job's ``result["artifacts"]`` is malformed or names a missing file."""


# ============================================================================ sessions
class Session:
    """One client connection: handshake, then a loop reading client messages."""

    def __init__(self, reader: BinaryIO, writer: BinaryIO, config: ServerConfig,
                 runner: "JobRunner", *, token: str | None, blobs: bool,
                 on_handshake: Callable[[], None] = lambda: None, name: str = "session"):
        self.reader = reader
        self.writer = writer
        self.config = config
        self.runner = runner
        self.token = token            # None: no token required (stdio)
        self.blobs = blobs            # ship artifacts as blob messages (TCP)
        self.name = name
        self._on_handshake = on_handshake
        self._write_lock = threading.Lock()
        self.closed = False

    # ------------------------------------------------------------------ output
    def send(self, msg: dict) -> bool:
        """Write one message; False (and the session marked closed) if the peer is gone."""
        return self._write(encode(msg))

    def _write(self, data: bytes, path: Path | None = None, size: int = 0) -> bool:
        with self._write_lock:
            if self.closed:
                return False
            try:
                self.writer.write(data)
                if path is not None:
                    self._copy_file(path, size)
                self.writer.flush()
                return True
            except (OSError, ValueError) as e:
                log.info("%s: peer gone (%s)", self.name, e)
                self.closed = True
                return False

    def _copy_file(self, path: Path, size: int) -> None:
        """Stream exactly ``size`` bytes of ``path`` (a blob body)."""
        remaining = size
        with open(path, "rb") as f:
            while remaining > 0:
                chunk = f.read(min(remaining, IO_CHUNK_BYTES))
                if not chunk:   # the file shrank: the stream can no longer be framed
                    raise OSError(f"{path} shrank while being sent")
                self.writer.write(chunk)
                remaining -= len(chunk)

    def send_error(self, code: str, message: str, job_id: str | None = None,
                   tb: str = "") -> bool:
        return self.send(error_message(code, message, job_id=job_id, traceback=tb))

    def send_result(self, job_id: str, result: dict) -> None:
        """Send a job's result, preceded (TCP) by one blob per artifact."""
        try:
            artifacts = self._artifacts(result)
            line = encode(server_message(MessageType.RESULT, job_id=job_id, result=result))
            blobs = ([self._blob_header(job_id, name, path) for name, path in artifacts.items()]
                     if self.blobs else [])
        except (ArtifactError, ProtocolError, OSError) as e:
            self.send_error(ErrorCode.JOB_FAILED, f"job returned an invalid result: {e}", job_id)
            return
        for header, path, size in blobs:
            if not self._write(header, path, size):
                return
        self._write(line)

    @staticmethod
    def _blob_header(job_id: str, name: str, path: Path) -> tuple[bytes, Path, int]:
        """(encoded blob header, file, size) for one artifact."""
        size = path.stat().st_size
        header = server_message(MessageType.BLOB, job_id=job_id, name=name, size=size,
                                sha256=sha256_file(path), filename=path.name)
        return encode(header), path, size

    def _artifacts(self, result: dict) -> dict[str, Path]:
        """Validate ``result["artifacts"]``: ``{name: path}`` of files inside the cache dir."""
        artifacts = result.get(ARTIFACTS_KEY, {})
        if not isinstance(artifacts, dict):
            raise ArtifactError(f"result[{ARTIFACTS_KEY!r}] must be an object {{name: path}}")
        cache = self.config.cache_dir.resolve()
        paths = {}
        for name, value in artifacts.items():
            if not isinstance(value, str):
                raise ArtifactError(f"artifact {name!r} must be a path string, got {value!r:.80}")
            path = Path(value).resolve()
            if not path.is_file():
                raise ArtifactError(f"artifact {name!r}: no such file {value}")
            if not path.is_relative_to(cache):
                raise ArtifactError(f"artifact {name!r}: {value} is outside the cache dir {cache}")
            paths[name] = path
        return paths

    # ------------------------------------------------------------------ input
    def serve(self) -> bool:
        """Run the session until it ends. True if the client asked for ``shutdown``."""
        try:
            if not self._handshake():
                return False
            return self._loop()
        except OSError as e:
            log.info("%s: connection lost (%s)", self.name, e)
            return False
        finally:
            self.runner.cancel_session(self)

    def _handshake(self) -> bool:
        try:
            line = read_line(self.reader)
            if line is None:
                return False
            msg = decode(line, CLIENT_TO_SERVER)
        except ProtocolMismatch as e:
            self.send_error(ErrorCode.PROTOCOL_MISMATCH, str(e))
            return False
        except ProtocolError as e:
            self.send_error(ErrorCode.PROTOCOL_ERROR, f"bad hello: {e}")
            return False
        if msg["type"] != MessageType.HELLO:
            self.send_error(ErrorCode.HANDSHAKE_REQUIRED,
                            f"the first message must be 'hello', got {msg['type']!r}")
            return False
        if self.token is not None:
            offered = (msg.get("token") or "").encode("utf-8")
            if not hmac.compare_digest(offered, self.token.encode("utf-8")):
                log.warning("%s: wrong or missing token", self.name)
                self.send_error(ErrorCode.UNAUTHORIZED, "wrong or missing token")
                return False
        log.info("%s: hello from %s", self.name, msg["client"])
        self._on_handshake()
        return self.send(self.config.hello(self.blobs))

    def _loop(self) -> bool:
        while True:
            try:
                line = read_line(self.reader)
                if line is None:
                    return False
                msg = decode(line, CLIENT_TO_SERVER)
            except ProtocolError as e:
                log.warning("%s: %s", self.name, e)
                self.send_error(ErrorCode.PROTOCOL_ERROR, str(e))
                continue
            mtype = msg["type"]
            if mtype == MessageType.SUBMIT:
                self._submit(msg["job_id"], msg["kind"], msg["params"])
            elif mtype == MessageType.CANCEL:
                self.runner.cancel(msg["job_id"], self)
            elif mtype == MessageType.SHUTDOWN:
                log.info("%s: shutdown requested", self.name)
                return True
            else:
                self.send_error(ErrorCode.PROTOCOL_ERROR, f"unexpected {mtype!r} message")

    def _submit(self, job_id: str, kind: str, params: dict) -> None:
        if kind not in JOBS:
            hint = (f"; unavailable job modules: {self.config.unavailable}"
                    if self.config.unavailable else "")
            self.send_error(ErrorCode.UNKNOWN_JOB_KIND,
                            f"unknown job kind {kind!r}; this server runs {sorted(JOBS)}{hint}",
                            job_id)
            return
        try:
            jobs_module.check_params(kind, params)
        except JobError as e:
            self.send_error(e.code, e.message, job_id)
            return
        job = _Job(job_id, kind, params, self)
        if not self.runner.submit(job, lambda: self.send(
                server_message(MessageType.ACCEPTED, job_id=job_id))):
            self.send_error(ErrorCode.DUPLICATE_JOB_ID, f"job id {job_id!r} is already in use",
                            job_id)


# ============================================================================ job runner
@dataclass
class _Job:
    job_id: str
    kind: str
    params: dict
    session: Session
    cancel_event: threading.Event = field(default_factory=threading.Event)
    started: bool = False


class JobRunner:
    """Runs jobs one at a time, FIFO, on a daemon worker thread."""

    def __init__(self, config: ServerConfig):
        self.config = config
        self._queue: "list[_Job]" = []
        self._cond = threading.Condition()
        self._jobs: dict[str, _Job] = {}
        self._stopping = False
        self._thread = threading.Thread(target=self._work, name="anima-job-worker", daemon=True)
        self._thread.start()

    def submit(self, job: _Job, announce: Callable[[], Any]) -> bool:
        """Queue ``job``, calling ``announce`` (the ``accepted`` message) before it can start.
        False if the job id is already in use."""
        with self._cond:
            if job.job_id in self._jobs:
                return False
            self._jobs[job.job_id] = job
            announce()
            self._queue.append(job)
            self._cond.notify()
        return True

    def cancel(self, job_id: str, session: Session) -> None:
        """Cancel a job of ``session``; unknown or finished jobs are ignored."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None or job.session is not session:
                return
            job.cancel_event.set()
            if job.started:
                return               # the job sees ctx.cancelled() and stops
            self._queue.remove(job)
            del self._jobs[job_id]
        log.info("job %s cancelled before it started", job_id)
        session.send(server_message(MessageType.CANCELLED, job_id=job_id))

    def cancel_session(self, session: Session) -> None:
        """Cancel every queued or running job of a session that ended."""
        with self._cond:
            for job in [j for j in self._jobs.values() if j.session is session]:
                job.cancel_event.set()
                if not job.started:
                    self._queue.remove(job)
                    del self._jobs[job.job_id]

    def stop(self, timeout: float) -> bool:
        """Stop the worker after the current job; True if it stopped within ``timeout``."""
        with self._cond:
            self._stopping = True
            for job in self._jobs.values():
                job.cancel_event.set()
            self._cond.notify()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                job = self._queue.pop(0)
                job.started = True
            try:
                self._run(job)
            except Exception:  # noqa: BLE001 - never let the worker thread die
                log.exception("internal error while running job %s", job.job_id)
            finally:
                with self._cond:
                    self._jobs.pop(job.job_id, None)

    def _run(self, job: _Job) -> None:
        session, job_id = job.session, job.job_id

        def on_progress(fraction: float, message: str) -> None:
            session.send(server_message(MessageType.PROGRESS, job_id=job_id, fraction=fraction,
                                        message=message))

        ctx = JobContext(job_id, self.config.cache_dir, self.config.device, on_progress,
                         job.cancel_event)
        log.info("job %s (%s) started", job_id, job.kind)
        try:
            result = JOBS[job.kind](dict(job.params), ctx)
            if not isinstance(result, dict):
                raise TypeError(f"job kind {job.kind!r} returned {type(result).__name__}, "
                                f"expected a dict")
        except JobCancelled:
            log.info("job %s cancelled", job_id)
            session.send(server_message(MessageType.CANCELLED, job_id=job_id))
        except JobError as e:
            log.info("job %s failed: %s: %s", job_id, e.code, e.message)
            session.send_error(e.code, e.message, job_id)
        except (Exception, SystemExit) as e:  # noqa: BLE001 - reported to the client
            log.exception("job %s (%s) failed", job_id, job.kind)
            session.send_error(ErrorCode.JOB_FAILED, f"{type(e).__name__}: {e}", job_id,
                               traceback.format_exc())
        else:
            log.info("job %s finished", job_id)
            session.send_result(job_id, result)


# ============================================================================ start-up
def check_requirements(modules: tuple[str, ...] = REQUIRED_MODULES) -> None:
    """Import the modules the backend cannot run without; ``ServerStartError`` if one fails."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - a broken install counts as missing
            raise ServerStartError(
                f"the Anima backend needs the Python package {name!r}, which the interpreter "
                f"{sys.executable} (Python {sys.version.split()[0]}) cannot import "
                f"({type(e).__name__}: {e}). Install the backend requirements into this "
                f"interpreter, e.g. `{sys.executable} -m pip install {name}`, or choose another "
                f"interpreter in the add-on preferences.") from e


def resolve_device(requested: str) -> tuple[str, list[str]]:
    """``auto`` -> ``cuda`` if torch sees a GPU else ``cpu``. Returns (device, notes).
    torch is imported only here and only when needed; its absence is a note, not an error,
    unless ``cuda`` was requested."""
    if requested not in DEVICE_CHOICES:
        raise ServerStartError(f"--device must be one of {DEVICE_CHOICES}, got {requested!r}")
    if requested == "cpu":
        missing = importlib.util.find_spec("torch") is None
        return "cpu", [TORCH_MISSING_NOTE] if missing else []
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        if requested == "cuda":
            raise ServerStartError(f"--device cuda needs torch, which cannot be imported "
                                   f"({type(e).__name__}: {e})") from e
        return "cpu", [f"{TORCH_MISSING_NOTE} ({type(e).__name__}: {e})"]
    if torch.cuda.is_available():
        return "cuda", []
    if requested == "cuda":
        raise ServerStartError(f"--device cuda was requested but torch {torch.__version__} sees "
                               f"no CUDA device (built for CUDA {torch.version.cuda})")
    return "cpu", ["no CUDA device available: running on cpu"]


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPV6]:PORT`` -> (host, port); port 0 picks a free port."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ServerStartError(f"--tcp expects HOST:PORT (e.g. 127.0.0.1:8765), got {text!r}")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    """True if every address ``host`` resolves to is a loopback address."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0].split("%")[0]).is_loopback
                               for i in infos)


def read_token(path: Path) -> str:
    """The shared secret of TCP mode: the token file's content, stripped."""
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ServerStartError(f"cannot read --token-file {path}: {e}") from e
    if not token:
        raise ServerStartError(f"--token-file {path} is empty")
    if os.name == "posix" and Path(path).stat().st_mode & 0o077:
        log.warning("token file %s is readable by other users; chmod 600 it", path)
    return token


def _claim_stdio() -> tuple[BinaryIO, BinaryIO]:
    """Protocol streams for stdio mode; fd 1 is then pointed at stderr so that nothing else
    can write to the protocol stream."""
    sys.stdout.flush()
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return sys.stdin.buffer, protocol_out


# ============================================================================ serving
def serve_stdio(config: ServerConfig, reader: BinaryIO, writer: BinaryIO) -> int:
    """Serve one session on the given streams, then stop."""
    runner = JobRunner(config)
    Session(reader, writer, config, runner, token=None, blobs=False, name="stdio").serve()
    if not runner.stop(SHUTDOWN_GRACE_S):
        log.warning("a job ignored cancellation; exiting anyway")
        logging.shutdown()
        os._exit(EXIT_OK)
    return EXIT_OK


def serve_tcp(config: ServerConfig, host: str, port: int, token: str) -> int:
    """Accept connections forever (until interrupted), one session thread each."""
    runner = JobRunner(config)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.create_server((host, port), family=family) as server:
        bound_host, bound_port = server.getsockname()[:2]
        log.info("listening on %s:%s", bound_host, bound_port)
        print(f"{LISTENING_MARKER} {bound_host} {bound_port}", file=sys.stderr, flush=True)
        try:
            while True:
                conn, peer = server.accept()
                threading.Thread(target=_serve_connection, args=(conn, peer, config, runner,
                                                                 token),
                                 name=f"anima-session-{peer[1]}", daemon=True).start()
        except KeyboardInterrupt:
            log.info("interrupted")
    runner.stop(SHUTDOWN_GRACE_S)
    return EXIT_OK


def _serve_connection(conn: socket.socket, peer: tuple, config: ServerConfig,
                      runner: JobRunner, token: str) -> None:
    name = f"tcp {peer[0]}:{peer[1]}"
    log.info("%s: connected", name)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.settimeout(TCP_HANDSHAKE_TIMEOUT_S)
    reader, writer = conn.makefile("rb"), conn.makefile("wb")
    try:
        Session(reader, writer, config, runner, token=token, blobs=True,
                on_handshake=lambda: conn.settimeout(None), name=name).serve()
    finally:
        for f in (reader, writer):
            try:
                f.close()
            except OSError:
                pass
        conn.close()
        log.info("%s: closed", name)


# ============================================================================ command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m backend serve``."""
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--stdio", action="store_true",
                      help="speak the protocol on stdin/stdout (one client, the parent process)")
    mode.add_argument("--tcp", metavar="HOST:PORT",
                      help="listen on a TCP address (loopback only unless --allow-remote; "
                           "port 0 picks a free port, announced on stderr)")
    parser.add_argument("--token-file", type=Path,
                        help="file holding the shared secret TCP clients must send (required "
                             "with --tcp)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow --tcp on a non-loopback address")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR,
                        help=f"where job artifacts are written (default {DEFAULT_CACHE_DIR})")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                        help="compute device for jobs (auto: cuda if available)")
    parser.add_argument("--job-module", action="append", default=[], metavar="MODULE",
                        help="import an extra module registering job kinds (repeatable)")
    parser.add_argument("--log-level", default="INFO",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="stderr log level")


def run(args: argparse.Namespace) -> int:
    """Entry point of ``python -m backend serve``."""
    streams = _claim_stdio() if args.stdio else None
    logging.basicConfig(stream=sys.stderr, level=args.log_level, format=LOG_FORMAT)
    try:
        check_requirements()
    except ServerStartError as e:
        print(f"anima backend: {e}", file=sys.stderr, flush=True)
        return EXIT_MISSING_DEPENDENCY
    try:
        if args.tcp:
            host, port = parse_address(args.tcp)
            if not (args.allow_remote or is_loopback(host)):
                raise ServerStartError(f"refusing to listen on non-loopback address {host!r}: "
                                       f"anyone who can reach it could run jobs; pass "
                                       f"--allow-remote if you really mean it")
            if args.token_file is None:
                raise ServerStartError("--tcp requires --token-file")
            token = read_token(args.token_file)
        cache_dir = Path(args.cache_dir).expanduser()
        cache_dir.mkdir(parents=True, exist_ok=True)
        device, notes = resolve_device(args.device)
    except (ServerStartError, OSError) as e:
        print(f"anima backend: {e}", file=sys.stderr, flush=True)
        return EXIT_START_FAILED
    unavailable = jobs_module.load_job_modules([*jobs_module.JOB_MODULES, *args.job_module])
    config = ServerConfig(cache_dir.resolve(), device, notes, unavailable)
    log.info("anima backend %s (protocol %d) pid %d, device %s, jobs %s, cache %s",
             SERVER_VERSION, PROTOCOL_VERSION, os.getpid(), device, sorted(JOBS), cache_dir)
    if args.stdio:
        return serve_stdio(config, *streams)
    return serve_tcp(config, host, port, token)
