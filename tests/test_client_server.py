"""The backend client against real server processes (stdio and TCP), plus a few fake servers
for the client's error handling. No Blender needed."""
from __future__ import annotations

import json
import os
import queue
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from backend import jobs, protocol, server
from backend.client import BackendClient, BackendError, Event
from backend.protocol import ErrorCode

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
START_TIMEOUT_S = 15.0
EVENT_TIMEOUT_S = 10.0
CANCEL_DEADLINE_S = 1.0
LONG_JOB = {"seconds": 60, "steps": 1}


# ============================================================================ helpers
@pytest.fixture
def client(tmp_path):
    c = BackendClient.spawn(PYTHON, tmp_path / "cache", device="cpu", cwd=REPO)
    yield c
    c.close()


def next_event(c: BackendClient, job_id: str | None, type_: str,
               timeout: float = EVENT_TIMEOUT_S) -> Event:
    """The next event of ``type_`` for ``job_id`` on the client's events queue."""
    deadline = time.monotonic() + timeout
    while True:
        event = c.events.get(timeout=max(0.01, deadline - time.monotonic()))
        if event.job_id == job_id and event.type == type_:
            return event


def wait_started(c: BackendClient, job_id: str) -> None:
    """Block until the job reported its first progress (the sleep job's "starting")."""
    next_event(c, job_id, "progress")


@dataclass
class TcpServer:
    host: str
    port: int
    token: str
    cache_dir: Path
    process: subprocess.Popen


def start_tcp_server(tmp_path: Path, *extra: str) -> TcpServer:
    token = secrets.token_hex(16)
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    cache_dir = tmp_path / "server-cache"
    log = tmp_path / "server.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [PYTHON, "-m", "backend", "serve", "--tcp", "127.0.0.1:0", "--token-file",
             str(token_file), "--cache-dir", str(cache_dir), "--device", "cpu", *extra],
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log_file)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(server.LISTENING_MARKER):
                _, host, port = line.split()
                return TcpServer(host, int(port), token, cache_dir.resolve(), process)
        if process.poll() is not None:
            break
        time.sleep(0.02)
    process.kill()
    raise AssertionError(f"TCP server did not start:\n{log.read_text(errors='replace')}")


@pytest.fixture
def tcp_server(tmp_path):
    srv = start_tcp_server(tmp_path)
    yield srv
    srv.process.terminate()
    try:
        srv.process.wait(5)
    except subprocess.TimeoutExpired:
        srv.process.kill()


class RawStdioServer:
    """A stdio server driven by hand, one JSON line at a time."""

    def __init__(self, cache_dir: Path):
        self.process = subprocess.Popen(
            [PYTHON, "-m", "backend", "serve", "--stdio", "--cache-dir", str(cache_dir),
             "--device", "cpu"], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        self.lines: "queue.Queue[bytes]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(b"")

    def send(self, data: bytes | dict) -> None:
        self.process.stdin.write(data if isinstance(data, bytes) else protocol.encode(data))
        self.process.stdin.flush()

    def recv(self) -> dict:
        """The next message other than a heartbeat (those come whenever the server has been
        quiet for HEARTBEAT_S, e.g. on a loaded machine; tests/test_heartbeat.py checks them)."""
        while True:
            line = self.lines.get(timeout=EVENT_TIMEOUT_S)
            assert line, "server closed its stdout"
            msg = json.loads(line)
            if msg.get("type") != "heartbeat":
                return msg

    def hello(self) -> dict:
        self.send({"type": "hello", "protocol": protocol.PROTOCOL_VERSION, "client": "raw"})
        return self.recv()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.fixture
def raw(tmp_path):
    r = RawStdioServer(tmp_path / "cache")
    yield r
    r.close()


def fake_server(script: Callable[[socket.socket], None]) -> int:
    """Serve one connection on 127.0.0.1 with ``script(conn)``; returns the port."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                try:
                    script(conn)
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def fake_hello(**overrides) -> bytes:
    msg = {"type": "hello", "protocol": protocol.PROTOCOL_VERSION, "server_version": "fake",
           "capabilities": ["sleep"], "device": "cpu", "pid": 0, "blobs": True, **overrides}
    return protocol.encode(msg)


# ============================================================================ stdio
def test_stdio_handshake(client):
    info = client.info
    assert info["protocol"] == protocol.PROTOCOL_VERSION
    assert "sleep" in info["capabilities"]
    assert info["device"] == "cpu"
    assert info["pid"] == client.process.pid
    assert info["blobs"] is False
    assert client.alive
    client.close()
    assert not client.alive
    assert client.process.returncode == 0


def test_sleep_job_progress_via_wait(client):
    seen = []
    result = client.run("sleep", {"seconds": 0.2, "steps": 4},
                        on_progress=lambda f, m: seen.append((f, m)))
    assert result["slept"] == 0.2 and result["steps"] == 4 and result["device"] == "cpu"
    assert [f for f, _ in seen] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert seen[-1][1] == "step 4/4"
    assert client.poll() == []              # a waited-for job's events bypass the queue


def test_sleep_job_events_via_poll(client):
    job_id = client.submit("sleep", {"seconds": 0.05, "steps": 2})
    events = []
    deadline = time.monotonic() + EVENT_TIMEOUT_S
    while not (events and events[-1].terminal) and time.monotonic() < deadline:
        events += client.poll()
        time.sleep(0.01)
    assert [e.type for e in events] == ["accepted", "progress", "progress", "progress", "result"]
    assert all(e.job_id == job_id for e in events)
    assert events[-1].payload["result"]["steps"] == 2
    assert client.wait(job_id)["steps"] == 2   # the result is still available to wait()


def test_stdio_artifact_paths_are_sent_as_is(client):
    result = client.run("sleep", {"seconds": 0, "steps": 3, "artifact": True})
    path = Path(result["artifacts"]["clip"])
    assert path.is_file() and path.is_relative_to(client.cache_dir / jobs.JOBS_SUBDIR)
    from backend.motion.clip import Clip
    assert Clip.load_npz(path).num_frames == 3


def test_cancel_running_job_within_one_second(client):
    job_id = client.submit("sleep", LONG_JOB)
    wait_started(client, job_id)
    start = time.monotonic()
    client.cancel(job_id)
    with pytest.raises(BackendError) as e:
        client.wait(job_id, timeout=EVENT_TIMEOUT_S)
    elapsed = time.monotonic() - start
    assert e.value.code == ErrorCode.CANCELLED
    assert elapsed < CANCEL_DEADLINE_S, f"cancel took {elapsed:.3f} s"
    assert client.run("sleep", {"seconds": 0, "steps": 1})["steps"] == 1   # still serving


def test_cancel_queued_job(client):
    running = client.submit("sleep", LONG_JOB)
    queued = client.submit("sleep", LONG_JOB)
    wait_started(client, running)
    client.cancel(queued)
    next_event(client, queued, "cancelled", timeout=CANCEL_DEADLINE_S)
    client.cancel(running)
    next_event(client, running, "cancelled", timeout=CANCEL_DEADLINE_S)
    client.cancel(running)                   # cancelling a finished job is a no-op


def test_killed_backend_fails_jobs_instead_of_hanging(client):
    job_id = client.submit("sleep", LONG_JOB)
    wait_started(client, job_id)
    client.process.kill()
    start = time.monotonic()
    with pytest.raises(BackendError) as e:
        client.wait(job_id)                  # no timeout: must not hang
    assert e.value.code == ErrorCode.BACKEND_DIED
    assert "exited with code" in e.value.message
    assert time.monotonic() - start < EVENT_TIMEOUT_S
    assert next_event(client, None, "error").payload["code"] == ErrorCode.BACKEND_DIED
    assert not client.alive
    with pytest.raises(BackendError) as e:
        client.submit("sleep", {})
    assert e.value.code == ErrorCode.BACKEND_DIED


@pytest.mark.parametrize("kind, params, code, fragment", [
    ("teleport", {}, ErrorCode.UNKNOWN_JOB_KIND, "unknown job kind 'teleport'"),
    ("sleep", {"seconds": "long"}, ErrorCode.BAD_PARAMS, "parameter 'seconds' must be"),
    ("sleep", {"steps": 0}, ErrorCode.BAD_PARAMS, "parameter 'steps' must be at least 1"),
    ("sleep", {"seconds": 0, "fail": True}, ErrorCode.JOB_FAILED, "RuntimeError: sleep job"),
])
def test_job_errors(client, kind, params, code, fragment):
    with pytest.raises(BackendError) as e:
        client.run(kind, params, timeout=EVENT_TIMEOUT_S)
    assert e.value.code == code
    assert fragment in e.value.message
    if code == ErrorCode.JOB_FAILED:
        assert "Traceback" in e.value.traceback and "sleep_job" in e.value.traceback


def test_unserialisable_params_are_refused_locally(client):
    with pytest.raises(BackendError) as e:
        client.submit("sleep", {"seconds": float("nan")})
    assert e.value.code == ErrorCode.BAD_PARAMS


def test_job_modules_extra_failing_and_printing(tmp_path):
    """A job module that prints to stdout cannot corrupt the protocol; one that fails to
    import is reported in hello and the server keeps working."""
    (tmp_path / "noisy_jobs.py").write_text(
        "import os\n"
        "from backend.jobs import register\n"
        "print('noise at import')\n"
        "@register('noisy')\n"
        "def noisy(params, ctx):\n"
        "    print('noise from print')\n"
        "    os.write(1, b'noise on fd 1\\n')\n"
        "    return {'ok': True}\n")
    with BackendClient.spawn(PYTHON, tmp_path / "cache", device="cpu", cwd=REPO,
                             extra_env={"PYTHONPATH": str(tmp_path)},
                             extra_args=["--job-module", "noisy_jobs",
                                         "--job-module", "backend.no_such_module"]) as c:
        assert {"noisy", "sleep"} <= set(c.info["capabilities"])
        assert "No module named" in c.info["unavailable"]["backend.no_such_module"]
        assert c.run("noisy", {}) == {"ok": True}
        assert c.run("sleep", {"seconds": 0, "steps": 1})["steps"] == 1
    log = c.log_path.read_text()
    assert "noise at import" in log and "noise on fd 1" in log


# ============================================================================ protocol level
def test_protocol_mismatch_raw(raw):
    raw.send({"type": "hello", "protocol": 999, "client": "future"})
    reply = raw.recv()
    assert reply["type"] == "error" and reply["code"] == ErrorCode.PROTOCOL_MISMATCH
    assert "999" in reply["message"] and str(protocol.PROTOCOL_VERSION) in reply["message"]
    assert raw.process.wait(EVENT_TIMEOUT_S) == 0          # and the server closes


def test_protocol_mismatch_client(tmp_path, monkeypatch):
    monkeypatch.setattr(protocol, "PROTOCOL_VERSION", 999)
    with pytest.raises(BackendError) as e:
        BackendClient.spawn(PYTHON, tmp_path / "cache", device="cpu", cwd=REPO)
    assert e.value.code == ErrorCode.PROTOCOL_MISMATCH
    assert "999" in e.value.message and "speaks anima-backend protocol" in e.value.message


def test_handshake_required(raw):
    raw.send({"type": "submit", "job_id": "j", "kind": "sleep", "params": {}})
    reply = raw.recv()
    assert reply["code"] == ErrorCode.HANDSHAKE_REQUIRED
    assert raw.process.wait(EVENT_TIMEOUT_S) == 0


def test_malformed_lines_are_reported_and_the_server_keeps_running(raw):
    assert raw.hello()["type"] == "hello"
    for bad, fragment in [(b"{nope\n", "not valid JSON"), (b"[1, 2]\n", "JSON object"),
                          (b'{"type": "submit"}\n', "misses field"),
                          (b'{"type": "teleport"}\n', "unknown message type")]:
        raw.send(bad)
        reply = raw.recv()
        assert reply["type"] == "error" and reply["job_id"] is None
        assert reply["code"] == ErrorCode.PROTOCOL_ERROR and fragment in reply["message"]
    raw.send({"type": "submit", "job_id": "j1", "kind": "sleep",
              "params": {"seconds": 0, "steps": 1}})
    types = [raw.recv()["type"] for _ in range(4)]
    assert types == ["accepted", "progress", "progress", "result"]
    raw.send({"type": "submit", "job_id": "j2", "kind": "sleep", "params": LONG_JOB})
    raw.send({"type": "submit", "job_id": "j2", "kind": "sleep", "params": {}})
    replies = [raw.recv() for _ in range(3)]   # accepted, progress(starting), error: any order
    assert any(r["type"] == "error" and r["code"] == ErrorCode.DUPLICATE_JOB_ID
               for r in replies)
    raw.send({"type": "shutdown"})
    assert raw.process.wait(EVENT_TIMEOUT_S) == 0


# ============================================================================ start-up errors
def test_interpreter_not_found(tmp_path):
    with pytest.raises(BackendError) as e:
        BackendClient.spawn(tmp_path / "nope" / "python", tmp_path / "cache")
    assert e.value.code == ErrorCode.INTERPRETER_NOT_FOUND
    not_executable = tmp_path / "python"
    not_executable.write_text("")
    not_executable.chmod(0o644)
    with pytest.raises(BackendError) as e:
        BackendClient.spawn(not_executable, tmp_path / "cache")
    assert e.value.code == ErrorCode.INTERPRETER_NOT_FOUND
    assert "not executable" in e.value.message


def test_cache_not_writable(tmp_path):
    (tmp_path / "afile").write_text("a file, not a directory")
    bad = tmp_path / "afile" / "cache"
    with pytest.raises(BackendError) as e:
        BackendClient.spawn(PYTHON, bad, device="cpu", cwd=REPO)
    assert e.value.code == ErrorCode.CACHE_NOT_WRITABLE
    assert str(bad) in e.value.message
    with pytest.raises(BackendError) as e:
        BackendClient.connect("127.0.0.1", 9, "token", bad)
    assert e.value.code == ErrorCode.CACHE_NOT_WRITABLE


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


@pytest.mark.skipif(os.name != "posix", reason="uses a shell script as fake interpreter")
def test_backend_dying_at_start_reports_its_stderr(tmp_path):
    fake = _script(tmp_path / "python", "echo 'fatal: something is missing' >&2; exit 3")
    with pytest.raises(BackendError) as e:
        BackendClient.spawn(fake, tmp_path / "cache")
    assert e.value.code == ErrorCode.BACKEND_START_FAILED
    assert "exited with code 3" in e.value.message
    assert "fatal: something is missing" in e.value.message


@pytest.mark.skipif(os.name != "posix", reason="uses a shell script as fake interpreter")
def test_handshake_timeout(tmp_path):
    fake = _script(tmp_path / "python", "exec sleep 30")
    start = time.monotonic()
    with pytest.raises(BackendError) as e:
        BackendClient.spawn(fake, tmp_path / "cache", handshake_timeout=0.5)
    assert e.value.code == ErrorCode.HANDSHAKE_TIMEOUT
    assert time.monotonic() - start < 5


def _bare_venv(tmp_path: Path) -> Path:
    base = getattr(sys, "_base_executable", None) or sys.executable
    venv = tmp_path / "bare-venv"
    made = subprocess.run([base, "-m", "venv", "--without-pip", str(venv)],
                          capture_output=True, text=True, timeout=60)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if made.returncode != 0 or not python.exists():
        pytest.skip(f"cannot create a bare venv: {made.stderr}")
    return python


def test_interpreter_without_numpy(tmp_path):
    python = _bare_venv(tmp_path)
    probe = subprocess.run([python, "-c", "import numpy"], capture_output=True)
    assert probe.returncode != 0, "the bare venv unexpectedly has numpy"
    with pytest.raises(BackendError) as e:
        BackendClient.spawn(python, tmp_path / "cache", device="cpu", cwd=REPO)
    assert e.value.code == ErrorCode.BACKEND_START_FAILED
    assert "needs the Python package 'numpy'" in e.value.message
    assert str(python) in e.value.message


# ============================================================================ TCP
def test_tcp_handshake_and_tokens(tcp_server, tmp_path):
    s = tcp_server
    with BackendClient.connect(s.host, s.port, s.token, tmp_path / "client-cache") as c:
        assert c.info["blobs"] is True and c.info["pid"] == s.process.pid
        assert c.process is None and c.log_path is None
        assert c.run("sleep", {"seconds": 0, "steps": 2})["steps"] == 2
    for wrong in ("not-the-token", ""):
        with pytest.raises(BackendError) as e:
            BackendClient.connect(s.host, s.port, wrong, tmp_path / "client-cache")
        assert e.value.code == ErrorCode.UNAUTHORIZED
    # shutdown over TCP ends only the session: the server still accepts clients
    with BackendClient.connect(s.host, s.port, s.token, tmp_path / "client-cache") as c:
        assert c.alive
    assert s.process.poll() is None


def test_tcp_blob_transfer(tcp_server, tmp_path):
    s = tcp_server
    client_cache = tmp_path / "client-cache"
    with BackendClient.connect(s.host, s.port, s.token, client_cache) as c:
        job_id = c.submit("sleep", {"seconds": 0, "steps": 5, "artifact": True})
        result = c.wait(job_id, timeout=EVENT_TIMEOUT_S)
    local = Path(result["artifacts"]["clip"])
    remote = s.cache_dir / jobs.JOBS_SUBDIR / job_id / "sleep.npz"
    assert local.is_relative_to(client_cache.resolve()) and local.is_file()
    assert local.read_bytes() == remote.read_bytes()
    assert not list(local.parent.glob("*.part"))
    from backend.motion.clip import Clip
    assert Clip.load_npz(local).num_frames == 5


def test_tcp_cancel_and_disconnect(tcp_server, tmp_path):
    s = tcp_server
    c = BackendClient.connect(s.host, s.port, s.token, tmp_path / "client-cache")
    job_id = c.submit("sleep", LONG_JOB)
    wait_started(c, job_id)
    start = time.monotonic()
    c.cancel(job_id)
    next_event(c, job_id, "cancelled")
    assert time.monotonic() - start < CANCEL_DEADLINE_S
    job_id = c.submit("sleep", LONG_JOB)
    wait_started(c, job_id)
    c.close()                          # the server cancels the session's running job ...
    with pytest.raises(BackendError) as e:
        c.wait(job_id)
    assert e.value.code == ErrorCode.CLIENT_CLOSED
    with BackendClient.connect(s.host, s.port, s.token, tmp_path / "client-cache") as c2:
        assert c2.run("sleep", {"seconds": 0, "steps": 1}, timeout=CANCEL_DEADLINE_S + 1)


def test_tcp_refuses_non_loopback_without_allow_remote(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("t")
    out = subprocess.run([PYTHON, "-m", "backend", "serve", "--tcp", "0.0.0.0:0",
                          "--token-file", str(token_file), "--cache-dir", str(tmp_path / "c"),
                          "--device", "cpu"], cwd=REPO, capture_output=True, text=True,
                         timeout=30)
    assert out.returncode != 0 and out.stdout == ""
    assert "--allow-remote" in out.stderr


def test_tcp_requires_a_token_file(tmp_path):
    out = subprocess.run([PYTHON, "-m", "backend", "serve", "--tcp", "127.0.0.1:0",
                          "--cache-dir", str(tmp_path / "c"), "--device", "cpu"],
                         cwd=REPO, capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "--token-file" in out.stderr


# ============================================================================ fake servers
def test_client_rejects_a_server_of_another_version(tmp_path):
    def script(conn):
        conn.makefile("rb").readline()
        conn.sendall(fake_hello(protocol=protocol.PROTOCOL_VERSION + 1))
        time.sleep(1)

    port = fake_server(script)
    with pytest.raises(BackendError) as e:
        BackendClient.connect("127.0.0.1", port, "t", tmp_path / "cache")
    assert e.value.code == ErrorCode.PROTOCOL_MISMATCH
    assert "the server speaks anima-backend protocol 3" in e.value.message


def test_client_survives_malformed_server_lines(tmp_path):
    def script(conn):
        conn.makefile("rb").readline()
        conn.sendall(fake_hello() + b"{garbage\n" + b'{"type": "progress"}\n')
        time.sleep(2)

    port = fake_server(script)
    with BackendClient.connect("127.0.0.1", port, "t", tmp_path / "cache") as c:
        first = next_event(c, None, "error")
        second = next_event(c, None, "error")
        assert first.payload["code"] == second.payload["code"] == ErrorCode.PROTOCOL_ERROR
        assert "not valid JSON" in first.payload["message"]
        assert "misses field" in second.payload["message"]
        assert c.alive


def test_client_rejects_a_corrupted_blob(tmp_path):
    def script(conn):
        reader = conn.makefile("rb")
        reader.readline()
        conn.sendall(fake_hello())
        job_id = json.loads(reader.readline())["job_id"]
        body = b"not really an npz"
        header = {"type": "blob", "job_id": job_id, "name": "clip", "size": len(body),
                  "sha256": "0" * 64, "filename": "x.npz"}
        result = {"type": "result", "job_id": job_id,
                  "result": {"artifacts": {"clip": "/server/side/x.npz"}}}
        conn.sendall(protocol.encode(header) + body + protocol.encode(result))
        time.sleep(2)

    port = fake_server(script)
    with BackendClient.connect("127.0.0.1", port, "t", tmp_path / "cache") as c:
        with pytest.raises(BackendError) as e:
            c.run("sleep", {}, timeout=EVENT_TIMEOUT_S)
        assert e.value.code == ErrorCode.BLOB_FAILED and "sha256" in e.value.message


def test_connect_handshake_timeout_and_refused(tmp_path):
    port = fake_server(lambda conn: time.sleep(3))
    with pytest.raises(BackendError) as e:
        BackendClient.connect("127.0.0.1", port, "t", tmp_path / "cache", handshake_timeout=0.3)
    assert e.value.code == ErrorCode.HANDSHAKE_TIMEOUT
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        free_port = unused.getsockname()[1]
    with pytest.raises(BackendError) as e:
        BackendClient.connect("127.0.0.1", free_port, "t", tmp_path / "cache")
    assert e.value.code == ErrorCode.CONNECT_FAILED


# ============================================================================ in-process units
def test_job_context_and_params(tmp_path):
    ctx = jobs.JobContext("job1", tmp_path)
    assert ctx.artifact_path("a.npz") == tmp_path / "jobs" / "job1" / "a.npz"
    for bad in ("../escape", "/abs", ".hidden", "a/b", ""):
        with pytest.raises(ValueError):
            ctx.artifact_path(bad)
    assert jobs.param({"x": 2}, "x", int, minimum=1) == 2
    assert jobs.param({}, "x", int, 7) == 7
    for params, fragment in [({}, "missing parameter"), ({"x": True}, "must be int"),
                             ({"x": 0}, ">= 1")]:
        with pytest.raises(jobs.JobError) as e:
            jobs.param(params, "x", int, minimum=1)
        assert e.value.code == ErrorCode.BAD_PARAMS and fragment in e.value.message
    ctx.cancel_event.set()
    start = time.monotonic()
    with pytest.raises(jobs.JobCancelled):
        ctx.sleep(30)
    assert time.monotonic() - start < CANCEL_DEADLINE_S
    with pytest.raises(jobs.JobCancelled):
        ctx.check_cancelled()


def test_registry():
    assert "sleep" in jobs.JOBS
    with pytest.raises(ValueError, match="registered twice"):
        jobs.register("sleep")(lambda params, ctx: {})
    unavailable = jobs.load_job_modules(["backend.no_such_module_either"])
    assert "No module named" in unavailable["backend.no_such_module_either"]


def test_server_helpers():
    assert server.parse_address("127.0.0.1:8765") == ("127.0.0.1", 8765)
    assert server.parse_address("[::1]:0") == ("::1", 0)
    for bad in ("8765", "host:", "host:99999"):
        with pytest.raises(server.ServerStartError):
            server.parse_address(bad)
    assert server.is_loopback("127.0.0.1") and server.is_loopback("::1")
    assert server.is_loopback("localhost")
    assert not server.is_loopback("0.0.0.0") and not server.is_loopback("192.168.1.1")
    assert server.resolve_device("cpu")[0] == "cpu"


def test_cli_imports_subcommands_lazily():
    code = ("import sys; import backend.__main__ as m; m.build_parser(['--help']); "
            "print('backend.server' in sys.modules)")
    out = subprocess.run([PYTHON, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=30)
    assert out.stdout.strip() == "False", out.stderr


def test_job_module_without_its_packages_is_unavailable_with_the_fix(tmp_path, monkeypatch):
    """A job module that calls ``require_packages`` for a package the interpreter lacks is
    listed as unavailable, saying what to install."""
    from backend import jobs
    pkg = tmp_path / "needs_pkg_jobs.py"
    pkg.write_text("from backend.jobs import require_packages\n"
                   "require_packages('frobnication', [('no_such_pkg_xyz', 'frob==1.0')])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    unavailable = jobs.load_job_modules(["needs_pkg_jobs"])
    msg = unavailable["needs_pkg_jobs"]
    assert "frobnication needs the Python package 'no_such_pkg_xyz'" in msg
    assert "pip install frob==1.0" in msg
