"""The studio set-up: TLS, artifact paths that must stay inside the cache folders, and two
backends behind HAProxy (tools/haproxy/anima.cfg) driven by two clients at once. Real
processes, real sockets, a real certificate made with openssl. No Blender needed."""
from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend import jobs, protocol, server
from backend.client import RECEIVED_SUBDIR, BackendClient, BackendError
from backend.motion.clip import Clip
from backend.protocol import ErrorCode

_spec = importlib.util.spec_from_file_location(     # one fake server for both test files
    "client_server_tests", Path(__file__).with_name("test_client_server.py"))
_shared = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)
fake_server, fake_hello = _shared.fake_server, _shared.fake_hello

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
HAPROXY_CONFIG = REPO / "tools" / "haproxy" / "anima.cfg"
EVENT_TIMEOUT_S = 15.0
JOBS_PER_CLIENT = 10


# ============================================================================ helpers
@dataclass
class Backend:
    process: subprocess.Popen
    port: int
    token: str
    cache_dir: Path
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_backend(folder: Path, *extra: str, token: str | None = None,
                  env: dict | None = None) -> Backend:
    """``serve --tcp 127.0.0.1:0`` with a fresh token file; waits for its port."""
    folder.mkdir(parents=True, exist_ok=True)
    token = token or secrets.token_hex(16)
    token_file = folder / "token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    log = folder / "server.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [PYTHON, "-m", "backend", "serve", "--tcp", "127.0.0.1:0", "--token-file",
             str(token_file), "--cache-dir", str(folder / "cache"), "--device", "cpu", *extra],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=log_file,
            env={**os.environ, **(env or {})})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(server.LISTENING_MARKER):
                return Backend(process, int(line.split()[2]), token,
                               (folder / "cache").resolve(), log)
        time.sleep(0.02)
    process.kill()
    raise AssertionError(f"backend did not start:\n{log.read_text(errors='replace')}")


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    from backend.bench_remote import self_signed_certificate
    made = self_signed_certificate(tmp_path)
    if made is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    return made


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")} if folder.exists() else set()


# ============================================================================ TLS
def test_tls_round_trip_with_artifact_heartbeats_and_cancel(tmp_path, certificate):
    cert, key = certificate
    b = start_backend(tmp_path / "srv", "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        with BackendClient.connect("127.0.0.1", b.port, b.token, tmp_path / "client",
                                   tls=True, cafile=cert) as c:
            assert c.info["blobs"] is True
            job_id = c.submit("sleep", {"seconds": 0, "steps": 40, "artifact": True})
            result = c.wait(job_id, timeout=EVENT_TIMEOUT_S)
            local = Path(result["artifacts"]["clip"])
            remote = b.cache_dir / jobs.JOBS_SUBDIR / job_id / "sleep.npz"
            assert local.read_bytes() == remote.read_bytes()
            assert Clip.load_npz(local).num_frames == 40
            time.sleep(protocol.HUNG_AFTER_S + 0.5)        # idle: only heartbeats arrive
            assert c.alive and not c.hung
            job_id = c.submit("sleep", {"seconds": 60, "steps": 1})
            while c.events.get(timeout=EVENT_TIMEOUT_S).type != "progress":
                pass                                        # wait until it runs
            start = time.monotonic()
            c.cancel(job_id)
            with pytest.raises(BackendError) as e:
                c.wait(job_id, timeout=EVENT_TIMEOUT_S)
            assert e.value.code == ErrorCode.CANCELLED and time.monotonic() - start < 1.0
        assert "(TLS)" in b.log.read_text()
    finally:
        b.stop()


def test_tls_refuses_unverified_servers_and_plain_clients(tmp_path, certificate):
    cert, key = certificate
    b = start_backend(tmp_path / "srv", "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        # the system's CAs do not know a self-signed certificate
        with pytest.raises(BackendError) as e:
            BackendClient.connect("127.0.0.1", b.port, b.token, tmp_path / "c", tls=True)
        assert e.value.code == ErrorCode.CONNECT_FAILED
        assert "CERTIFICATE_VERIFY_FAILED" in e.value.message
        # a plain-text client gets no session (and no hang)
        with pytest.raises(BackendError) as e:
            BackendClient.connect("127.0.0.1", b.port, b.token, tmp_path / "c",
                                  handshake_timeout=3)
        assert e.value.code in (ErrorCode.BACKEND_START_FAILED, ErrorCode.PROTOCOL_ERROR)
        # a TLS client with the wrong token is still refused
        with pytest.raises(BackendError) as e:
            BackendClient.connect("127.0.0.1", b.port, "wrong", tmp_path / "c", tls=True,
                                  cafile=cert)
        assert e.value.code == ErrorCode.UNAUTHORIZED
        with BackendClient.connect("127.0.0.1", b.port, b.token, tmp_path / "c", tls=True,
                                   cafile=cert) as c:       # and the server goes on
            assert c.run("sleep", {"seconds": 0, "steps": 1}, timeout=EVENT_TIMEOUT_S)
    finally:
        b.stop()


def test_tls_option_errors(tmp_path, certificate):
    cert, key = certificate
    token = tmp_path / "token"
    token.write_text("t")
    base = [PYTHON, "-m", "backend", "serve", "--token-file", str(token), "--cache-dir",
            str(tmp_path / "c"), "--device", "cpu"]
    cases = [(["--tcp", "127.0.0.1:0", "--tls-cert", str(cert)], "go together"),
             (["--tcp", "127.0.0.1:0", "--tls-cert", str(key), "--tls-key", str(key)],
              "cannot use --tls-cert"),
             (["--stdio", "--tls-cert", str(cert), "--tls-key", str(key)], "only apply to --tcp")]
    for extra, fragment in cases:
        out = subprocess.run(base + extra, cwd=REPO, capture_output=True, text=True,
                             timeout=30, stdin=subprocess.DEVNULL)
        assert out.returncode == server.EXIT_START_FAILED, out.stderr
        assert fragment in out.stderr


def test_port_in_use_is_a_one_line_start_up_error(tmp_path):
    token = tmp_path / "token"
    token.write_text("t")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        out = subprocess.run([PYTHON, "-m", "backend", "serve", "--tcp", f"127.0.0.1:{port}",
                              "--token-file", str(token), "--cache-dir", str(tmp_path / "c"),
                              "--device", "cpu"], cwd=REPO, capture_output=True, text=True,
                             timeout=30, stdin=subprocess.DEVNULL)
    assert out.returncode == server.EXIT_START_FAILED
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in out.stderr
    assert "Traceback" not in out.stderr


# ============================================================================ paths
BAD_ARTIFACT_JOBS = '''
import os
from backend.jobs import register

@register("bad_artifact")
def bad_artifact(params, ctx):
    how = params["how"]
    if how == "absolute":
        path = params["outside"]
    elif how == "dotdot":
        path = os.path.join(str(ctx.artifact_path("x")), *[".."] * 5, "outside.txt")
    else:                                    # a link inside the cache to a file outside
        path = str(ctx.artifact_path("link.npz"))
        os.symlink(params["outside"], path)
    return {"artifacts": {"clip": path}}
'''


def test_server_refuses_artifacts_outside_its_cache(tmp_path):
    (tmp_path / "bad_artifact_jobs.py").write_text(BAD_ARTIFACT_JOBS)
    secret = tmp_path / "outside.txt"
    secret.write_text("not for clients")
    b = start_backend(tmp_path / "srv", "--job-module", "bad_artifact_jobs",
                      env={"PYTHONPATH": str(tmp_path)})
    try:
        with BackendClient.connect("127.0.0.1", b.port, b.token, tmp_path / "client") as c:
            for how in ("absolute", "dotdot", "symlink"):
                with pytest.raises(BackendError) as e:
                    c.run("bad_artifact", {"how": how, "outside": str(secret)},
                          timeout=EVENT_TIMEOUT_S)
                assert e.value.code == ErrorCode.JOB_FAILED
                assert "outside the cache dir" in e.value.message, how
            received = files_under(tmp_path / "client" / RECEIVED_SUBDIR)
            assert not any(p.is_file() for p in received)
    finally:
        b.stop()


def test_client_never_writes_outside_its_cache(tmp_path):
    client_cache = tmp_path / "client"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    body = b"payload from a malicious server"
    digest = __import__("hashlib").sha256(body).hexdigest()

    def script(conn):
        reader = conn.makefile("rb")
        reader.readline()
        conn.sendall(fake_hello())
        first = json.loads(reader.readline())["job_id"]
        second = json.loads(reader.readline())["job_id"]
        # 1. a traversing file name: sanitised into the job's own folder
        conn.sendall(protocol.encode({"type": "blob", "job_id": first, "name": "clip",
                                      "size": len(body), "sha256": digest,
                                      "filename": "../../../elsewhere/escape.npz"}) + body)
        conn.sendall(protocol.encode({"type": "result", "job_id": first,
                                      "result": {"artifacts": {"clip": "/x/escape.npz"}}}))
        # 2. the job's folder replaced by a link to a folder outside the cache
        (client_cache / RECEIVED_SUBDIR).mkdir(parents=True, exist_ok=True)
        os.symlink(elsewhere, client_cache / RECEIVED_SUBDIR / second)
        conn.sendall(protocol.encode({"type": "blob", "job_id": second, "name": "clip",
                                      "size": len(body), "sha256": digest,
                                      "filename": "planted.npz"}) + body)
        conn.sendall(protocol.encode({"type": "result", "job_id": second,
                                      "result": {"artifacts": {"clip": "/x/planted.npz"}}}))
        # 3. a blob for a job nobody asked for: read and dropped
        conn.sendall(protocol.encode({"type": "blob", "job_id": "not-a-job-of-yours",
                                      "name": "clip", "size": len(body), "sha256": digest,
                                      "filename": "spam.npz"}) + body)
        time.sleep(2)

    port = fake_server(script)
    with BackendClient.connect("127.0.0.1", port, "t", client_cache) as c:
        first = c.submit("sleep", {})
        second = c.submit("sleep", {})
        result = c.wait(first, timeout=EVENT_TIMEOUT_S)
        local = Path(result["artifacts"]["clip"])
        assert local == (client_cache / RECEIVED_SUBDIR / first / "escape.npz").resolve()
        assert local.read_bytes() == body
        with pytest.raises(BackendError) as e:
            c.wait(second, timeout=EVENT_TIMEOUT_S)
        assert e.value.code == ErrorCode.BLOB_FAILED and "outside the cache" in e.value.message
        time.sleep(0.3)
    assert list(elsewhere.iterdir()) == []
    assert not (client_cache / RECEIVED_SUBDIR / "not-a-job-of-yours").exists()


def test_client_refuses_local_artifact_paths_outside_its_cache(tmp_path):
    def script(conn):
        reader = conn.makefile("rb")
        reader.readline()
        conn.sendall(fake_hello(blobs=False))
        job_id = json.loads(reader.readline())["job_id"]
        conn.sendall(protocol.encode({"type": "result", "job_id": job_id,
                                      "result": {"artifacts": {"clip": "/etc/passwd"}}}))
        time.sleep(2)

    port = fake_server(script)
    with BackendClient.connect("127.0.0.1", port, "t", tmp_path / "cache") as c:
        with pytest.raises(BackendError) as e:
            c.run("sleep", {}, timeout=EVENT_TIMEOUT_S)
    assert e.value.code == ErrorCode.BLOB_FAILED
    assert "'/etc/passwd' is outside the cache dir" in e.value.message


# ============================================================================ stalled clients
FLOOD_JOBS = '''
from backend.jobs import register

@register("flood")
def flood(params, ctx):
    while not ctx.cancelled():                 # 64 KB progress messages, as fast as possible
        ctx.progress(0.5, "x" * 65536)
    return {}
'''


def test_a_client_that_stops_reading_does_not_block_the_others(tmp_path):
    (tmp_path / "flood_jobs.py").write_text(FLOOD_JOBS)
    b = start_backend(tmp_path / "srv", "--job-module", "flood_jobs", "--stalled-client-s", "1",
                      env={"PYTHONPATH": str(tmp_path)})
    try:
        frozen = socket.create_connection(("127.0.0.1", b.port))
        frozen.sendall(protocol.encode({"type": "hello", "protocol": protocol.PROTOCOL_VERSION,
                                        "client": "frozen", "token": b.token}))
        frozen.sendall(protocol.encode({"type": "submit", "job_id": "flood1", "kind": "flood",
                                        "params": {}}))          # and never reads again
        time.sleep(0.5)
        with BackendClient.connect("127.0.0.1", b.port, b.token, tmp_path / "c") as c:
            start = time.monotonic()
            assert c.run("sleep", {"seconds": 0, "steps": 1}, timeout=EVENT_TIMEOUT_S)
            assert time.monotonic() - start < 8
        assert "not reading" in b.log.read_text()
        frozen.close()
    finally:
        b.stop()


# ============================================================================ HAProxy
def haproxy_or_skip() -> str:
    """The haproxy executable; installed with apt-get when missing and possible."""
    found = shutil.which("haproxy")
    if found:
        return found
    why = "haproxy is not installed"
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        out = subprocess.run("apt-get update -qq && apt-get install -y -qq haproxy",
                             shell=True, capture_output=True, text=True, timeout=600)
        found = shutil.which("haproxy")
        if found:
            return found
        why += f" and `apt-get install haproxy` failed: {out.stderr[-300:]}"
    else:
        why += " and cannot be installed here (needs root and apt-get)"
    pytest.skip(f"{why}; .ci/run installs it")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect_when_listening(port: int, process: subprocess.Popen, token: str, cache: Path,
                           timeout: float = 10) -> BackendClient:
    """A client through the proxy, retried until haproxy listens. No bare probe connection:
    one that haproxy has not yet torn down would count as a client on a backend."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return BackendClient.connect("127.0.0.1", port, token, cache,
                                         handshake_timeout=EVENT_TIMEOUT_S)
        except BackendError as e:
            if (e.code != ErrorCode.CONNECT_FAILED or time.monotonic() > deadline
                    or process.poll() is not None):
                raise AssertionError(f"no client through haproxy on {port} "
                                     f"(exit {process.poll()}): {e}") from e
            time.sleep(0.05)


def test_twenty_jobs_from_two_clients_through_haproxy(tmp_path):
    haproxy = haproxy_or_skip()
    token = secrets.token_hex(16)
    backends = [start_backend(tmp_path / f"gpu{i}", token=token) for i in range(2)]
    port = free_port()
    env = {**os.environ, "ANIMA_PROXY_BIND": f"127.0.0.1:{port}",
           "ANIMA_GPU0": f"127.0.0.1:{backends[0].port}",
           "ANIMA_GPU1": f"127.0.0.1:{backends[1].port}"}
    check = subprocess.run([haproxy, "-c", "-f", str(HAPROXY_CONFIG)], env=env,
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    proxy = subprocess.Popen([haproxy, "-f", str(HAPROXY_CONFIG), "-db"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    clients: dict[str, BackendClient] = {}
    try:
        frames = {"a": 3, "b": 7}            # tells the two clients' results apart
        # Clients arrive one after the other, as studio users do: a's session is open (its
        # handshake went through haproxy to a backend) before b connects. Two connections
        # accepted in the same instant on two haproxy threads may both see zero clients
        # everywhere; that race is haproxy's, not the set-up's, and the test does not bet on it.
        for name in frames:
            clients[name] = connect_when_listening(port, proxy, token, tmp_path / f"client-{name}")
        outcome: dict[str, list] = {}

        def drive(name: str) -> None:
            with clients[name] as c:
                ids = [c.submit("sleep", {"seconds": 0.02, "steps": frames[name],
                                          "artifact": True}) for _ in range(JOBS_PER_CLIENT)]
                outcome[name] = [(j, c.wait(j, timeout=EVENT_TIMEOUT_S * 2)) for j in ids]

        threads = [threading.Thread(target=drive, args=(n,)) for n in frames]
        for t in threads:
            t.start()
        for t in threads:
            t.join(EVENT_TIMEOUT_S * 4)
        assert sorted(outcome) == ["a", "b"], "a client did not get all its results"
        served = {}
        for name, results in outcome.items():
            assert len(results) == JOBS_PER_CLIENT
            client_cache = (tmp_path / f"client-{name}").resolve()
            for job_id, result in results:
                assert result["steps"] == frames[name]
                local = Path(result["artifacts"]["clip"])
                assert local.is_relative_to(client_cache / RECEIVED_SUBDIR / job_id)
                assert Clip.load_npz(local).num_frames == frames[name]
                where = [i for i, b in enumerate(backends)
                         if (b.cache_dir / jobs.JOBS_SUBDIR / job_id).is_dir()]
                assert len(where) == 1, f"job {job_id} ran on {len(where)} backends"
                served.setdefault(name, set()).update(where)
        # one connection per client, least connections: each client on its own backend
        assert served["a"] | served["b"] == {0, 1}, served
        assert all(len(s) == 1 for s in served.values()), served
    finally:
        for c in clients.values():
            c.close()
        proxy.kill()
        proxy.wait()
        for b in backends:
            b.stop()
