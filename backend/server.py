"""The Anima backend server: ``python -m backend serve --stdio | --tcp HOST:PORT``.

One worker thread runs jobs one at a time, round-robin across sessions (``backend.job_runner``);
each connection ("session") has a reader loop on its own thread, so ``cancel`` messages are read
while a job runs, and a heartbeat thread that sends ``heartbeat`` whenever the session has sent
nothing for ``HEARTBEAT_S`` (so a hung job does not silence the server; a stopped process
does, and the client's watchdog notices). Protocol messages go to stdout (stdio mode) or the
socket (``backend.server_tcp``, optionally TLS); everything else, logging included, goes
to stderr. In stdio mode the process's file descriptor 1 is redirected to stderr at start-up, so
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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable

from . import jobs as jobs_module
from .job_runner import Job, JobRunner
from .jobs import JOBS, JobError
from .protocol import (ARTIFACTS_KEY, CLIENT_TO_SERVER, HEARTBEAT_S, IO_CHUNK_BYTES,
                       PROTOCOL_NAME, PROTOCOL_VERSION, ErrorCode, MessageType, ProtocolError,
                       ProtocolMismatch, decode, encode, error_message, read_line, server_message,
                       sha256_file)

__all__ = ["JobRunner", "Session", "ServerConfig", "run", "serve_stdio"]

log = logging.getLogger("backend.server")

SERVER_VERSION = "0.1.0"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "anima"
DEVICE_CHOICES = ("auto", "cpu", "cuda")
REQUIRED_MODULES = ("numpy",)
TCP_HANDSHAKE_TIMEOUT_S = 10.0      # a TCP peer must say hello within this time
SEND_STALL_S = 30                   # a TCP peer that reads nothing for this long is dropped
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
    send_stall_s: int = SEND_STALL_S      # TCP: drop a client that reads nothing this long

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
                 on_handshake: Callable[[], None] = lambda: None, name: str = "session",
                 on_broken: Callable[[], None] = lambda: None):
        self.reader = reader
        self.writer = writer
        self.config = config
        self.runner = runner
        self.token = token            # None: no token required (stdio)
        self.blobs = blobs            # ship artifacts as blob messages (TCP)
        self.name = name
        self._on_handshake = on_handshake
        self._on_broken = on_broken       # a write failed: end the reader too (TCP)
        self._write_lock = threading.Lock()
        self._last_sent = time.monotonic()
        self._ended = threading.Event()
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
                self._last_sent = time.monotonic()
                return True
            except (OSError, ValueError) as e:
                log.info("%s: peer gone or not reading (%s)", self.name, e)
                self.closed = True
                self._on_broken()
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
            path = Path(value).resolve()              # follows links and '..'
            if not path.is_relative_to(cache):
                raise ArtifactError(f"artifact {name!r}: {value} is outside the cache dir {cache}")
            if not path.is_file():
                raise ArtifactError(f"artifact {name!r}: no such file {value}")
            paths[name] = path
        return paths

    # ------------------------------------------------------------------ input
    def serve(self) -> bool:
        """Run the session until it ends. True if the client asked for ``shutdown``."""
        try:
            if not self._handshake():
                return False
            threading.Thread(target=self._heartbeats, name=f"anima-heartbeat-{self.name}",
                             daemon=True).start()
            return self._loop()
        except OSError as e:
            log.info("%s: connection lost (%s)", self.name, e)
            return False
        finally:
            self._ended.set()
            self.runner.cancel_session(self)

    def _heartbeats(self) -> None:
        """Send ``heartbeat`` whenever nothing was sent for ``HEARTBEAT_S``, until the session
        ends. Runs on its own thread: a job that hangs the worker does not stop it."""
        seq = 0
        while not self._ended.is_set():
            delay = self._last_sent + HEARTBEAT_S - time.monotonic()
            if delay > 0:
                self._ended.wait(delay)
                continue
            running, queued = self.runner.status(self)
            if not self.send(server_message(MessageType.HEARTBEAT, seq=seq, running=running,
                                            queued=queued)):
                return
            seq += 1

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
        except (RecursionError, MemoryError, UnicodeError) as e:
            self.send_error(ErrorCode.PROTOCOL_ERROR, f"bad hello: {type(e).__name__}")
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
            line = read_line_or_error(self.reader)
            if line is None:
                return False
            if isinstance(line, ProtocolError):
                log.warning("%s: %s", self.name, line)
                self.send_error(ErrorCode.PROTOCOL_ERROR, str(line))
                continue
            try:
                if self._handle(decode(line, CLIENT_TO_SERVER)):
                    return True
            except ProtocolError as e:
                log.warning("%s: %s", self.name, e)
                self.send_error(ErrorCode.PROTOCOL_ERROR, str(e))
            except OSError:
                raise                         # the connection is gone
            except Exception as e:  # noqa: BLE001 - one bad message must not end the session
                log.exception("%s: internal error handling a message", self.name)
                self.send_error(ErrorCode.PROTOCOL_ERROR, f"the server could not handle this "
                                                          f"message ({type(e).__name__}: {e})")

    def _handle(self, msg: dict) -> bool:
        """Act on one client message; True if it asks to end the session."""
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
        return False

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
        job = Job(job_id, kind, params, self)
        if not self.runner.submit(job, lambda: self.send(
                server_message(MessageType.ACCEPTED, job_id=job_id))):
            self.send_error(ErrorCode.DUPLICATE_JOB_ID, f"job id {job_id!r} is already in use",
                            job_id)


def read_line_or_error(reader: BinaryIO) -> bytes | ProtocolError | None:
    """``read_line``, with an oversized or undecodable line returned as a ``ProtocolError``
    (the line is skipped, the stream stays usable). None at the end of the stream."""
    try:
        return read_line(reader)
    except ProtocolError as e:
        return e


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
    parser.add_argument("--tls-cert", type=Path, metavar="FILE",
                        help="TCP: serve TLS with this PEM certificate (chain); needs --tls-key")
    parser.add_argument("--tls-key", type=Path, metavar="FILE",
                        help="TCP: the certificate's PEM private key (chmod 600)")
    parser.add_argument("--stalled-client-s", type=int, default=SEND_STALL_S, metavar="S",
                        help=f"TCP: drop a client that reads nothing for S seconds while the "
                             f"server writes to it (default {SEND_STALL_S})")
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
            tls = None
            if (args.tls_cert is None) != (args.tls_key is None):
                raise ServerStartError("--tls-cert and --tls-key go together")
            if args.tls_cert is not None:
                from .server_tcp import tls_context
                tls = tls_context(args.tls_cert, args.tls_key)
        elif args.tls_cert is not None or args.tls_key is not None:
            raise ServerStartError("--tls-cert / --tls-key only apply to --tcp")
        cache_dir = Path(args.cache_dir).expanduser()
        cache_dir.mkdir(parents=True, exist_ok=True)
        device, notes = resolve_device(args.device)
    except (ServerStartError, OSError) as e:
        print(f"anima backend: {e}", file=sys.stderr, flush=True)
        return EXIT_START_FAILED
    unavailable = jobs_module.load_job_modules([*jobs_module.JOB_MODULES, *args.job_module])
    config = ServerConfig(cache_dir.resolve(), device, notes, unavailable,
                          max(1, args.stalled_client_s))
    log.info("anima backend %s (protocol %d) pid %d, device %s, jobs %s, cache %s",
             SERVER_VERSION, PROTOCOL_VERSION, os.getpid(), device, sorted(JOBS), cache_dir)
    if args.stdio:
        return serve_stdio(config, *streams)
    from .server_tcp import serve_tcp
    try:
        return serve_tcp(config, host, port, token, tls)
    except OSError as e:                # the address is in use or not ours
        print(f"anima backend: cannot listen on {host}:{port}: {e.strerror or e}",
              file=sys.stderr, flush=True)
        return EXIT_START_FAILED
