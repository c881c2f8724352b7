"""Wire protocol between the Blender add-on (client) and the Anima backend (server).

STANDARD LIBRARY ONLY: this module is imported inside Blender's Python.

Framing: one JSON object per line (UTF-8, ``\\n`` terminated) over the backend's stdin/stdout
or a TCP socket. The only exception is the ``blob`` message (TCP only), which is followed
immediately by exactly ``size`` raw bytes. Every message has a ``type`` field; the other fields
depend on the type and on the direction (see ``CLIENT_SCHEMAS`` / ``SERVER_SCHEMAS`` and
docs/protocol.md). Unknown fields are ignored, missing or mistyped fields raise
``ProtocolError`` with a message naming the message type and the field.

Versioning: ``PROTOCOL_VERSION`` is bumped on every incompatible change. The ``type`` and
``protocol`` fields of ``hello`` never change, so that two different versions can always tell
each other so (``ProtocolMismatch``).
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Mapping

PROTOCOL_NAME = "anima-backend"
PROTOCOL_VERSION = 2      # 2: heartbeat and queued messages, job schemas in the server's hello

ENCODING = "utf-8"
NEWLINE = b"\n"
MAX_LINE_BYTES = 16 * 1024 * 1024          # a longer line is rejected (and skipped)
MAX_BLOB_BYTES = 8 * 1024 * 1024 * 1024     # sanity limit for one artifact
IO_CHUNK_BYTES = 1024 * 1024
MAX_DEPTH = 32                               # deepest nesting of objects / arrays in a message
HEARTBEAT_S = 0.5                            # the server says it is alive this often
HUNG_AFTER_S = 1.5                           # the client calls a silent backend hung after this
JOB_ID_MAX_CHARS = 128
_JOB_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")

# Result key whose value maps artifact names to file paths (see docs/protocol.md).
ARTIFACTS_KEY = "artifacts"

# Directions, named after the sender.
CLIENT_TO_SERVER = "client"
SERVER_TO_CLIENT = "server"


class MessageType:
    """Values of the ``type`` field."""
    HELLO = "hello"            # both directions
    SUBMIT = "submit"          # client -> server
    CANCEL = "cancel"
    SHUTDOWN = "shutdown"
    ACCEPTED = "accepted"      # server -> client
    PROGRESS = "progress"
    RESULT = "result"
    ERROR = "error"
    CANCELLED = "cancelled"
    BLOB = "blob"
    HEARTBEAT = "heartbeat"    # server -> client, every HEARTBEAT_S while the session is open
    QUEUED = "queued"          # server -> client: a job waits behind ``ahead`` others


class ErrorCode:
    """Values of ``error.code`` (sent by the server) and ``BackendError.code`` (raised by the
    client). One list so that UI code can switch on them."""
    # sent by the server
    PROTOCOL_MISMATCH = "protocol_mismatch"
    PROTOCOL_ERROR = "protocol_error"
    HANDSHAKE_REQUIRED = "handshake_required"
    UNAUTHORIZED = "unauthorized"
    UNKNOWN_JOB_KIND = "unknown_job_kind"
    DUPLICATE_JOB_ID = "duplicate_job_id"
    BAD_PARAMS = "bad_params"
    JOB_FAILED = "job_failed"
    # raised / synthesised by the client
    INTERPRETER_NOT_FOUND = "interpreter_not_found"
    CACHE_NOT_WRITABLE = "cache_not_writable"
    BACKEND_START_FAILED = "backend_start_failed"
    HANDSHAKE_TIMEOUT = "handshake_timeout"
    CONNECT_FAILED = "connect_failed"
    BACKEND_DIED = "backend_died"
    BACKEND_HUNG = "backend_hung"      # no message (not even a heartbeat) for HUNG_AFTER_S
    CLIENT_CLOSED = "client_closed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    UNKNOWN_JOB = "unknown_job"
    BLOB_FAILED = "blob_failed"


class ProtocolError(ValueError):
    """A message that is not valid JSON, not an object, or misses / mistypes a field."""


class ProtocolMismatch(ProtocolError):
    """The peer's hello announced another protocol version."""

    def __init__(self, peer_version: Any, peer: str = "the peer", own: str = "this side"):
        self.peer_version = peer_version
        self.own_version = PROTOCOL_VERSION
        super().__init__(f"protocol version mismatch: {peer} speaks {PROTOCOL_NAME} protocol "
                         f"{peer_version!r}, {own} speaks {PROTOCOL_VERSION}; update the Anima "
                         f"add-on and the backend together")


# ----------------------------------------------------------------------------- field checks
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


def _is_count(v: Any) -> bool:
    return _is_int(v) and v >= 0


def _is_job_id(v: Any) -> bool:
    return (isinstance(v, str) and len(v) <= JOB_ID_MAX_CHARS
            and _JOB_ID_RE.fullmatch(v) is not None)


_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "str": (lambda v: isinstance(v, str), "a string"),
    "int": (_is_int, "an integer"),
    "bool": (lambda v: isinstance(v, bool), "a boolean"),
    "dict": (lambda v: isinstance(v, dict), "an object"),
    "list_str": (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
                 "a list of strings"),
    "count": (_is_count, "an integer >= 0"),
    "seconds": (lambda v: _is_number(v) and v > 0, "a number of seconds > 0"),
    "fraction": (lambda v: _is_number(v) and 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "size": (lambda v: _is_int(v) and 0 <= v <= MAX_BLOB_BYTES,
             f"an integer in [0, {MAX_BLOB_BYTES}]"),
    "sha256": (lambda v: isinstance(v, str) and _SHA256_RE.fullmatch(v) is not None,
               "64 lowercase hex digits"),
    "job_id": (_is_job_id, f"a job id (letters, digits, '_', '.', '-', at most "
                           f"{JOB_ID_MAX_CHARS} characters, not starting with '.', '_' or '-')"),
}


@dataclass(frozen=True)
class Field:
    """One field of a message schema."""
    name: str
    check: str                 # key of _CHECKS
    required: bool = True
    nullable: bool = False


CLIENT_SCHEMAS: dict[str, tuple[Field, ...]] = {
    MessageType.HELLO: (Field("protocol", "int"), Field("client", "str"),
                        Field("token", "str", required=False, nullable=True)),
    MessageType.SUBMIT: (Field("job_id", "job_id"), Field("kind", "str"), Field("params", "dict")),
    MessageType.CANCEL: (Field("job_id", "job_id"),),
    MessageType.SHUTDOWN: (),
}

SERVER_SCHEMAS: dict[str, tuple[Field, ...]] = {
    MessageType.HELLO: (Field("protocol", "int"), Field("server_version", "str"),
                        Field("capabilities", "list_str"), Field("device", "str"),
                        Field("pid", "int"),
                        Field("protocol_name", "str", required=False),
                        Field("unavailable", "dict", required=False),
                        Field("notes", "list_str", required=False),
                        Field("blobs", "bool", required=False),
                        Field("jobs", "dict", required=False),
                        Field("heartbeat_s", "seconds", required=False)),
    MessageType.ACCEPTED: (Field("job_id", "job_id"),),
    MessageType.PROGRESS: (Field("job_id", "job_id"), Field("fraction", "fraction"),
                           Field("message", "str")),
    MessageType.RESULT: (Field("job_id", "job_id"), Field("result", "dict")),
    MessageType.ERROR: (Field("job_id", "job_id", nullable=True), Field("code", "str"),
                        Field("message", "str"), Field("traceback", "str")),
    MessageType.CANCELLED: (Field("job_id", "job_id"),),
    MessageType.BLOB: (Field("job_id", "job_id"), Field("name", "str"), Field("size", "size"),
                       Field("sha256", "sha256"), Field("filename", "str", required=False)),
    MessageType.HEARTBEAT: (Field("seq", "count"),
                            Field("running", "job_id", required=False, nullable=True),
                            Field("queued", "count", required=False)),
    MessageType.QUEUED: (Field("job_id", "job_id"), Field("ahead", "count")),
}

_SCHEMAS = {CLIENT_TO_SERVER: CLIENT_SCHEMAS, SERVER_TO_CLIENT: SERVER_SCHEMAS}


# ----------------------------------------------------------------------------- validation
def check_version(msg: Mapping[str, Any], direction: str) -> None:
    """Raise ``ProtocolMismatch`` when ``msg`` (sent by ``direction``) is a hello announcing
    another protocol version.

    Runs before the schema check, so that a hello of a future version (whose other fields may
    differ) is still reported as a version mismatch rather than as a malformed message."""
    if msg.get("type") == MessageType.HELLO and "protocol" in msg:
        version = msg["protocol"]
        if not _is_int(version) or version != PROTOCOL_VERSION:
            peer, own = ((CLIENT_TO_SERVER, SERVER_TO_CLIENT) if direction == CLIENT_TO_SERVER
                         else (SERVER_TO_CLIENT, CLIENT_TO_SERVER))
            raise ProtocolMismatch(version, peer=f"the {peer}", own=f"the {own}")


def validate(msg: Any, direction: str) -> dict:
    """Check ``msg`` against the schema of its type for ``direction`` (the sender:
    ``CLIENT_TO_SERVER`` or ``SERVER_TO_CLIENT``). Returns the message as a dict."""
    schemas = _SCHEMAS[direction]
    if not isinstance(msg, dict):
        raise ProtocolError(f"a message must be a JSON object, got {type(msg).__name__}")
    mtype = msg.get("type")
    if not isinstance(mtype, str):
        raise ProtocolError("message has no string 'type' field")
    if mtype not in schemas:
        raise ProtocolError(f"unknown message type {mtype!r} from the {direction}; expected one "
                            f"of {sorted(schemas)}")
    for f in schemas[mtype]:
        if f.name not in msg:
            if f.required:
                raise ProtocolError(f"'{mtype}' message misses field '{f.name}'")
            continue
        value = msg[f.name]
        if value is None and f.nullable:
            continue
        ok, expected = _CHECKS[f.check]
        if not ok(value):
            raise ProtocolError(f"'{mtype}' message field '{f.name}' must be {expected}, "
                                f"got {value!r:.80}")
    return msg


def make(direction: str, mtype: str, **fields: Any) -> dict:
    """Build and validate a message sent by ``direction``."""
    return validate({"type": mtype, **fields}, direction)


def client_message(mtype: str, **fields: Any) -> dict:
    """Build a validated client -> server message."""
    return make(CLIENT_TO_SERVER, mtype, **fields)


def server_message(mtype: str, **fields: Any) -> dict:
    """Build a validated server -> client message."""
    return make(SERVER_TO_CLIENT, mtype, **fields)


def error_message(code: str, message: str, job_id: str | None = None,
                  traceback: str = "") -> dict:
    """Build a server ``error`` message."""
    return server_message(MessageType.ERROR, job_id=job_id, code=code, message=message,
                          traceback=traceback)


# ----------------------------------------------------------------------------- encoding
def encode(msg: Mapping[str, Any]) -> bytes:
    """One message as a JSON line. Raises ``ProtocolError`` for values JSON cannot carry
    (including NaN / infinity, which strict JSON parsers reject)."""
    try:
        text = json.dumps(msg, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode(ENCODING) + NEWLINE
    except UnicodeEncodeError as e:          # a lone surrogate (from a "\udc80" escape)
        raise ProtocolError(f"message holds text UTF-8 cannot carry ({e.reason} at "
                            f"{e.start})") from None
    except (TypeError, ValueError) as e:
        raise ProtocolError(f"message cannot be encoded as JSON: {e}") from e


def parse(line: bytes, max_depth: int = MAX_DEPTH) -> dict:
    """Parse one line into a JSON object without checking its schema.

    Objects and arrays nested deeper than ``max_depth`` are refused (``ProtocolError``), and so
    are NaN / Infinity literals, which strict JSON does not have."""
    try:
        msg = json.loads(line.decode(ENCODING), parse_constant=_refuse_constant)
    except UnicodeDecodeError as e:
        raise ProtocolError(f"message is not valid UTF-8: {e}") from e
    except RecursionError:
        raise ProtocolError(f"message nests objects / arrays deeper than {max_depth} "
                            f"levels") from None
    except ValueError as e:
        raise ProtocolError(f"message is not valid JSON: {e}; line starts with "
                            f"{line[:80]!r}") from e
    if not isinstance(msg, dict):
        raise ProtocolError(f"a message must be a JSON object, got {type(msg).__name__}")
    if nesting_depth(msg, max_depth) > max_depth:
        raise ProtocolError(f"message nests objects / arrays deeper than {max_depth} levels")
    return msg


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (only finite numbers are allowed)")


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Depth of nested dicts / lists in ``value`` (a scalar is 0), counted without recursion
    and only up to ``limit + 1``."""
    deepest = 0
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


def decode(line: bytes, direction: str) -> dict:
    """Parse, version-check (hello only) and validate one line sent by ``direction``."""
    msg = parse(line)
    check_version(msg, direction)
    return validate(msg, direction)


# ----------------------------------------------------------------------------- streams
def read_line(stream: BinaryIO, limit: int = MAX_LINE_BYTES) -> bytes | None:
    """Next non-blank line from ``stream`` (without the newline), or None at end of stream.

    A line longer than ``limit`` is consumed up to its newline and raises ``ProtocolError``,
    so that the caller can report it and go on with the next line."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return None
        if len(line) > limit and not line.endswith(NEWLINE):
            while True:                       # skip the rest of the oversized line
                rest = stream.readline(IO_CHUNK_BYTES)
                if not rest or rest.endswith(NEWLINE):
                    break
            raise ProtocolError(f"message line longer than {limit} bytes")
        line = line.rstrip(b"\r\n")
        if line.strip():
            return line


def write_message(stream: BinaryIO, msg: Mapping[str, Any]) -> None:
    """Encode, write and flush one message (callers serialise writers with a lock)."""
    stream.write(encode(msg))
    stream.flush()


def read_exact(stream: BinaryIO, size: int, sink: Callable[[bytes], Any] | None = None) -> str:
    """Read exactly ``size`` bytes (a blob body), passing each chunk to ``sink``.

    Returns the sha256 hex digest of the bytes; raises ``EOFError`` if the stream ends early."""
    digest = hashlib.sha256()
    remaining = size
    while remaining > 0:
        chunk = stream.read(min(remaining, IO_CHUNK_BYTES))
        if not chunk:
            raise EOFError(f"stream ended {remaining} bytes before the end of a {size}-byte blob")
        digest.update(chunk)
        if sink is not None:
            sink(chunk)
        remaining -= len(chunk)
    return digest.hexdigest()


def sha256_file(path) -> str:
    """sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(IO_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()
