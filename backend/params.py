"""Job parameter schemas: one per job kind, used by the server, the command line and the add-on.

STANDARD LIBRARY ONLY (imported inside Blender's Python).

A schema is a dict ``{name: Spec}``; ``describe`` turns it into the JSON the server publishes in
its hello (``hello["jobs"][kind]["params"]``), and ``from_json`` reads it back on the client, so
both sides check a request with the same code (``check``):

    {"seconds": {"type": "number", "min": 0.5, "max": 30, "default": null, "doc": "..."}, ...}

Rules every schema gets for free: numbers must be finite (NaN and infinity are refused, not
compared), integers are not booleans, strings have a length limit, lists have an item type and
a length limit, unknown parameter names are refused (a typo must not be silently ignored), and
a value of ``None`` means "use the default" only where the spec says ``nullable``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

TYPES = ("number", "integer", "string", "boolean", "array", "object")
MAX_STRING_CHARS = 20_000          # any string parameter, unless its spec says less
MAX_ARRAY_ITEMS = 100_000
MAX_OBJECT_KEYS = 1_000
_MISSING = object()


class ParamError(ValueError):
    """A parameter is missing, of the wrong type, out of range or unknown. The message names
    the job kind, the parameter, what was expected and what came."""


@dataclass(frozen=True)
class Spec:
    """One parameter.

    type: one of ``TYPES``. ``min`` / ``max``: inclusive bounds of a number or integer, or the
    length bounds of a string / array. ``choices``: the allowed values. ``items``: the type of
    array items (``"number"``, ``"string"``, ``"integer"``, ``"object"``, or ``"array"``:
    nested number arrays such as a list of points). ``exclusive_min``: the bound itself is
    refused (``seconds > 0``)."""
    type: str
    doc: str = ""
    default: Any = None
    required: bool = False
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    exclusive_min: bool = False
    choices: tuple | None = None
    items: str | None = None

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"unknown parameter type {self.type!r}; one of {TYPES}")

    def to_json(self) -> dict:
        out: dict[str, Any] = {"type": self.type, "doc": self.doc, "required": self.required,
                               "nullable": self.nullable, "default": self.default}
        for key in ("min", "max", "items"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.exclusive_min:
            out["exclusive_min"] = True
        if self.choices is not None:
            out["choices"] = list(self.choices)
        return out


Schema = Mapping[str, Spec]


def describe(schema: Schema, doc: str = "") -> dict:
    """The JSON form of a schema, as published in the server's hello."""
    return {"doc": doc, "params": {name: spec.to_json() for name, spec in schema.items()}}


def from_json(described: Mapping[str, Any]) -> dict[str, Spec]:
    """Read back a published schema (``describe``'s output)."""
    out = {}
    for name, d in dict(described.get("params", {})).items():
        out[name] = Spec(d["type"], d.get("doc", ""), d.get("default"), bool(d.get("required")),
                         bool(d.get("nullable", True)), d.get("min"), d.get("max"),
                         bool(d.get("exclusive_min")),
                         tuple(d["choices"]) if d.get("choices") is not None else None,
                         d.get("items"))
    return out


# ----------------------------------------------------------------------------- checking
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return _is_int(v) or isinstance(v, float)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _finite_numbers(value: Any, depth: int = 0) -> bool:
    """True if every number inside ``value`` (nested lists / dicts) is finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    if depth > 32:
        return False
    if isinstance(value, (list, tuple)):
        return all(_finite_numbers(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(_finite_numbers(v, depth + 1) for v in value.values())
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _check_type(kind: str, name: str, value: Any, spec_type: str) -> None:
    ok = {"number": _is_number(value),
          "integer": _is_int(value),
          "string": isinstance(value, str),
          "boolean": isinstance(value, bool),
          "array": isinstance(value, (list, tuple)),
          "object": isinstance(value, dict)}[spec_type]
    if not ok:
        article = "an" if spec_type[0] in "aeiou" else "a"
        raise ParamError(f"{kind}: parameter {name!r} must be {article} {spec_type}, got "
                         f"{type(value).__name__} {_show(value)}")
    if isinstance(value, str) and not _encodable(value):
        raise ParamError(f"{kind}: parameter {name!r} holds characters that are not text "
                         f"(a lone surrogate such as \\ud800); send it as valid UTF-8")
    if not _finite_numbers(value):
        raise ParamError(f"{kind}: parameter {name!r} must hold only finite numbers (no NaN or "
                         f"infinity), got {_show(value)}")


def _num(x: float) -> str:
    """A bound as people write it: 2147483647, 0.25, 60."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _check_bounds(kind: str, name: str, value: Any, spec: Spec) -> None:
    if spec.type in ("number", "integer"):
        measure, unit, shown = value, "", _show(value)
    elif spec.type in ("string", "array"):
        measure = len(value)
        unit = " characters long" if spec.type == "string" else " items long"
        shown = f"{measure}"
    else:
        return
    if spec.min is not None and (measure <= spec.min if spec.exclusive_min
                                 else measure < spec.min):
        relation = "more than" if spec.exclusive_min else "at least"
        raise ParamError(f"{kind}: parameter {name!r} must be {relation} {_num(spec.min)}"
                         f"{unit}, got {shown}")
    if spec.max is not None and measure > spec.max:
        raise ParamError(f"{kind}: parameter {name!r} must be at most {_num(spec.max)}{unit}, "
                         f"got {shown}")


def _check_items(kind: str, name: str, value: list, items: str) -> None:
    for i, item in enumerate(value):
        try:
            if items == "array":
                _check_type(kind, f"{name}[{i}]", item, "array")
            else:
                _check_type(kind, f"{name}[{i}]", item, items)
        except ParamError:
            raise ParamError(f"{kind}: every item of parameter {name!r} must be "
                             f"{'an' if items[0] in 'aeiou' else 'a'} {items}; item {i} is "
                             f"{type(item).__name__} {_show(item)}") from None


def check(kind: str, schema: Schema, params: Mapping[str, Any]) -> dict:
    """``params`` checked against ``schema``; returns a new dict with defaults filled in.

    Raises ``ParamError`` with a message for the user (job kind, parameter, expectation)."""
    if not isinstance(params, Mapping):
        raise ParamError(f"{kind}: parameters must be an object, got {type(params).__name__}")
    unknown = sorted(set(params) - set(schema))
    if unknown:
        raise ParamError(f"{kind}: unknown parameter {unknown[0]!r}; this job takes "
                         f"{', '.join(sorted(schema)) or 'no parameters'}")
    out: dict[str, Any] = {}
    for name, spec in schema.items():
        value = params.get(name, _MISSING)
        if value is _MISSING or (value is None and spec.nullable):
            if spec.required:
                raise ParamError(f"{kind}: missing parameter {name!r} ({spec.doc or spec.type})")
            out[name] = spec.default
            continue
        if value is None:
            raise ParamError(f"{kind}: parameter {name!r} cannot be null")
        _check_type(kind, name, value, spec.type)
        if spec.type == "string" and len(value) > MAX_STRING_CHARS:
            raise ParamError(f"{kind}: parameter {name!r} is {len(value)} characters long; at "
                             f"most {MAX_STRING_CHARS}")
        if spec.type == "array" and len(value) > MAX_ARRAY_ITEMS:
            raise ParamError(f"{kind}: parameter {name!r} has {len(value)} items; at most "
                             f"{MAX_ARRAY_ITEMS}")
        if spec.type == "object" and len(value) > MAX_OBJECT_KEYS:
            raise ParamError(f"{kind}: parameter {name!r} has {len(value)} keys; at most "
                             f"{MAX_OBJECT_KEYS}")
        _check_bounds(kind, name, value, spec)
        if spec.choices is not None and value not in spec.choices:
            raise ParamError(f"{kind}: parameter {name!r} must be one of "
                             f"{', '.join(map(repr, spec.choices))}; got {_show(value)}")
        if spec.type == "array" and spec.items is not None:
            _check_items(kind, name, value, spec.items)
        out[name] = value
    return out


def merge(*schemas: Iterable[tuple[str, Spec]] | Schema) -> dict[str, Spec]:
    """One schema from several (later ones win): shared parameter groups stay in one place."""
    out: dict[str, Spec] = {}
    for schema in schemas:
        out.update(dict(schema))
    return out


@dataclass
class Catalogue:
    """Schemas of every registered job kind, with a line of documentation each."""
    schemas: dict[str, dict[str, Spec]] = field(default_factory=dict)
    docs: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, schema: Schema, doc: str = "") -> None:
        self.schemas[kind] = dict(schema)
        self.docs[kind] = doc

    def to_json(self) -> dict:
        return {kind: describe(schema, self.docs.get(kind, ""))
                for kind, schema in sorted(self.schemas.items())}

    def check(self, kind: str, params: Mapping[str, Any]) -> dict:
        if kind not in self.schemas:
            return dict(params)
        return check(kind, self.schemas[kind], params)
