"""Unit tests of backend/protocol.py (framing, validation, versioning) and of the rule that
protocol.py and client.py need nothing but the standard library."""
from __future__ import annotations

import ast
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from backend import protocol
from backend.protocol import (CLIENT_TO_SERVER, PROTOCOL_VERSION, SERVER_TO_CLIENT, MessageType,
                              ProtocolError, ProtocolMismatch)

REPO = Path(__file__).resolve().parents[1]
STDLIB_ONLY = ("backend/protocol.py", "backend/client.py", "backend/transport.py",
               "backend/params.py")


# ----------------------------------------------------------------------------- stdlib only
def test_protocol_and_client_import_without_site_packages():
    """Imported with site-packages disabled (-S): nothing but the standard library is
    reachable, and nothing but the standard library gets imported."""
    code = ("import sys, json; import backend.protocol, backend.client; "
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    modules = json.loads(out.stdout)
    ours = {m for m in modules if m.split(".")[0] == "backend"}
    assert ours == {"backend", "backend.protocol", "backend.client", "backend.transport",
                    "backend.params"}
    foreign = [m for m in modules if m.split(".")[0] not in sys.stdlib_module_names
               and m.split(".")[0] not in ("backend", "__main__")]
    assert foreign == []
    for heavy in ("numpy", "torch", "bpy"):
        assert heavy not in modules


@pytest.mark.parametrize("relpath", STDLIB_ONLY)
def test_stdlib_only_source(relpath):
    """Every import statement, including those inside functions, names a stdlib module or
    backend.protocol / backend.transport."""
    tree = ast.parse((REPO / relpath).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:               # relative: only the protocol and transport modules
                assert node.module in (None, "protocol", "transport", "params"), ast.dump(node)
                continue
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or name == "backend.protocol", \
                f"{relpath}:{node.lineno} imports {name}"


# ----------------------------------------------------------------------------- messages
def test_constants():
    assert isinstance(PROTOCOL_VERSION, int) and PROTOCOL_VERSION == 2
    assert protocol.PROTOCOL_NAME == "anima-backend"


def test_roundtrip_every_message_type():
    messages = [
        (CLIENT_TO_SERVER, protocol.client_message("hello", protocol=protocol.PROTOCOL_VERSION, client="t", token=None)),
        (CLIENT_TO_SERVER, protocol.client_message("submit", job_id="j1", kind="sleep",
                                                   params={"seconds": 1})),
        (CLIENT_TO_SERVER, protocol.client_message("cancel", job_id="j1")),
        (CLIENT_TO_SERVER, protocol.client_message("shutdown")),
        (SERVER_TO_CLIENT, protocol.server_message("hello", protocol=protocol.PROTOCOL_VERSION, server_version="0",
                                                   capabilities=["sleep"], device="cpu", pid=1)),
        (SERVER_TO_CLIENT, protocol.server_message("accepted", job_id="j1")),
        (SERVER_TO_CLIENT, protocol.server_message("progress", job_id="j1", fraction=0.5,
                                                   message="half")),
        (SERVER_TO_CLIENT, protocol.server_message("result", job_id="j1", result={"a": [1]})),
        (SERVER_TO_CLIENT, protocol.error_message("job_failed", "boom", "j1", "Traceback")),
        (SERVER_TO_CLIENT, protocol.error_message("protocol_error", "bad")),
        (SERVER_TO_CLIENT, protocol.server_message("cancelled", job_id="j1")),
        (SERVER_TO_CLIENT, protocol.server_message("blob", job_id="j1", name="clip", size=3,
                                                   sha256="0" * 64)),
    ]
    for direction, msg in messages:
        line = protocol.encode(msg)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert protocol.decode(line[:-1], direction) == msg


def test_unknown_fields_are_ignored():
    line = json.dumps({"type": "cancel", "job_id": "j", "future_field": [1, 2]}).encode()
    assert protocol.decode(line, CLIENT_TO_SERVER)["job_id"] == "j"


@pytest.mark.parametrize("line, fragment", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "not valid UTF-8"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"job_id": "j"}', "no string 'type'"),
    (b'{"type": "teleport"}', "unknown message type 'teleport'"),
    (b'{"type": "submit", "job_id": "j", "kind": "sleep"}', "misses field 'params'"),
    (b'{"type": "submit", "job_id": "j", "kind": 3, "params": {}}',
     "field 'kind' must be a string"),
    (b'{"type": "submit", "job_id": "../etc", "kind": "k", "params": {}}',
     "field 'job_id' must be a job id"),
    (b'{"type": "cancel", "job_id": null}', "field 'job_id' must be a job id"),
    (b'{"type": "hello", "protocol": 2, "client": "c", "token": 5}',
     "field 'token' must be a string"),
])
def test_malformed_client_messages(line, fragment):
    with pytest.raises(ProtocolError) as e:
        protocol.decode(line, CLIENT_TO_SERVER)
    assert fragment in str(e.value)


@pytest.mark.parametrize("msg, fragment", [
    ({"type": "progress", "job_id": "j", "fraction": 1.5, "message": ""}, "[0, 1]"),
    ({"type": "progress", "job_id": "j", "fraction": True, "message": ""}, "[0, 1]"),
    ({"type": "blob", "job_id": "j", "name": "n", "size": -1, "sha256": "0" * 64}, "'size'"),
    ({"type": "blob", "job_id": "j", "name": "n", "size": 1, "sha256": "xyz"}, "'sha256'"),
    ({"type": "error", "job_id": None, "code": "c", "message": "m"}, "'traceback'"),
    ({"type": "hello", "protocol": 2, "server_version": "0", "capabilities": [1],
      "device": "cpu", "pid": 1}, "'capabilities' must be a list of strings"),
    ({"type": "submit", "job_id": "j", "kind": "k", "params": {}}, "unknown message type"),
])
def test_malformed_server_messages(msg, fragment):
    with pytest.raises(ProtocolError) as e:
        protocol.validate(msg, SERVER_TO_CLIENT)
    assert fragment in str(e.value)


def test_bool_is_not_an_int():
    with pytest.raises(ProtocolError, match="'protocol' must be an integer"):
        protocol.validate({"type": "hello", "protocol": True, "client": "c"}, CLIENT_TO_SERVER)


def test_version_mismatch_is_detected_before_the_schema():
    """A future hello with different fields is still reported as a version mismatch."""
    line = json.dumps({"type": "hello", "protocol": 3, "greeting": "hi"}).encode()
    with pytest.raises(ProtocolMismatch) as e:
        protocol.decode(line, CLIENT_TO_SERVER)
    assert e.value.peer_version == 3 and e.value.own_version == PROTOCOL_VERSION
    assert "the client speaks anima-backend protocol 3, the server speaks 2" in str(e.value)


def test_encode_rejects_non_json_values():
    with pytest.raises(ProtocolError, match="cannot be encoded"):
        protocol.encode({"type": "result", "job_id": "j", "result": {"x": float("nan")}})
    with pytest.raises(ProtocolError, match="cannot be encoded"):
        protocol.encode({"type": "result", "job_id": "j", "result": {"x": object()}})


# ----------------------------------------------------------------------------- streams
def test_read_line_skips_blank_lines_and_reports_eof():
    stream = io.BytesIO(b'\n  \n{"type":"shutdown"}\r\n{"type":"shutdown"}')
    assert protocol.read_line(stream) == b'{"type":"shutdown"}'
    assert protocol.read_line(stream) == b'{"type":"shutdown"}'   # no final newline
    assert protocol.read_line(stream) is None


def test_read_line_rejects_and_skips_oversized_lines():
    stream = io.BytesIO(b"x" * 100 + b"\n" + b'{"type":"shutdown"}\n')
    with pytest.raises(ProtocolError, match="longer than 10 bytes"):
        protocol.read_line(stream, limit=10)
    assert protocol.read_line(stream, limit=100) == b'{"type":"shutdown"}'


def test_read_exact_and_sha256(tmp_path):
    data = bytes(range(256)) * 5000
    out = bytearray()
    stream = io.BytesIO(data + b'{"after":1}\n')
    digest = protocol.read_exact(stream, len(data), out.extend)
    assert bytes(out) == data
    assert protocol.read_line(stream) == b'{"after":1}'
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert protocol.sha256_file(path) == digest
    with pytest.raises(EOFError, match="before the end"):
        protocol.read_exact(io.BytesIO(b"abc"), 10)


def test_write_message_flushes_one_line():
    stream = io.BytesIO()
    protocol.write_message(stream, {"type": MessageType.SHUTDOWN})
    assert stream.getvalue() == b'{"type":"shutdown"}\n'
