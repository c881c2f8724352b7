"""Fuzzing job parameters (hypothesis, derandomized) against ONE real backend process.

For every job kind whose schema the server publishes (``hello["jobs"][kind]["params"]``):
- values generated from the schema are accepted and the job ends with a result (or a clear,
  non-``job_failed`` error such as a prompt the checker refuses);
- values outside it (infinity, out-of-range and huge numbers, wrong types, strings and lists
  too long, values outside ``choices``, nulls where not allowed, nested junk, unknown names)
  get ``bad_params`` with a message naming the parameter, never ``job_failed``.
NaN cannot travel in strict JSON (the protocol refuses it), so NaN is checked in-process on
``jobs.check_params`` with the same schemas.

Kinds without a published schema get junk for the parameters their job reads: the answer may
be a result or any clear error, but never ``job_failed`` with a traceback. Costly kinds
(generate, story, physics, camera ...) get few cases.
"""
from __future__ import annotations

import importlib.util
import json
import math
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from backend import jobs, params
from backend.protocol import ErrorCode, MessageType

_spec = importlib.util.spec_from_file_location(
    "fuzz_protocol_helpers", Path(__file__).with_name("test_fuzz_protocol.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
RawBackend = _helpers.RawBackend

BASE = settings(derandomize=True, deadline=None, database=None, print_blob=True,
                suppress_health_check=list(HealthCheck))
CASES = {"count": 0, "jobs": 0}
INF = "__fuzz_infinity__"          # replaced by the JSON number 1e999 (parsed as infinity)
NEG_INF = "__fuzz_minus_infinity__"
CHEAP_KINDS = {"sleep", "search", "story_plan", "amass_clip", "smplx_body"}
# valid values are kept cheap: the most a generated valid value may be, per parameter name
CHEAP_LIMITS = {"seconds": 0.05, "steps": 3, "variations": 1, "alternatives": 1, "top_k": 2}
FIXED_VALID = {"sleep": {"fail": False}}          # `fail: true` fails on purpose
# parameters the jobs without a published schema read (backend/models/*/job.py)
JOB_PARAMS = {
    "search": ("text", "seconds", "seed", "top_k", "library"),
    "generate": ("text", "seconds", "seed", "variations", "model", "guidance", "steps",
                 "conditioning"),
    "smplx_body": ("folder", "gender", "betas"),
    "amass_clip": ("path", "folder"),
    "edit": ("edit", "clip", "text", "seed", "model", "steps", "guidance", "keys", "method",
             "start", "end", "seconds", "parts"),
    "story_plan": ("story", "scene", "scheduler", "llm", "allow_online", "model"),
    "story": ("schedule", "scene", "seed", "steps", "guidance", "model"),
    "physics": ("clip", "start", "end", "pushes"),
    "camera": ("geometry", "subject", "shot", "options", "alternatives", "seed"),
}
ANSWER_TIMEOUT_S = 20.0


def fuzz(examples: int, shrink: bool = True) -> settings:
    """Reproducible settings; tests that wait on the backend do not shrink a failure (each
    try may wait ANSWER_TIMEOUT_S): they report the first failing example as found."""
    phases = list(Phase) if shrink else [Phase.explicit, Phase.reuse, Phase.generate]
    return settings(BASE, max_examples=examples, phases=phases)


# strings Python holds but UTF-8 cannot encode: a JSON "\udc80" escape arrives as one
texts = st.one_of(st.text(max_size=30), st.tuples(
    st.text(max_size=10), st.sampled_from(["\ud800", "\udc80", "a\udfff"])).map("".join))


def tick() -> None:
    CASES["count"] += 1


@pytest.fixture(scope="module", autouse=True)
def report_count():
    yield
    print(f"\nfuzz cases in {Path(__file__).name}: {CASES['count']} "
          f"({CASES['jobs']} sent to the backend)")


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    b = RawBackend(tmp_path_factory.mktemp("fuzz-params"))
    b.hello_msg = b.hello()
    yield b
    assert b.close() == 0, b.log_tail()


@pytest.fixture(scope="module")
def schemas(backend) -> dict[str, dict[str, params.Spec]]:
    published = backend.hello_msg.get("jobs") or {}
    assert "sleep" in published, "the server publishes no parameter schema for 'sleep'"
    return {kind: params.from_json(d) for kind, d in published.items()}


def submit(backend: RawBackend, kind: str, values: dict) -> list[dict]:
    """Send one job (``INF`` markers become 1e999) and return its messages to the end."""
    CASES["jobs"] += 1
    job_id = f"p{CASES['jobs']}"
    body = json.dumps({"type": "submit", "job_id": job_id, "kind": kind, "params": values})
    backend.send(with_infinities(body).encode() + b"\n")
    out = []
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while True:
        msg = backend.next_message(max(0.0, deadline - time.monotonic()))
        assert msg is not None, f"the backend died on {kind} {values!r:.300}:\n" \
                                f"{backend.log_tail()}"
        if msg.get("job_id") != job_id:
            # a line the server could not read at all is answered without a job id
            assert msg["type"] != MessageType.ERROR or msg["job_id"] is not None, (values, msg)
            continue
        out.append(msg)
        if msg["type"] in (MessageType.RESULT, MessageType.ERROR, MessageType.CANCELLED):
            return out


def with_infinities(text: str) -> str:
    """JSON text with the infinity markers turned into numbers that parse as +-infinity."""
    return text.replace(json.dumps(INF), "1e999").replace(json.dumps(NEG_INF), "-1e999")


# ============================================================================ strategies
def _number_bounds(name: str, spec: params.Spec, cheap: bool):
    low = spec.min if spec.min is not None else -1e6
    high = spec.max if spec.max is not None else 1e6
    if cheap and name in CHEAP_LIMITS:
        high = min(high, max(low, CHEAP_LIMITS[name]))
    return low, high


def valid_value(name: str, spec: params.Spec, cheap: bool = True):
    """A strategy of values ``spec`` accepts."""
    if spec.choices is not None:
        return st.sampled_from(list(spec.choices))
    if spec.type == "boolean":
        return st.booleans()
    if spec.type in ("number", "integer"):
        low, high = _number_bounds(name, spec, cheap)
        if spec.type == "integer":
            return st.integers(math.ceil(low), math.floor(high))
        floats = st.floats(low, high, allow_nan=False, allow_infinity=False)
        return floats.filter(lambda v: v > low) if spec.exclusive_min else floats
    if spec.type == "string":
        low = int(spec.min or 0)
        high = max(low, min(int(spec.max or 40), 40))
        return st.text(min_size=low, max_size=high)       # valid UTF-8 (no lone surrogates)
    if spec.type == "array":
        item = {"number": st.floats(-10, 10), "integer": st.integers(-10, 10),
                "string": st.text(max_size=5), "object": st.dictionaries(
                    st.text(max_size=4), st.integers(), max_size=2),
                "array": st.lists(st.floats(-10, 10), max_size=3)}.get(spec.items or "",
                                                                       st.integers())
        low = int(spec.min or 0)
        return st.lists(item, min_size=low, max_size=max(low, min(int(spec.max or 4), 4)))
    return st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)


def _wrong_type(spec: params.Spec):
    others = {"number": st.one_of(st.text(max_size=5), st.booleans(), st.lists(st.integers(),
                                                                                 max_size=2)),
              "integer": st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                                   st.text(max_size=5), st.booleans()),
              "string": st.one_of(st.integers(), st.booleans(), st.lists(st.text(max_size=3),
                                                                          max_size=2)),
              "boolean": st.one_of(st.integers(0, 1), st.text(max_size=5)),
              "array": st.one_of(st.text(max_size=5), st.integers(), st.dictionaries(
                  st.text(max_size=3), st.integers(), max_size=2)),
              "object": st.one_of(st.lists(st.integers(), max_size=3), st.text(max_size=5))}
    return others[spec.type]


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def invalid_value(name: str, spec: params.Spec):
    """A strategy of values ``spec`` refuses (sent over the wire)."""
    options = [_wrong_type(spec), st.just(INF),
               st.lists(st.just(INF), min_size=1, max_size=2).map(lambda v: {"x": v})]
    if spec.type in ("number", "integer"):
        options.append(st.just(NEG_INF))
        if spec.max is not None:
            options.append(st.integers(int(spec.max) + 1, 10**40))
            options.append(st.floats(spec.max, 1e300, allow_nan=False).filter(
                lambda v: v > spec.max))
        if spec.min is not None:
            options.append(st.integers(-10**40, math.ceil(spec.min) - 1))
            if spec.exclusive_min:
                options.append(st.just(spec.min))
    if spec.type == "string" and spec.max is not None:
        options.append(st.integers(int(spec.max) + 1, int(spec.max) + 50).map(lambda n: "a" * n))
    if spec.type == "string":
        options.append(st.just("a" * (params.MAX_STRING_CHARS + 1)))
        options.append(texts.filter(lambda t: not _utf8(t)))   # a lone surrogate
    if spec.type == "array" and spec.max is not None:
        options.append(st.lists(st.integers(), min_size=int(spec.max) + 1,
                                max_size=int(spec.max) + 3))
    if spec.type == "array" and spec.items in ("number", "integer"):
        options.append(st.lists(st.text(max_size=3), min_size=1, max_size=3))
    if spec.choices is not None:
        options.append(st.text(max_size=10).filter(lambda v: v not in spec.choices))
    if not spec.nullable:
        options.append(st.none())
    return st.one_of(options)


junk = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-10**40, 10**40),
                              st.floats(allow_nan=False, allow_infinity=False),
                              texts, st.just(INF)),
                    lambda inner: st.one_of(st.lists(inner, max_size=4),
                                            st.dictionaries(st.text(max_size=6), inner,
                                                            max_size=4)), max_leaves=10)


@st.composite
def valid_params(draw, kind: str, schema: dict):
    out = {}
    for name, spec in schema.items():
        if name in FIXED_VALID.get(kind, {}):
            out[name] = FIXED_VALID[kind][name]
        elif spec.required or name in CHEAP_LIMITS or draw(st.booleans()):
            # cost-bounding parameters are always given: their defaults may be slow
            out[name] = draw(valid_value(name, spec, cheap=True))
    return out


@st.composite
def one_bad_param(draw, kind: str, schema: dict):
    """(params, the name the error must mention): valid params with one bad value or one
    unknown name."""
    good = draw(valid_params(kind, schema))
    if draw(st.integers(0, 5)) == 0:
        name = draw(st.text(min_size=1, max_size=12).filter(lambda n: n not in schema))
        good[name] = draw(junk)
        return good, name
    name = draw(st.sampled_from(sorted(schema)))
    good[name] = draw(invalid_value(name, schema[name]))
    return good, name


def _terminal(msgs: list[dict]) -> dict:
    return msgs[-1]


# ============================================================================ published schemas
@fuzz(700, shrink=False)
@given(st.data())
def test_values_outside_a_published_schema_get_bad_params_naming_it(backend, schemas, data):
    tick()
    kind = data.draw(st.sampled_from(sorted(schemas)))
    values, name = data.draw(one_bad_param(kind, schemas[kind]))
    last = _terminal(submit(backend, kind, values))
    assert last["type"] == MessageType.ERROR, (kind, values, last)
    assert last["code"] == ErrorCode.BAD_PARAMS, (kind, values, last)
    assert repr(name) in last["message"] and last["traceback"] == "", (name, last["message"])


@fuzz(250, shrink=False)
@given(st.data())
def test_values_from_a_published_schema_run(backend, schemas, data):
    tick()
    kind = data.draw(st.sampled_from(sorted(schemas)))
    if kind not in CHEAP_KINDS and data.draw(st.integers(0, 19)) != 0:
        kind = "sleep"                   # costly kinds: about one case in twenty
    values = data.draw(valid_params(kind, schemas[kind]))
    msgs = submit(backend, kind, values)
    assert msgs[0]["type"] == MessageType.ACCEPTED, (kind, values, msgs[0])
    last = msgs[-1]
    assert last["type"] == MessageType.RESULT or (
        last["type"] == MessageType.ERROR and last["code"] != ErrorCode.JOB_FAILED), \
        (kind, values, last)


@fuzz(1200)
@given(st.data())
def test_nan_and_junk_in_process_is_bad_params(schemas, data):
    """The server's own check (jobs.check_params) with values JSON cannot carry (NaN)."""
    tick()
    kind = data.draw(st.sampled_from(sorted(schemas)))
    local = jobs.CATALOGUE.schemas.get(kind)
    if local is None:
        jobs.load_job_modules(jobs.JOB_MODULES)
        local = jobs.CATALOGUE.schemas[kind]
    assert local.keys() == schemas[kind].keys()
    values, name = data.draw(one_bad_param(kind, local))
    nan = data.draw(st.sampled_from([math.nan, [1.0, math.nan], {"a": math.nan}, -math.inf]))
    if data.draw(st.booleans()) and name in local:
        values[name] = nan
    values = json.loads(with_infinities(json.dumps(values)))
    with pytest.raises(jobs.JobError) as err:
        jobs.check_params(kind, values)
    assert err.value.code == ErrorCode.BAD_PARAMS and repr(name) in err.value.message


# ============================================================================ the other kinds
@fuzz(120, shrink=False)
@given(st.data())
def test_junk_for_kinds_without_a_schema_never_fails_with_a_traceback(backend, schemas, data):
    tick()
    offered = set(backend.hello_msg["capabilities"]) - set(schemas)
    kinds = sorted(offered & set(JOB_PARAMS))
    if not kinds:
        return
    kind = data.draw(st.sampled_from(kinds))
    if kind not in CHEAP_KINDS and data.draw(st.integers(0, 3)) != 0:
        kind = data.draw(st.sampled_from(sorted(set(kinds) & CHEAP_KINDS) or kinds))
    names = JOB_PARAMS[kind]
    values = data.draw(st.dictionaries(st.sampled_from(names) | st.text(max_size=8), junk,
                                       min_size=1, max_size=4))
    last = _terminal(submit(backend, kind, values))
    assert not (last["type"] == MessageType.ERROR and last["code"] == ErrorCode.JOB_FAILED), \
        f"{kind} {values!r:.300} -> job_failed: {last['message']}\n{last['traceback'][-1500:]}"


@pytest.mark.parametrize("kind, values", [
    ("search", {"text": "a person walks \udc80", "seconds": 2.0}),
    ("generate", {"text": "a person walks \ud800", "seconds": 1.0, "steps": 2, "seed": 1}),
    ("story_plan", {"story": "A man walks to the door \udc80."}),
])
def test_a_prompt_utf8_cannot_carry_is_bad_params(backend, kind, values):
    """A lone surrogate (JSON escape "\\udc80") in a prompt: refused as bad_params, not a
    tokenizer traceback (search) nor a result the server cannot encode (generate: the
    client then never hears of the job)."""
    last = _terminal(submit(backend, kind, values))
    assert last["type"] == MessageType.ERROR and last["code"] == ErrorCode.BAD_PARAMS, last


def test_backend_still_serves_after_the_fuzzing(backend):
    msgs = submit(backend, "sleep", {"seconds": 0.05, "steps": 2, "artifact": True})
    assert msgs[-1]["type"] == MessageType.RESULT, msgs[-1]
    assert Path(msgs[-1]["result"]["artifacts"]["clip"]).is_file()
