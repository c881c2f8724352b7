"""The model store (backend/modelstore.py, modeldownload.py) on real checkpoints (the shipped ones, truncated and
corrupted copies, files torch.save wrote), the torch check in its own process
(backend/models/store_job.py), and downloads from a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from backend import modeldownload as md
from backend import modelstore as ms

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "assets" / "models"


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- catalogue
def test_families_match_the_loaders_constants():
    from backend.models.camera.learned import model as camera
    from backend.models.editing import config as editing
    from backend.models.text2motion import config as t2m

    assert ms.FAMILIES[t2m.CHECKPOINT_FORMAT][2] == (t2m.CHECKPOINT_MIN_VERSION,
                                                     t2m.CHECKPOINT_VERSION)
    assert ms.FAMILIES[editing.CHECKPOINT_FORMAT][2] == (editing.CHECKPOINT_VERSION,) * 2
    assert ms.FAMILIES[camera.FORMAT][2] == (camera.VERSION,) * 2
    from backend.text import reader_net
    assert ms.FAMILIES[reader_net.FORMAT][2] == (reader_net.VERSION,) * 2
    assert ms.RESERVED_NAMES == set(t2m.SHIPPED)


def test_catalogue_lists_the_shipped_checkpoints_with_card_licence_and_hash():
    entries = {e.id: e for e in ms.catalogue(SHIPPED)}
    assert set(entries) == {p.stem for p in SHIPPED.glob("*.pt")}
    starter, clean = entries["text2motion_starter"], entries["text2motion_clean"]
    assert (starter.family, starter.licence, starter.commercial_ok) == \
        ("text2motion", "CC-BY-NC-4.0", False)
    assert (clean.licence, clean.commercial_ok) == ("CMU", True)
    assert entries["inbetween"].family == "inbetween"
    cam = entries["camera_next_pose"]
    assert cam.family == "camera_next_pose" and cam.licence == "CC0-1.0"   # from its card
    for e in entries.values():
        assert e.source == "shipped" and not e.problem
        assert e.size == e.path.stat().st_size
        assert e.sha256 == sha(e.path)
        assert e.card_path == e.path.with_suffix(".md") and e.title.startswith("Anima")
    assert "| bandai | CC-BY-NC-4.0 | no |" in starter.data_card


def test_model_card_parsing():
    card = ms.parse_model_card("# My model\n\n## Licence\n\n**MIT**: do as you like.\n\n"
                               "## Training data\n\n- 3 clips\n\n## Model\nx\n")
    assert card == {"title": "My model", "licence": "MIT", "data_card": "- 3 clips"}


# ----------------------------------------------------------------------------- inspecting
@pytest.fixture()
def bad_files(tmp_path):
    src = (SHIPPED / "inbetween.pt").read_bytes()
    files = {"empty": b"", "truncated": src[: len(src) // 2], "random": os.urandom(5000),
             "text": b"hello, not a model\n" * 10}
    flipped = bytearray(src)
    flipped[len(src) // 2: len(src) // 2 + 8] = bytes(8)
    files["flipped"] = bytes(flipped)
    out = {}
    for name, data in files.items():
        (tmp_path / f"{name}.pt").write_bytes(data)
        out[name] = tmp_path / f"{name}.pt"
    for name, obj in {"foreign": {"format": "someone-else", "version": 1},
                      "old": {"format": "anima-text2motion", "version": 1},
                      "list": [1, 2, 3]}.items():
        torch.save(obj, tmp_path / f"{name}.pt")
        out[name] = tmp_path / f"{name}.pt"
    return out


@pytest.mark.parametrize("name, message", [
    ("empty", "the file is empty"), ("truncated", "truncated"), ("random", "no zip archive"),
    ("text", "no zip archive"), ("flipped", "fails its checksum"),
    ("foreign", "format 'someone-else'"), ("old", "version 1; this Anima reads version 2..2"),
    ("list", "holds list")])
def test_inspect_refuses_bad_files_with_a_clear_message(bad_files, name, message):
    with pytest.raises(ms.ModelStoreError) as err:
        ms.inspect_checkpoint(bad_files[name])
    assert message in str(err.value) and str(bad_files[name]) in str(err.value)


def test_inspect_reads_family_and_licence_and_checks_the_expected_family():
    info = ms.inspect_checkpoint(SHIPPED / "text2motion_starter.pt")
    assert (info.family, info.version, info.licence) == ("text2motion", 2, "CC-BY-NC-4.0")
    with pytest.raises(ms.ModelStoreError, match="a inbetween checkpoint, not the text2motion"):
        ms.inspect_checkpoint(SHIPPED / "inbetween.pt", expect_family="text2motion")


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def test_inspect_never_runs_code_from_the_file(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"format": "anima-inbetween", "version": 1, "x": _Payload(str(marker))},
               tmp_path / "evil.pt")
    info = ms.inspect_checkpoint(tmp_path / "evil.pt")
    assert info.family == "inbetween" and not marker.exists()


# ----------------------------------------------------------------------------- importing
def test_import_copies_checkpoint_card_and_summary(tmp_path):
    src_dir = tmp_path / "downloads"
    src_dir.mkdir()
    shutil.copy(SHIPPED / "inbetween.pt", src_dir / "my_fill.pt")
    shutil.copy(SHIPPED / "inbetween.md", src_dir / "my_fill.md")
    user = tmp_path / "models"
    entry, copied = ms.import_checkpoint(src_dir / "my_fill.pt", user, shipped_dir=SHIPPED)
    assert copied and entry.id == "my_fill" and entry.source == "user"
    assert sorted(p.name for p in user.iterdir()) == ["my_fill.json", "my_fill.md",
                                                       "my_fill.pt"]     # no temp file left
    assert sha(user / "my_fill.pt") == sha(SHIPPED / "inbetween.pt") == entry.sha256
    summary = json.loads((user / "my_fill.json").read_text())
    assert summary["licence"] == "CMU" and summary["commercial_ok"] is True
    assert summary["family"] == "inbetween"
    assert "CMU motion" in (user / "my_fill.md").read_text()
    # the same file again: nothing to do; a different file of that name: refused
    assert ms.import_checkpoint(src_dir / "my_fill.pt", user)[1] is False
    other = src_dir / "other.pt"
    shutil.copy(SHIPPED / "camera_next_pose.pt", other)
    with pytest.raises(ms.ModelStoreError, match="another model named 'my_fill'"):
        ms.import_checkpoint(other, user, name="my_fill")
    assert sha(user / "my_fill.pt") == entry.sha256
    entries = ms.catalogue(SHIPPED, user)
    assert [e.id for e in entries if e.source == "user"] == ["my_fill"]
    ms.remove_user_model(user, "my_fill")
    assert list(user.iterdir()) == []


@pytest.mark.parametrize("name, message", [("starter", "shipped model's"),
                                           ("inbetween", "shipped model's"),
                                           ("../escape", "use letters"), ("", "use letters")])
def test_import_refuses_bad_names(tmp_path, name, message):
    with pytest.raises(ms.ModelStoreError, match=message):
        ms.import_checkpoint(SHIPPED / "inbetween.pt", tmp_path / "m", name=name or "-",
                             shipped_dir=SHIPPED)
    assert not (tmp_path / "m").exists()


def test_import_of_a_bad_file_installs_nothing(tmp_path, bad_files):
    user = tmp_path / "models"
    for path in bad_files.values():
        with pytest.raises(ms.ModelStoreError):
            ms.import_checkpoint(path, user)
    assert not user.exists() or list(user.iterdir()) == []


def test_import_refuses_another_family_than_asked(tmp_path):
    with pytest.raises(ms.ModelStoreError, match="a camera_next_pose checkpoint, not the "
                                                 "text2motion model expected"):
        ms.import_checkpoint(SHIPPED / "camera_next_pose.pt", tmp_path / "m", name="cam",
                             expect_family="text2motion")
    assert not (tmp_path / "m" / "cam.pt").exists()


def test_store_modules_import_only_the_standard_library():
    import ast
    for name in ("modelstore.py", "modeldownload.py"):
        tree = ast.parse((REPO / "backend" / name).read_text(encoding="utf-8"))
        mods = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
        mods |= {n.module.split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.level == 0}
        assert mods <= set(sys.stdlib_module_names), (name, mods - set(sys.stdlib_module_names))


def test_resolve_user_model_stays_inside_the_folder(tmp_path):
    shutil.copy(SHIPPED / "camera_next_pose.pt", tmp_path / "cam.pt")
    assert ms.resolve_user_model(tmp_path, "cam") == (tmp_path / "cam.pt").resolve()
    for bad in ("../cam", "/etc/passwd", "missing", "cam.pt/.."):
        with pytest.raises(ms.ModelStoreError):
            ms.resolve_user_model(tmp_path, bad)


# ----------------------------------------------------------------------------- torch check
def _verify(path):
    done = subprocess.run([sys.executable, "-m", "backend.models.store_job", "verify",
                           str(path)], cwd=REPO, capture_output=True, text=True, timeout=300)
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def test_store_job_loads_a_good_checkpoint_and_refuses_a_hollow_one(tmp_path):
    rc, out = _verify(SHIPPED / "camera_next_pose.pt")
    assert rc == 0 and out["ok"] and out["family"] == "camera_next_pose"
    assert out["parameters"] == 121993
    hollow = tmp_path / "hollow.pt"                   # right format and version, no network
    torch.save({"format": "anima-text2motion", "version": 2}, hollow)
    assert ms.inspect_checkpoint(hollow).family == "text2motion"    # the header is fine ...
    rc, out = _verify(hollow)
    assert rc == 1 and not out["ok"] and "lacks 'model_config'" in out["error"]   # ... torch not


# ----------------------------------------------------------------------------- downloads
class _Server(http.server.ThreadingHTTPServer):
    payload = b""
    cut_after = None             # first response stops after this many bytes (then resets)
    honour_range = True
    delay = 0.0                  # seconds between 16 kB pieces
    log: list


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        srv, data = self.server, self.server.payload
        rng = self.headers.get("Range")
        srv.log.append(rng)
        start = int(rng[6:].split("-")[0]) if rng and srv.honour_range else 0
        if start >= len(data) and rng:
            self.send_response(416)
            self.end_headers()
            return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if srv.cut_after is not None:
            body, srv.cut_after = body[:srv.cut_after], None
            self.close_connection = True
        try:
            for k in range(0, len(body), 16 << 10):
                self.wfile.write(body[k:k + (16 << 10)])
                time.sleep(srv.delay)
        except (BrokenPipeError, ConnectionResetError):    # the client hung up: its choice
            self.close_connection = True


@pytest.fixture()
def server():
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.payload, srv.log = os.urandom(300_000), []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/model.pt"
    yield srv
    srv.shutdown()
    srv.server_close()


def _download(server, dest, digest=None, **kw):
    dl = md.Download(server.url, dest, digest or hashlib.sha256(server.payload).hexdigest(),
                     len(server.payload), online_access=True, timeout=10, **kw)
    dl.run()
    return dl


def test_download_checks_the_hash_then_installs(server, tmp_path):
    dl = _download(server, tmp_path / "m.pt")
    assert dl.state == "done" and dl.progress == 1.0
    assert (tmp_path / "m.pt").read_bytes() == server.payload
    assert os.listdir(tmp_path) == ["m.pt"] and server.log == [None]


def test_download_never_replaces_a_different_installed_file(server, tmp_path):
    (tmp_path / "m.pt").write_bytes(b"mine")
    dl = _download(server, tmp_path / "m.pt")
    assert dl.state == "failed" and "already installed" in dl.message
    assert (tmp_path / "m.pt").read_bytes() == b"mine" and server.log == []


def test_interrupted_download_resumes_with_a_range_request(server, tmp_path):
    server.cut_after = 100_000
    dl = _download(server, tmp_path / "m.pt")
    assert dl.state == "done", dl.message
    assert server.log == [None, "bytes=100000-"] and dl.resumed_from == 100_000
    assert (tmp_path / "m.pt").read_bytes() == server.payload


def test_cancelled_download_keeps_its_part_and_a_new_one_resumes(server, tmp_path):
    server.delay = 0.02
    dest = tmp_path / "m.pt"
    dl = md.Download(server.url, dest, hashlib.sha256(server.payload).hexdigest(),
                     len(server.payload), online_access=True, timeout=10).start()
    deadline = time.monotonic() + 20
    while dl.done_bytes < 50_000 and time.monotonic() < deadline:
        time.sleep(0.01)
    dl.cancel()
    dl.thread.join(20)
    assert dl.state == "cancelled" and not dest.exists()
    kept = dl.part.stat().st_size
    assert 50_000 <= kept < len(server.payload)
    server.delay = 0.0
    again = _download(server, dest)
    assert again.state == "done" and again.resumed_from == kept
    assert server.log[-1] == f"bytes={kept}-" and dest.read_bytes() == server.payload


def test_wrong_hash_is_refused_and_leaves_no_file(server, tmp_path):
    dl = _download(server, tmp_path / "m.pt", digest="0" * 64)
    assert dl.state == "failed" and "SHA-256" in dl.message and "discarded" in dl.message
    assert os.listdir(tmp_path) == []


def test_server_ignoring_range_restarts_the_file(server, tmp_path):
    server.honour_range = False
    (tmp_path / "m.pt.part").write_bytes(server.payload[:1000])
    dl = _download(server, tmp_path / "m.pt")
    assert dl.state == "done" and (tmp_path / "m.pt").read_bytes() == server.payload


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_fails_the_download_without_retrying(server, tmp_path):
    (tmp_path / "m.pt.part").symlink_to("/dev/full")     # every write: ENOSPC
    dl = _download(server, tmp_path / "m.pt")
    assert dl.state == "failed" and "No space left on device" in dl.message
    assert not (tmp_path / "m.pt").exists() and server.log == [None]


def test_more_bytes_than_listed_are_refused(server, tmp_path):
    dl = md.Download(server.url, tmp_path / "m.pt", "0" * 64, 1000, online_access=True)
    dl.run()
    assert dl.state == "failed" and "refused" in dl.message and os.listdir(tmp_path) == []


def test_no_download_without_online_access(server, tmp_path):
    with pytest.raises(ms.ModelStoreError, match="Online access is disabled"):
        md.Download(server.url, tmp_path / "m.pt", "0" * 64, 10, online_access=False)
    assert server.log == [] and os.listdir(tmp_path) == []


def test_manifest_shipped_and_bad_entries(tmp_path):
    assert md.load_manifest(SHIPPED / "available.json") == []
    good = {"id": "big", "family": "text2motion", "url": "https://example.org/big.pt",
            "sha256": "a" * 64, "size": 10, "licence": "MIT"}
    path = tmp_path / "available.json"
    path.write_text(json.dumps({"format": md.MANIFEST_FORMAT, "models": [good]}))
    assert md.load_manifest(path)[0].url == good["url"]
    for change, message in [({"sha256": "xyz"}, "sha256"), ({"size": -1}, "size"),
                            ({"url": "file:///etc/passwd"}, "url"), ({"id": "../x"}, "name")]:
        path.write_text(json.dumps({"format": md.MANIFEST_FORMAT,
                                    "models": [dict(good, **change)]}))
        with pytest.raises(ms.ModelStoreError, match=message):
            md.load_manifest(path)
