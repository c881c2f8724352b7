"""Fuzzing the wire protocol (hypothesis, derandomized): malformed, truncated, deeply nested,
oversized and wrongly typed messages, in both directions.

- ``protocol.decode`` / ``protocol.read_line`` in-process: every bad line raises
  ``ProtocolError`` (never another exception), for client and server messages alike.
- A real ``python -m backend serve --stdio`` process after the hello: every bad line gets one
  ``protocol_error`` reply (itself a valid server message) and the process serves a valid
  ``sleep`` job afterwards.
- Bad first lines (before the hello) against in-process sessions over socket pairs, and a few
  against real processes: refused with an error message, the session ends, nothing crashes.

The number of generated cases is printed at the end of the module (``-s`` shows it).
"""
from __future__ import annotations

import io
import json
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend import protocol
from backend.protocol import (CLIENT_TO_SERVER, SERVER_TO_CLIENT, ErrorCode, MessageType,
                              ProtocolError)

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
REPLY_TIMEOUT_S = 10.0
BASE = settings(derandomize=True, deadline=None, database=None, print_blob=True,
                suppress_health_check=list(HealthCheck))
CASES = {"count": 0}


def fuzz(examples: int) -> settings:
    """Reproducible hypothesis settings (fixed seed, no example database) for ``examples``."""
    return settings(BASE, max_examples=examples)


def tick() -> None:
    """Count one generated case (for the printed total)."""
    CASES["count"] += 1


@pytest.fixture(scope="module", autouse=True)
def report_count():
    yield
    print(f"\nfuzz cases in {Path(__file__).name}: {CASES['count']}")


# ============================================================================ a raw backend
class RawBackend:
    """``python -m backend serve --stdio`` driven line by line, without the client library
    (which would refuse to send most of what is sent here)."""

    def __init__(self, cache_dir: Path):
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = cache_dir / "fuzz-backend.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [PYTHON, "-u", "-m", "backend", "serve", "--stdio", "--cache-dir",
                 str(cache_dir), "--device", "cpu"], cwd=REPO, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=log)
        self.lines: "queue.Queue[bytes | None]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            line = self.process.stdout.readline()
            if not line:
                self.lines.put(None)
                return
            self.lines.put(line)

    def send(self, data: bytes) -> None:
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def next_message(self, timeout: float = REPLY_TIMEOUT_S) -> dict | None:
        """The next server message other than a heartbeat (decoded and validated as a server
        message), or None at end of stream."""
        deadline = time.monotonic() + timeout      # heartbeats do not extend it
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no reply within {timeout} s; backend log:\n"
                                     f"{self.log_tail()}") from None
            if line is None:
                return None
            msg = protocol.decode(line.rstrip(b"\n"), SERVER_TO_CLIENT)
            if msg["type"] != MessageType.HEARTBEAT:
                return msg

    def hello(self) -> dict:
        self.send(protocol.encode(protocol.client_message(
            MessageType.HELLO, protocol=protocol.PROTOCOL_VERSION, client="fuzz")))
        msg = self.next_message()
        assert msg is not None and msg["type"] == MessageType.HELLO, msg
        return msg

    def run_job(self, job_id: str, kind: str, params: dict) -> list[dict]:
        """Submit a job and return its messages up to the terminal one."""
        self.send(protocol.encode(protocol.client_message(
            MessageType.SUBMIT, job_id=job_id, kind=kind, params=params)))
        out = []
        while True:
            msg = self.next_message()
            assert msg is not None, f"backend ended during job {job_id}:\n{self.log_tail()}"
            if msg.get("job_id") not in (job_id, None):
                continue
            out.append(msg)
            if msg["type"] in (MessageType.RESULT, MessageType.ERROR, MessageType.CANCELLED):
                return out

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def close(self) -> int:
        try:
            self.send(protocol.encode(protocol.client_message(MessageType.SHUTDOWN)))
            self.process.stdin.close()
        except OSError:
            pass
        try:
            return self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def assert_serves_sleep(backend: RawBackend, job_id: str = "after-fuzz") -> None:
    msgs = backend.run_job(job_id, "sleep", {"seconds": 0.05, "steps": 2, "artifact": True})
    assert msgs[0]["type"] == MessageType.ACCEPTED
    last = msgs[-1]
    assert last["type"] == MessageType.RESULT, last
    assert last["result"]["steps"] == 2 and Path(last["result"]["artifacts"]["clip"]).is_file()


# ============================================================================ strategies
JOB_ID = "j1"
VALID_CLIENT = [
    {"type": "hello", "protocol": protocol.PROTOCOL_VERSION, "client": "fuzz", "token": None},
    {"type": "submit", "job_id": JOB_ID, "kind": "sleep", "params": {"seconds": 0.1}},
    {"type": "cancel", "job_id": JOB_ID},
    {"type": "shutdown"},
]
VALID_SERVER = [
    {"type": "hello", "protocol": protocol.PROTOCOL_VERSION, "server_version": "0",
     "capabilities": ["sleep"], "device": "cpu", "pid": 1, "heartbeat_s": 0.5},
    {"type": "accepted", "job_id": JOB_ID},
    {"type": "progress", "job_id": JOB_ID, "fraction": 0.5, "message": "half"},
    {"type": "result", "job_id": JOB_ID, "result": {"slept": 1.0}},
    {"type": "error", "job_id": None, "code": "job_failed", "message": "m", "traceback": ""},
    {"type": "cancelled", "job_id": JOB_ID},
    {"type": "blob", "job_id": JOB_ID, "name": "clip", "size": 3, "sha256": "a" * 64},
    {"type": "heartbeat", "seq": 3, "running": JOB_ID, "queued": 0},
    {"type": "queued", "job_id": JOB_ID, "ahead": 2},
]
SCHEMAS = {CLIENT_TO_SERVER: (protocol.CLIENT_SCHEMAS, VALID_CLIENT),
           SERVER_TO_CLIENT: (protocol.SERVER_SCHEMAS, VALID_SERVER)}

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                         st.floats(allow_nan=False, allow_infinity=False),
                         st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)

# a value that no field check accepts for a field of the given check
_WRONG = {
    "str": st.one_of(st.integers(), st.booleans(), st.lists(st.text(max_size=3), max_size=2),
                     st.floats(allow_nan=False, allow_infinity=False)),
    "int": st.one_of(st.text(max_size=5), st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
                     st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)),
    "bool": st.one_of(st.integers(0, 1), st.text(max_size=5), st.none().map(lambda _: [])),
    "dict": st.one_of(st.lists(json_scalars, max_size=3), st.text(max_size=5), st.integers()),
    "list_str": st.one_of(st.text(max_size=5), st.lists(st.integers(), min_size=1, max_size=3),
                          st.dictionaries(st.text(max_size=3), st.text(max_size=3),
                                          max_size=2)),
    "count": st.one_of(st.integers(max_value=-1), st.booleans(), st.text(max_size=4),
                       st.floats(allow_nan=False, allow_infinity=False)),
    "seconds": st.one_of(st.floats(max_value=0.0, allow_nan=False, allow_infinity=False), st.text(max_size=4),
                         st.booleans()),
    "fraction": st.one_of(st.floats(min_value=1.0001, allow_nan=False, allow_infinity=False),
                          st.floats(max_value=-0.0001, allow_nan=False, allow_infinity=False), st.text(max_size=4)),
    "size": st.one_of(st.integers(max_value=-1),
                      st.integers(min_value=protocol.MAX_BLOB_BYTES + 1), st.text(max_size=4)),
    "sha256": st.one_of(st.text(max_size=70).filter(lambda s: not protocol._SHA256_RE.fullmatch(s)),
                        st.integers()),
    "job_id": st.one_of(st.text(max_size=140).filter(lambda s: not protocol._is_job_id(s)),
                        st.integers(), st.booleans()),
}


@st.composite
def wrongly_typed(draw, direction: str):
    """A valid message with one field replaced by a value of the wrong type (or removed)."""
    schemas, valid = SCHEMAS[direction]
    msg = dict(draw(st.sampled_from(valid)))
    fields = [f for f in schemas[msg["type"]] if not (msg["type"] == "hello" and
                                                      f.name == "protocol")]
    if not fields:
        return msg, None
    field = draw(st.sampled_from(fields))
    if field.required and draw(st.booleans()) and draw(st.booleans()):
        del msg[field.name]
    else:
        value = draw(_WRONG[field.check])
        if value is None and field.nullable:
            value = []
        msg[field.name] = value
    return msg, field.name


def nested(depth: int, opener: str) -> bytes:
    inner = "[" * depth + "]" * depth if opener == "[" else '{"a":' * depth + "1" + "}" * depth
    return f'{{"type":"submit","job_id":"j1","kind":"sleep","params":{{"x":{inner}}}}}'.encode()


def truncated_lines():
    return st.sampled_from(VALID_CLIENT + VALID_SERVER).flatmap(
        lambda m: st.integers(1, len(protocol.encode(m)) - 2).map(
            lambda cut: protocol.encode(m)[:cut]))


def one_line(data: bytes) -> bytes:
    """``data`` as one protocol line (no newline inside)."""
    return data.replace(b"\n", b" ").replace(b"\r", b" ")


# ============================================================================ in-process decode
@fuzz(1500)
@given(st.binary(max_size=300))
def test_decode_random_bytes_raises_protocol_error_only(data):
    tick()
    for direction in (CLIENT_TO_SERVER, SERVER_TO_CLIENT):
        try:
            protocol.decode(data, direction)
        except ProtocolError:
            pass


@fuzz(800)
@given(truncated_lines())
def test_truncated_messages_are_refused(line):
    tick()
    for direction in (CLIENT_TO_SERVER, SERVER_TO_CLIENT):
        with pytest.raises(ProtocolError):
            protocol.decode(line.rstrip(b"\n"), direction)


@fuzz(300)
@given(st.integers(protocol.MAX_DEPTH, 20_000), st.sampled_from("[{"))
def test_deep_nesting_is_refused_without_recursion_error(depth, opener):
    tick()
    for direction in (CLIENT_TO_SERVER, SERVER_TO_CLIENT):
        with pytest.raises(ProtocolError, match="nests|deeper"):
            protocol.decode(nested(depth, opener), direction)


@fuzz(1500)
@given(st.data())
def test_wrongly_typed_fields_name_the_field(data):
    tick()
    direction = data.draw(st.sampled_from([CLIENT_TO_SERVER, SERVER_TO_CLIENT]))
    msg, field = data.draw(wrongly_typed(direction))
    line = json.dumps(msg).encode()
    if field is None:
        protocol.decode(line, direction)
        return
    with pytest.raises(ProtocolError, match=f"'{field}'"):
        protocol.decode(line, direction)


@fuzz(300)
@given(st.integers(65, 400), st.binary(min_size=0, max_size=40))
def test_oversized_line_is_skipped_and_the_next_line_read(size, tail):
    tick()
    limit = 64
    good = protocol.encode({"type": "shutdown"})
    stream = io.BytesIO(b"x" * size + one_line(tail) + b"\n" + good)
    with pytest.raises(ProtocolError, match="longer than"):
        protocol.read_line(stream, limit)
    assert protocol.read_line(stream, limit) == good.rstrip(b"\n")


lone_surrogates = st.sampled_from(["\ud800", "\udc80", "\udfff", "a\ud83d"])
texts = st.one_of(st.text(max_size=20),
                  st.tuples(st.text(max_size=10), lone_surrogates).map("".join))


@fuzz(400)
@given(st.sampled_from(VALID_SERVER + VALID_CLIENT), st.dictionaries(texts, texts, max_size=3))
def test_encode_raises_protocol_error_only(msg, extra):
    """Strings Python holds but UTF-8 cannot carry (lone surrogates, e.g. from a JSON
    ``"\\udc80"`` escape in a request) must not escape ``encode`` as UnicodeEncodeError: the
    server's result path only handles ProtocolError."""
    tick()
    try:
        line = protocol.encode({**msg, **extra, "type": msg["type"]})
    except ProtocolError:
        return
    assert line.endswith(b"\n") and json.loads(line)["type"] == msg["type"]


def test_valid_messages_still_decode():
    for direction, (_, valid) in SCHEMAS.items():
        for msg in valid:
            assert protocol.decode(protocol.encode(msg).rstrip(b"\n"), direction) == msg
    assert protocol.decode(nested(protocol.MAX_DEPTH - 3, "["), CLIENT_TO_SERVER)["kind"] == \
        "sleep"


# ============================================================================ a real server
@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    b = RawBackend(tmp_path_factory.mktemp("fuzz-protocol"))
    b.hello()
    yield b
    assert b.close() == 0, b.log_tail()


def _expect_protocol_error(backend: RawBackend, line: bytes) -> None:
    backend.send(line + b"\n")
    if not line.strip():
        return                           # blank lines are skipped without a reply
    reply = backend.next_message()
    assert reply is not None, f"backend died on {line[:120]!r}:\n{backend.log_tail()}"
    assert reply["type"] == MessageType.ERROR and reply["code"] == ErrorCode.PROTOCOL_ERROR, \
        (line[:200], reply)
    assert reply["job_id"] is None and reply["message"]


server_junk = st.one_of(
    st.binary(max_size=200).map(one_line),
    truncated_lines().map(lambda b: b.rstrip(b"\n")),
    st.builds(nested, st.integers(protocol.MAX_DEPTH, 3000), st.sampled_from("[{")),
    wrongly_typed(CLIENT_TO_SERVER).filter(lambda mf: mf[1] is not None).map(
        lambda mf: json.dumps(mf[0]).encode()),
    json_values.map(lambda v: json.dumps(v).encode()).filter(lambda b: not b.startswith(b"{")),
    st.sampled_from(VALID_SERVER).map(lambda m: json.dumps(m).encode()),  # wrong direction
    st.just(b'{"type":"submit","job_id":"j","kind":"sleep","params":{"seconds":NaN}}'),
    st.just(b'{"type":"hello","protocol":2,"client":"again"}'),
)


@fuzz(2500)
@given(server_junk)
def test_server_answers_every_bad_line_with_protocol_error(backend, line):
    tick()
    _expect_protocol_error(backend, line)


def test_server_survives_an_oversized_line_then_serves_a_job(backend):
    backend.send(b'{"type":"cancel","job_id":"' + b"x" * (protocol.MAX_LINE_BYTES + 10) +
                 b'"}\n')
    reply = backend.next_message()
    assert reply["code"] == ErrorCode.PROTOCOL_ERROR and "longer than" in reply["message"]
    assert_serves_sleep(backend, "after-oversized")


def test_server_serves_a_valid_job_after_the_fuzzing(backend):
    # runs after the fuzz tests above (file order); the same process answered all of them
    assert backend.process.poll() is None
    assert_serves_sleep(backend)


# ============================================================================ before the hello
@pytest.fixture(scope="module")
def session_factory(tmp_path_factory):
    """In-process sessions over socket pairs, sharing one job runner."""
    from backend import jobs, server
    from backend.server import JobRunner, ServerConfig, Session

    config = ServerConfig(tmp_path_factory.mktemp("fuzz-sessions"), "cpu")
    runner = JobRunner(config)
    assert "sleep" in jobs.JOBS

    def first_line(line: bytes, token: str | None = None) -> tuple[list[dict], bool]:
        ours, theirs = socket.socketpair()
        reader, writer = theirs.makefile("rb"), theirs.makefile("wb")
        outcome = {}
        session = Session(reader, writer, config, runner, token=token, blobs=False, name="fuzz")
        thread = threading.Thread(target=lambda: outcome.update(ok=session.serve()),
                                  daemon=True)
        thread.start()
        ours.sendall(line + b"\n")
        ours.shutdown(socket.SHUT_WR)
        thread.join(REPLY_TIMEOUT_S)
        assert not thread.is_alive(), f"session hangs on first line {line[:100]!r}"
        for f in (reader, writer):
            f.close()
        theirs.close()
        replies = []
        with ours.makefile("rb") as f:
            for raw in f:
                replies.append(protocol.decode(raw.rstrip(b"\n"), SERVER_TO_CLIENT))
        ours.close()
        return replies, outcome.get("ok", None) is not None

    yield first_line
    runner.stop(2.0)
    assert server  # the module imported (keeps the linter quiet about the import)


PRE_HELLO_CODES = {ErrorCode.PROTOCOL_ERROR, ErrorCode.HANDSHAKE_REQUIRED,
                   ErrorCode.PROTOCOL_MISMATCH, ErrorCode.UNAUTHORIZED}


@fuzz(400)
@given(st.one_of(server_junk, st.sampled_from(VALID_CLIENT[1:]).map(
    lambda m: json.dumps(m).encode()), st.integers(-5, 99).filter(
    lambda v: v != protocol.PROTOCOL_VERSION).map(
    lambda v: json.dumps({"type": "hello", "protocol": v, "client": "x"}).encode())))
def test_bad_first_line_is_refused_cleanly(session_factory, line):
    tick()
    replies, finished = session_factory(line)
    assert finished
    if not line.strip():
        assert replies == []             # skipped; the stream then ended
        return
    if replies and replies[0]["type"] == MessageType.HELLO:   # the junk was a valid hello
        assert protocol.decode(line, CLIENT_TO_SERVER)["type"] == MessageType.HELLO
        return
    assert len(replies) == 1 and replies[0]["type"] == MessageType.ERROR, (line[:200], replies)
    assert replies[0]["code"] in PRE_HELLO_CODES and replies[0]["message"]


@fuzz(100)
@given(st.one_of(st.none(), st.text(max_size=40)))
def test_wrong_token_is_unauthorized(session_factory, token):
    tick()
    hello = {"type": "hello", "protocol": protocol.PROTOCOL_VERSION, "client": "x",
             "token": token}
    replies, _ = session_factory(json.dumps(hello).encode(), token="the-right-token")
    assert [(r["type"], r["code"]) for r in replies] == [("error", ErrorCode.UNAUTHORIZED)]


@pytest.mark.parametrize("line", [nested(1200, "["), nested(5000, "{"), b"\xff\xfe" * 40,
                                  b'{"type":"hello","protocol":2,"client":' + b"[" * 3000 + b"}",
                                  b"[" * 1200 + b"]" * 1200])
def test_real_process_refuses_a_bad_hello_and_exits_cleanly(tmp_path, line):
    b = RawBackend(tmp_path)
    t0 = time.monotonic()
    b.send(line + b"\n")
    reply = b.next_message()
    assert reply is not None and reply["type"] == MessageType.ERROR, b.log_tail()
    assert reply["code"] == ErrorCode.PROTOCOL_ERROR
    assert b.next_message() is None              # the session ended
    assert b.close() == 0 and time.monotonic() - t0 < REPLY_TIMEOUT_S
    assert "Traceback" not in b.log_tail()
