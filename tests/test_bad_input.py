"""The bad-input suite (issue 13 item 7): named cases across job kinds, commands, protocol and
files, each asserting the exact, helpful message and that no user file changed.

Job parameters go through ``jobs.check_params`` — the schema check the server runs before a
job is queued (tests/test_client_server.py drives the same path over a real backend). Commands
run through ``backend.__main__.main`` in-process; a good output file sits at ``--out`` first and
must come out byte-identical.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from backend import jobs, protocol
from backend.__main__ import main
from backend.data.library import LibraryError, MotionLibrary
from backend.jobs import JobError
from backend.motion.clip import Clip
from backend.motion.skeleton import CANONICAL
from backend.protocol import CLIENT_TO_SERVER, ErrorCode, ProtocolError

pytest.importorskip("torch")
jobs.load_job_modules(jobs.JOB_MODULES)

REPO = Path(__file__).resolve().parents[1]
LIBRARY = REPO / "assets" / "library" / "cmu_canonical.npz"


def _wire_clip(frames: int = 10) -> dict:
    from backend.motion.wire import clip_to_wire
    rotations = np.zeros((frames, len(CANONICAL), 4))
    rotations[..., 0] = 1.0
    return clip_to_wire(Clip(rotations, np.zeros((frames, 3)), 30.0))


SUBJECT = {"fps": 30.0, "positions": [[0, 0, 1], [0, 0.1, 1]], "radius": 0.5}

# (case name, job kind, params, words the message must contain)
JOB_CASES = [
    ("generate-nan-seconds", "generate", {"text": "a person waves", "seconds": math.nan},
     "'seconds' must hold only finite numbers"),
    ("generate-inf-guidance", "generate", {"text": "a person waves", "guidance": math.inf},
     "'guidance' must hold only finite numbers"),
    ("generate-nan-guidance", "generate", {"text": "a person waves", "guidance": math.nan},
     "'guidance' must hold only finite numbers"),
    ("generate-zero-seconds", "generate", {"text": "a person waves", "seconds": 0},
     "'seconds' must be at least 0.25"),
    ("generate-tiny-seconds", "generate", {"text": "a person waves", "seconds": 0.01},
     "'seconds' must be at least 0.25"),
    ("generate-too-long", "generate", {"text": "a person waves", "seconds": 600},
     "'seconds' must be at most 60"),
    ("generate-negative-seed", "generate", {"text": "a person waves", "seed": -1},
     "'seed' must be at least 0"),
    ("generate-huge-seed", "generate", {"text": "a person waves", "seed": 2**63 + 5},
     "'seed' must be at most 2147483647"),
    ("generate-bool-seed", "generate", {"text": "a person waves", "seed": True},
     "'seed' must be an integer"),
    ("generate-float-steps", "generate", {"text": "a person waves", "steps": 2.5},
     "'steps' must be an integer"),
    ("generate-no-text", "generate", {}, "missing parameter 'text'"),
    ("generate-empty-text", "generate", {"text": ""}, "'text' must be at least 1"),
    ("generate-text-number", "generate", {"text": 42}, "'text' must be a string"),
    ("generate-library-typo", "generate", {"text": "a person waves", "libary": "all"},
     "unknown parameter 'libary'"),
    ("generate-library-ignored", "generate", {"text": "a person waves", "library": "all"},
     "unknown parameter 'library'"),
    ("generate-conditioning", "generate", {"text": "a person waves", "conditioning": "x"},
     "'conditioning' must be one of 'snap', 'prompt'"),
    ("generate-variations", "generate", {"text": "a person waves", "variations": 99},
     "'variations' must be at most 8"),
    ("search-tiny-seconds", "search", {"text": "walk", "seconds": 0.01},
     "'seconds' must be at least 0.25"),
    ("search-negative-seed", "search", {"text": "walk", "seconds": 2, "seed": -3},
     "'seed' must be at least 0"),
    ("search-top-k-zero", "search", {"text": "walk", "top_k": 0}, "'top_k' must be at least 1"),
    ("search-library-null", "search", {"text": "walk", "library": None},
     "'library' cannot be null"),
    ("edit-unknown-edit", "edit", {"edit": "explode", "clip": _wire_clip()},
     "'edit' must be one of 'inbetween'"),
    ("edit-no-clip", "edit", {"edit": "continue", "seconds": 1}, "missing parameter 'clip'"),
    ("edit-keys-strings", "edit", {"edit": "inbetween", "clip": _wire_clip(),
                                   "keys": ["0", "9"]}, "every item of parameter 'keys'"),
    ("edit-nan-seconds", "edit", {"edit": "continue", "clip": _wire_clip(),
                                  "seconds": math.nan}, "finite numbers"),
    ("edit-zero-seconds", "edit", {"edit": "continue", "clip": _wire_clip(), "seconds": 0},
     "'seconds' must be more than 0"),
    ("edit-negative-start", "edit", {"edit": "regenerate", "clip": _wire_clip(), "start": -1,
                                     "end": 5}, "'start' must be at least 0"),
    ("physics-assistance", "physics", {"clip": _wire_clip(), "assistance": 2},
     "'assistance' must be at most 1"),
    ("physics-nan-gravity", "physics", {"clip": _wire_clip(), "gravity": math.nan},
     "'gravity' must hold only finite numbers"),
    ("physics-pushes-type", "physics", {"clip": _wire_clip(), "pushes": {"frame": 1}},
     "'pushes' must be an array"),
    ("camera-no-subject", "camera", {"shot": "orbit"}, "missing parameter 'subject'"),
    ("camera-shot", "camera", {"subject": SUBJECT, "shot": "zoom"}, "'shot' must be one of"),
    ("camera-alternatives", "camera", {"subject": SUBJECT, "alternatives": 60},
     "'alternatives' must be at most 6"),
    ("story-plan-empty", "story_plan", {"story": ""}, "'story' must be at least 1"),
    ("story-plan-scheduler", "story_plan", {"story": "He walks.", "scheduler": "gpt"},
     "'scheduler' must be one of 'offline', 'llm'"),
    ("story-no-schedule", "story", {"scene": {}}, "missing parameter 'schedule'"),
    ("smplx-gender", "smplx_body", {"folder": "/x", "gender": "other"},
     "'gender' must be one of 'neutral', 'male', 'female'"),
    ("smplx-betas-text", "smplx_body", {"folder": "/x", "betas": ["tall"]},
     "every item of parameter 'betas'"),
    ("amass-no-path", "amass_clip", {}, "missing parameter 'path'"),
    ("sleep-nan", "sleep", {"seconds": math.nan}, "'seconds' must hold only finite numbers"),
]


@pytest.mark.parametrize("name, kind, params, words", JOB_CASES, ids=[c[0] for c in JOB_CASES])
def test_job_parameters_are_refused_with_the_reason(name, kind, params, words):
    assert kind in jobs.JOBS, f"{kind} did not register: {jobs.load_job_modules([])}"
    with pytest.raises(JobError) as e:
        jobs.check_params(kind, params)
    assert e.value.code == ErrorCode.BAD_PARAMS
    assert words in e.value.message, e.value.message
    assert e.value.message.startswith(f"{kind}: ")


def test_every_job_kind_publishes_a_schema():
    published = jobs.CATALOGUE.to_json()
    assert set(published) == set(jobs.JOBS), set(jobs.JOBS) - set(published)
    json.dumps(published, allow_nan=False)         # travels in the hello
    for kind, described in published.items():
        assert described["params"], kind


# ----------------------------------------------------------------------------- commands
GOOD = b"good file the user already had\n"

# (case name, argv after `generate` (OUT: the output path), words on stderr)
CLI_CASES = [
    ("fps-negative", ["--fps", "-30"], "--fps: must be a frame rate above 0"),
    ("fps-nan", ["--fps", "nan"], "--fps: must be a frame rate above 0"),
    ("fps-inf", ["--fps", "inf"], "--fps: must be a frame rate above 0"),
    ("fps-zero", ["--fps", "0"], "--fps: must be a frame rate above 0"),
    ("fps-huge", ["--fps", "1e5"], "at most 240"),
    ("fps-word", ["--fps", "fast"], "--fps: must be a number"),
    ("seed-negative", ["--seed", "-4", "--seconds", "2"], "--seed: must be from 0"),
    ("seed-huge", ["--seed", str(2**64)], "--seed: must be from 0 to 2147483647"),
    ("seconds-nan", ["--seconds", "nan"], "--seconds: must be a finite number"),
    ("seconds-tiny", ["--seconds", "0.01"], "'seconds' must be at least 0.25"),
    ("library-with-generator", ["--model", "starter", "--library", "all"],
     "--library is for --model search"),
    ("out-suffix", ["--out", "{tmp}/motion.fbx"], "--out must end in .bvh or .npz"),
    ("out-folder", ["--out", "{tmp}/folder.bvh"], "is a folder"),
    ("out-read-only-folder", ["--out", "{tmp}/ro/motion.bvh"], "is not writable"),
    ("out-under-a-file", ["--out", "{tmp}/afile/motion.bvh"], "is not writable"),
    ("cache-dir-file", ["--cache-dir", "{tmp}/afile"], "--cache-dir"),
    ("library-missing", ["--library", "{tmp}/nope.npz"], "motion library not found"),
    ("library-truncated", ["--library", "{tmp}/truncated.npz"], "unreadable motion library"),
    ("library-empty-file", ["--library", "{tmp}/empty.npz"], "unreadable motion library"),
    ("library-not-npz", ["--library", "{tmp}/notes.txt"], "library must be 'default', 'all'"),
    ("library-other-format", ["--library", "{tmp}/other.npz"], "not an Anima motion library"),
    ("library-nan", ["--library", "{tmp}/nan.npz"], "hold NaN or infinite values"),
]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    (tmp / "folder.bvh").mkdir()
    (tmp / "ro").mkdir()
    (tmp / "afile").write_bytes(b"x")
    good = LIBRARY.read_bytes()
    (tmp / "truncated.npz").write_bytes(good[: len(good) // 3])
    (tmp / "empty.npz").write_bytes(b"")
    (tmp / "notes.txt").write_text("hello")
    np.savez(tmp / "other.npz", a=np.zeros(3))
    lib = MotionLibrary.load(LIBRARY)
    lib.local_rotations = lib.local_rotations.astype(np.float32)
    lib.local_rotations[lib.entries[0].start + 2, 3] = np.nan
    lib.caption_embeddings = None
    with open(tmp / "nan.npz", "wb") as f:     # written past the checks, as a bug would
        np.savez_compressed(f, format=np.array("anima-library"), version=np.int64(1),
                            entries=np.array(json.dumps([e.__dict__ for e in lib.entries])),
                            local_rotations=lib.local_rotations,
                            root_translation=lib.root_translation)
    return tmp


@pytest.mark.parametrize("name, argv, words", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_generate_command_refuses_before_writing(name, argv, words, bad_files, capsys):
    tmp = bad_files
    out = tmp / f"{name}.bvh"
    out.write_bytes(GOOD)
    argv = [a.format(tmp=tmp) for a in argv]
    full = ["generate", "--text", "a person walks", *argv]
    if "--out" not in argv:
        full += ["--out", str(out)]
    ro = tmp / "ro"
    ro.chmod(0o500)
    try:
        if os.geteuid() == 0 and name == "out-read-only-folder":
            pytest.skip("root may write into read-only folders")
        try:
            code = main(full)
        except SystemExit as e:            # argparse refuses with exit 2
            code = e.code
    finally:
        ro.chmod(0o700)
    err = capsys.readouterr().err
    assert code != 0
    assert words in err, err
    assert "Traceback" not in err
    assert out.read_bytes() == GOOD


def test_bench_refuses_an_unknown_model(capsys):
    assert main(["bench", "text2motion", "--model", "nonexistent", "--repeat", "1"]) == 2
    assert "no text-to-motion checkpoint 'nonexistent'" in capsys.readouterr().out


def test_generate_help_names_the_default_model(capsys):
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    assert "(default: search)" in capsys.readouterr().out


# ----------------------------------------------------------------------------- protocol
PROTOCOL_CASES = [
    ("nested-brackets", b'{"type": "submit", "x": ' + b"[" * 1200 + b"]" * 1200 + b"}",
     "deeper than 32 levels"),
    ("nested-objects", b'{"type": "hello", "a": ' + b'{"a": ' * 40 + b"1" + b"}" * 41,
     "deeper than 32 levels"),
    ("nan-literal", b'{"type": "submit", "job_id": "j", "kind": "sleep", '
                    b'"params": {"seconds": NaN}}', "NaN is not a JSON number"),
    ("infinity-literal", b'{"type": "submit", "job_id": "j", "kind": "sleep", '
                         b'"params": {"seconds": -Infinity}}', "-Infinity is not a JSON number"),
    ("not-utf8", b'{"type": "\xff"}', "not valid UTF-8"),
    ("array-message", b"[1, 2]", "must be a JSON object"),
    ("job-id-traversal", b'{"type": "submit", "job_id": "../../etc", "kind": "sleep", '
                         b'"params": {}}', "must be a job id"),
]


@pytest.mark.parametrize("name, line, words", PROTOCOL_CASES,
                         ids=[c[0] for c in PROTOCOL_CASES])
def test_protocol_refuses_with_the_reason(name, line, words):
    with pytest.raises(ProtocolError) as e:
        protocol.decode(line, CLIENT_TO_SERVER)
    assert words in str(e.value)


# ----------------------------------------------------------------------------- files
def test_a_nan_clip_never_leaves_the_backend(tmp_path):
    rotations = np.zeros((5, len(CANONICAL), 4))
    rotations[..., 0] = 1.0
    rotations[2, 0] = np.nan
    ctx = jobs.JobContext("j", tmp_path)
    with pytest.raises(ValueError, match="non-finite rotations"):
        ctx.save_clip(Clip(rotations, np.zeros((5, 3)), 30.0), "clip")
    assert not list((tmp_path / "jobs" / "j").glob("*.npz"))


def test_library_loading_names_the_file(bad_files):
    for name, words in (("truncated.npz", "unreadable motion library"),
                        ("nan.npz", "hold NaN or infinite values")):
        with pytest.raises(LibraryError) as e:
            MotionLibrary.load(bad_files / name)
        assert words in str(e.value) and name in str(e.value)


# ----------------------------------------------------------------------------- remote clients
REMOTE_CASES = [
    ("remote-library-path", "search", {"text": "walk", "library": "/etc/other.npz"}, "library"),
    ("remote-model-path", "generate", {"text": "a person waves", "model": "/srv/x.pt"}, "model"),
    ("remote-geometry-path", "camera", {"subject": SUBJECT, "geometry": {"path": "/etc/a.npz"}},
     "geometry.path"),
    ("remote-amass-path", "amass_clip", {"path": "../../etc/a.npz"}, "path"),
    ("remote-smplx-folder", "smplx_body", {"folder": "/home"}, "folder"),
]


@pytest.mark.parametrize("name, kind, params, what", REMOTE_CASES,
                         ids=[c[0] for c in REMOTE_CASES])
def test_a_remote_client_cannot_name_server_files(name, kind, params, what, tmp_path):
    ctx = jobs.JobContext("remote", tmp_path, trusted=False)
    with pytest.raises(JobError) as e:
        jobs.JOBS[kind](dict(params), ctx)
    assert e.value.code == ErrorCode.BAD_PARAMS
    assert e.value.message.startswith(f"{what}: a remote client cannot name files on the "
                                      f"server"), e.value.message
