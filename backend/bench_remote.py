"""``python -m backend bench remote``: what a remote backend costs over a local one.

The same job, a 10 s clip, round trip (submit -> result with its artifact on the client's
disk), three ways:

  local_s   the add-on's default: a spawned backend over stdio (the artifact path is shared)
  remote_s  ``serve --tcp`` on loopback: the artifact travels back as a blob
  tls_s     the same with ``--tls-cert`` (a self-signed certificate made with openssl)

-> ``overhead_s = remote_s - local_s`` and ``tls_overhead_s = tls_s - remote_s`` (medians of
``repeat`` runs after one warm-up run per backend). The job is ``search`` with ``seconds=10``
and ``top_k=1`` when the text-search job and its library are available, else ``sleep`` with
an artifact of 200 frames (``job=`` says which). Loopback measures the protocol, the blob
transfer and TLS; a real network adds its round-trip time and ``bytes / bandwidth``.
"""
from __future__ import annotations

import contextlib
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .client import BackendClient
from .paths import REPO_ROOT
from .server import LISTENING_MARKER

DEFAULT_REPEAT = 10
START_TIMEOUT_S = 120.0
JOB_TIMEOUT_S = 300.0
SEARCH_JOB = ("search", {"text": "a person walks forward", "seconds": 10.0, "top_k": 1,
                         "seed": 0})
SLEEP_JOB = ("sleep", {"seconds": 0.0, "steps": 200, "artifact": True})


def benchmark(args: Any = None, n: int | None = None, **_ignored: Any) -> dict:
    """Round-trip medians in seconds (see the module docstring). ``args.repeat`` or ``n``:
    timed runs per transport. The transports take turns run by run, so that a change of load
    on the machine hits them alike."""
    repeat = n or getattr(args, "repeat", None) or DEFAULT_REPEAT
    with tempfile.TemporaryDirectory(prefix="anima-bench-remote-") as tmp, \
            contextlib.ExitStack() as stack:
        root = Path(tmp)
        clients = {"local": stack.enter_context(BackendClient.spawn(
            sys.executable, root / "local", device="cpu", cwd=REPO_ROOT))}
        kind, params = _pick_job(clients["local"])
        clients["remote"] = stack.enter_context(_tcp_client(root / "tcp", stack, tls=None))
        tls = self_signed_certificate(root / "tls")
        if tls is not None:
            clients["tls"] = stack.enter_context(_tcp_client(root / "tls", stack, tls=tls))
        times: dict[str, list[float]] = {name: [] for name in clients}
        size = 0
        for name, client in clients.items():                 # warm-up
            client.run(kind, params, timeout=JOB_TIMEOUT_S)
        for _ in range(repeat):
            for name, client in clients.items():
                start = time.perf_counter()
                result = client.run(kind, params, timeout=JOB_TIMEOUT_S)
                times[name].append(time.perf_counter() - start)
                size = sum(Path(p).stat().st_size for p in result.get("artifacts", {}).values())
    median = {name: statistics.median(t) for name, t in times.items()}
    out: dict[str, Any] = {"job": kind, "repeat": repeat, "artifact_bytes": size,
                           "local_s": round(median["local"], 4),
                           "remote_s": round(median["remote"], 4),
                           "tls_s": round(median["tls"], 4) if "tls" in median
                           else "n/a (no openssl command)",
                           "overhead_s": round(median["remote"] - median["local"], 4)}
    if "tls" in median:
        out["tls_overhead_s"] = round(median["tls"] - median["remote"], 4)
    return out


def _pick_job(client: BackendClient) -> tuple[str, dict]:
    """``search`` for 10 s if this backend can run it, else the 200-frame ``sleep`` job."""
    if "search" in client.info.get("capabilities", []):
        try:
            client.run(*SEARCH_JOB, timeout=JOB_TIMEOUT_S)
            return SEARCH_JOB
        except Exception as e:  # noqa: BLE001 - no library / encoder: fall back
            print(f"bench remote: search unavailable ({e}); timing the sleep job",
                  file=sys.stderr)
    return SLEEP_JOB


def _tcp_client(folder: Path, stack: contextlib.ExitStack,
                tls: tuple[Path, Path] | None) -> BackendClient:
    """Start ``serve --tcp`` on loopback (TLS when ``tls`` = (cert, key)), stopped when
    ``stack`` closes, and connect to it."""
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    (folder / "token").write_text(token)
    (folder / "token").chmod(0o600)
    extra = ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])] if tls else []
    log = folder / "server.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "backend", "serve", "--tcp", "127.0.0.1:0", "--token-file",
             str(folder / "token"), "--cache-dir", str(folder / "server-cache"), "--device",
             "cpu", *extra], cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=log_file)
    stack.callback(_stop, process)
    port = _listening_port(process, log)
    return BackendClient.connect("127.0.0.1", port, token, folder / "client", tls=bool(tls),
                                 cafile=tls[0] if tls else None,
                                 handshake_timeout=START_TIMEOUT_S)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _listening_port(process: subprocess.Popen, log: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(LISTENING_MARKER):
                return int(line.split()[2])
        time.sleep(0.05)
    raise RuntimeError(f"the TCP backend did not start:\n{log.read_text(errors='replace')}")


def self_signed_certificate(folder: Path) -> tuple[Path, Path] | None:
    """A self-signed certificate for 127.0.0.1 and localhost made with the openssl command
    (cert.pem, key.pem in ``folder``), or None without it. For benchmarks and tests."""
    if shutil.which("openssl") is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=anima-test",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=120)
    key.chmod(0o600)
    return cert, key


if __name__ == "__main__":
    print(" ".join(f"{k}={v}" for k, v in benchmark().items()))
