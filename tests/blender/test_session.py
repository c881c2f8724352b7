"""The backend session (operators/jobs.py) with the real backend process and its `sleep` job:
blocking path (background mode), the timer pump path driven by hand, cancel, a dead backend
and restart."""
from __future__ import annotations

import threading
import time

import pytest

bpy = pytest.importorskip("bpy")

pytestmark = pytest.mark.blender


def _jobs():
    from anima.operators import jobs
    return jobs


def _pump_until(session, cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.pump()
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached while pumping")


def test_blocking_sleep_job_reports_progress_and_result(session):
    jobs = _jobs()
    seen = []
    result = jobs.run_blocking("sleep", {"seconds": 0.3, "steps": 3},
                               on_progress=lambda f, m: seen.append((f, m)))
    assert result["slept"] == pytest.approx(0.3) and result["steps"] == 3
    fractions = [f for f, _m in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert len(fractions) >= 3
    st = bpy.context.window_manager.anima
    assert st.state == "READY" and not st.busy and st.error == ""
    assert session.last.result == result


def test_blocking_cancel_is_fast(session):
    jobs = _jobs()
    session.start(block=True)
    threading.Timer(0.3, session.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(jobs.JobFailed) as info:
        jobs.run_blocking("sleep", {"seconds": 30, "steps": 300})
    assert info.value.code == "cancelled"
    assert time.monotonic() - t0 < 1.3            # cancel at 0.3 s, effective within 1 s
    assert session.state == "READY" and not session.busy


def test_pump_path_applies_result_once_and_cancels(session):
    jobs = _jobs()
    applied = []
    rec = session.submit("sleep", {"seconds": 0.2, "steps": 2}, label="nap",
                         on_result=applied.append, block=False)
    assert not rec.done                                   # returned at once
    assert bpy.context.window_manager.anima.busy
    _pump_until(session, lambda: rec.done)
    assert rec.error == "" and len(applied) == 1 and applied[0]["steps"] == 2
    assert not bpy.context.window_manager.anima.busy

    rec = session.submit("sleep", {"seconds": 30, "steps": 300}, on_result=applied.append,
                         block=False)
    _pump_until(session, lambda: rec.progress > 0)
    st = bpy.context.window_manager.anima
    assert st.busy and 0 < st.progress < 1
    t0 = time.monotonic()
    assert session.cancel()
    _pump_until(session, lambda: rec.done, timeout=2.0)
    assert time.monotonic() - t0 < 1.0
    assert rec.code == "cancelled" and len(applied) == 1
    assert bpy.context.window_manager.anima.error == ""   # a cancel is not an error


def test_dead_backend_is_reported_and_restart_resubmits(session):
    jobs = _jobs()
    session.start(block=True)
    old_pid = session.client.info["pid"]
    applied = []
    rec = session.submit("sleep", {"seconds": 0.6, "steps": 6}, label="nap",
                         on_result=applied.append, block=False)
    _pump_until(session, lambda: rec.progress > 0)
    session.client.process.kill()
    _pump_until(session, lambda: session.state == "DEAD", timeout=5.0)

    st = bpy.context.window_manager.anima
    assert st.state == "DEAD" and not st.busy and st.can_resubmit
    assert "stopped unexpectedly" in st.error and "Restart" in st.error
    assert rec.done and rec.code == "backend_died" and not applied

    # A new Generate-like submit while dead fails cleanly, nothing is applied.
    bpy.ops.anima.restart_backend(resubmit=True)          # blocking in background mode
    assert session.state == "READY" and session.client.info["pid"] != old_pid
    assert session.lost_job is None
    assert applied and applied[0]["steps"] == 6           # the lost job ran again
    assert jobs.run_blocking("sleep", {"seconds": 0.0, "steps": 1})["steps"] == 1


def test_death_during_blocking_wait(session):
    jobs = _jobs()
    session.start(block=True)
    proc = session.client.process
    threading.Timer(0.3, proc.kill).start()
    with pytest.raises(jobs.JobFailed) as info:
        jobs.run_blocking("sleep", {"seconds": 30, "steps": 300})
    assert info.value.code == "backend_died"
    assert "stopped unexpectedly" in str(info.value)
    assert session.state == "DEAD"
    session.restart(resubmit=False, block=True)
    assert jobs.run_blocking("sleep", {"seconds": 0.0, "steps": 1})["steps"] == 1


def test_unknown_kind_and_busy_are_clear_errors(session):
    jobs = _jobs()
    with pytest.raises(jobs.JobFailed, match="cannot run 'no_such_kind'"):
        jobs.run_blocking("no_such_kind", {})
    rec = session.submit("sleep", {"seconds": 5, "steps": 50}, block=False)
    with pytest.raises(jobs.JobFailed, match="already working"):
        session.submit("sleep", {}, block=False)
    session.cancel()
    _pump_until(session, lambda: rec.done, timeout=2.0)


def test_unregister_stops_pump_and_closes_backend(anima, session):
    jobs = _jobs()
    session.start(block=True)
    proc = session.client.process
    bpy.app.timers.register(jobs._pump, first_interval=10.0, persistent=True)
    anima.unregister()
    try:
        assert not bpy.app.timers.is_registered(jobs._pump)
        assert proc.wait(timeout=5) is not None               # the process is gone
        assert not hasattr(bpy.types.WindowManager, "anima")
    finally:
        anima.register()
    assert jobs.get_session() is not session                  # a fresh session afterwards


@pytest.fixture()
def tcp_server(tmp_path, request):
    """A real backend listening on a free loopback port: (port, token); with TLS when the
    test is parametrized with a (cert, key) pair."""
    import subprocess
    import sys
    from pathlib import Path
    from anima.backend import server
    repo = Path(__file__).resolve().parents[2]
    token = "s3cret-token"
    (tmp_path / "token").write_text(token)
    tls = getattr(request, "param", None)
    extra = ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])] if tls else []
    proc = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--tcp", "127.0.0.1:0",
                             "--token-file", str(tmp_path / "token"), "--cache-dir",
                             str(tmp_path / "server-cache"), *extra], cwd=repo,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            if line.startswith(server.LISTENING_MARKER):
                port = int(line.split()[-1])
        assert port, "the TCP backend did not start"
        yield port, token
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_remote_backend_on_loopback(session, tcp_server):
    jobs = _jobs()
    port, token = tcp_server
    session.stop()
    prefs = bpy.context.preferences.addons["anima"].preferences
    prefs.backend_mode, prefs.host, prefs.port, prefs.token = "REMOTE", "127.0.0.1", port, "bad"
    with pytest.raises(jobs.JobFailed) as info:
        jobs.run_blocking("sleep", {"seconds": 0.0, "steps": 1})
    assert "token" in str(info.value).lower() or "unauthorized" in str(info.value).lower()
    assert session.state == "ERROR"

    prefs.token = token
    result = jobs.run_blocking("sleep", {"seconds": 0.1, "steps": 2, "artifact": True})
    clip = result["artifacts"]["clip"]                # shipped over TCP into the local cache
    assert jobs.local_path(clip, result) == clip and clip.endswith(".npz")
    assert session.describe == f"remote 127.0.0.1:{port}"
    session.stop()


def _certificate():
    """A self-signed certificate for 127.0.0.1 made with openssl: (cert, key)."""
    import atexit
    import shutil
    import tempfile
    from pathlib import Path
    from backend.bench_remote import self_signed_certificate
    folder = tempfile.mkdtemp(prefix="anima-tls-")
    atexit.register(shutil.rmtree, folder, True)
    made = self_signed_certificate(Path(folder))
    if made is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    return made


CERT = _certificate()


@pytest.mark.parametrize("tcp_server", [CERT], indirect=True)
def test_remote_backend_over_tls_from_the_preferences(session, tcp_server):
    jobs = _jobs()
    port, token = tcp_server
    session.stop()
    prefs = bpy.context.preferences.addons["anima"].preferences
    prefs.backend_mode, prefs.host, prefs.port, prefs.token = "REMOTE", "127.0.0.1", port, token
    prefs.use_tls, prefs.tls_cafile = False, ""
    with pytest.raises(jobs.JobFailed):                 # a plain client is refused
        jobs.run_blocking("sleep", {"seconds": 0.0, "steps": 1})
    session.stop()
    prefs.use_tls = True                                # TLS, but the self-signed CA unknown
    with pytest.raises(jobs.JobFailed) as info:
        jobs.run_blocking("sleep", {"seconds": 0.0, "steps": 1})
    assert "certificate" in str(info.value).lower()
    session.stop()
    prefs.tls_cafile = str(CERT[0])                      # TLS with the server's CA
    try:
        result = jobs.run_blocking("sleep", {"seconds": 0.1, "steps": 2, "artifact": True})
        assert result["artifacts"]["clip"].endswith(".npz")
    finally:
        prefs.use_tls, prefs.tls_cafile = False, ""
        session.stop()
