""""Use existing Python": check an interpreter the user already has, in a subprocess.

STANDARD LIBRARY ONLY.

    report = check_python("/usr/bin/python3.11")
    report.ok                   # True when the backend can run there
    report.missing              # ["numpy<2 (installed: 2.1.0)", "mujoco (not installed)", ...]
    report.fix_commands         # the pip command lines that install what is missing
    report.summary()            # one paragraph for the preferences
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .plan import (ADDON_DIR, REQUIREMENTS_NAME, SUPPORTED_PYTHONS, TORCH_SPEC,
                   detect_torch_variant, normalise, parse_requirements, supported_text,
                   torch_index_url)

PROBE_TIMEOUT_S = 180.0        # importing torch, scipy and mujoco the first time is slow

# Runs in the checked interpreter: import each package, report versions and torch's device.
_PROBE = r"""
import importlib, importlib.metadata as md, json, sys
out = {"version": list(sys.version_info[:3]), "executable": sys.executable, "packages": {}}
for dist, module in json.loads(sys.argv[1]):
    entry = {}
    try:
        entry["version"] = md.version(dist)
    except Exception as e:
        entry["version"] = None
    try:
        mod = importlib.import_module(module)
        if module == "torch":
            entry["cuda"] = bool(mod.cuda.is_available())
            mps = getattr(getattr(mod, "backends", None), "mps", None)
            entry["mps"] = bool(mps is not None and mps.is_available())
            entry["cuda_build"] = getattr(mod.version, "cuda", None)
    except Exception as e:
        entry["error"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
    out["packages"][dist] = entry
print("ANIMA-PROBE " + json.dumps(out))
"""


@dataclass
class ProbeReport:
    python: str
    version: tuple[int, ...] = ()
    packages: dict = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    fix_commands: list[str] = field(default_factory=list)
    device: str = ""                     # cuda | mps | cpu, when torch imports
    error: str = ""                      # the interpreter itself is unusable

    @property
    def ok(self) -> bool:
        return not self.error and not self.missing

    def summary(self) -> str:
        if self.error:
            return self.error
        head = f"Python {'.'.join(map(str, self.version))}"
        if self.ok:
            return f"{head}: everything the backend needs is installed (torch device {self.device})"
        return (f"{head}: missing {'; '.join(self.missing)}. Fix: "
                + " && ".join(self.fix_commands))


def import_name(dist: str) -> str:
    return normalise(dist).replace("-", "_")


def check_python(python: str, requirements: str | os.PathLike = ADDON_DIR / REQUIREMENTS_NAME,
                 torch_spec: str = TORCH_SPEC, variant: str = "") -> ProbeReport:
    """Check `python` for the backend: version, torch (and its device) and every package of
    the requirements file, each with its version constraint."""
    report = ProbeReport(python)
    if not python or not os.path.isfile(python):
        report.error = f"No Python interpreter at {python!r}"
        return report
    wanted = [("torch", torch_spec[len("torch"):])] + parse_requirements(requirements)
    listing = json.dumps([[dist, import_name(dist)] for dist, _ in wanted])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
    try:
        out = subprocess.run([python, "-c", _PROBE, listing], capture_output=True, text=True,
                             timeout=PROBE_TIMEOUT_S, env=env, cwd=str(Path(python).parent))
    except (OSError, subprocess.TimeoutExpired) as e:
        report.error = f"{python} could not be run: {e}"
        return report
    line = next((l for l in out.stdout.splitlines() if l.startswith("ANIMA-PROBE ")), None)
    if line is None:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        report.error = (f"{python} is not a Python the check can run (exit status "
                        f"{out.returncode}: {tail})")
        return report
    data = json.loads(line[len("ANIMA-PROBE "):])
    report.version = tuple(data["version"])
    report.packages = data["packages"]
    if report.version[:2] not in SUPPORTED_PYTHONS:
        report.error = (f"{python} is Python {'.'.join(map(str, report.version))}; the "
                        f"backend needs Python {supported_text()}")
        return report
    need_torch, need_other = [], []
    for dist, spec in wanted:
        entry = report.packages.get(dist, {})
        problem = _problem(entry, spec)
        if problem:
            report.missing.append(f"{dist}{spec} ({problem})")
            (need_torch if dist == "torch" else need_other).append(dist + spec)
    torch = report.packages.get("torch", {})
    if "error" not in torch and torch.get("version"):
        report.device = "cuda" if torch.get("cuda") else "mps" if torch.get("mps") else "cpu"
    quoted = f'"{python}"' if " " in python else python
    if need_torch:
        index = torch_index_url(variant or detect_torch_variant())
        report.fix_commands.append(f'{quoted} -m pip install "{need_torch[0]}"'
                                   + (f" --index-url {index}" if index else ""))
    if need_other:
        report.fix_commands.append(f"{quoted} -m pip install "
                                   + " ".join(f'"{r}"' for r in need_other))
    return report


def _problem(entry: dict, spec: str) -> str:
    """Why an installed package does not do ("" when it does)."""
    if not entry or entry.get("version") is None:
        return "not installed" if not entry.get("error") else f"cannot import: {entry['error']}"
    if entry.get("error"):
        return f"installed {entry['version']} but cannot import: {entry['error']}"
    if spec and not satisfies(entry["version"], spec):
        return f"installed: {entry['version']}"
    return ""


def _release(version: str) -> tuple[int, ...]:
    """Numeric release part of a version ("2.13.0+cpu" -> (2, 13, 0))."""
    parts = []
    for piece in re.split(r"[.+]", version):
        m = re.match(r"\d+", piece)
        if not m:
            break
        parts.append(int(m.group()))
    return tuple(parts)


def satisfies(version: str, spec: str) -> bool:
    """`version` meets a comma-separated specifier like "<2", "==0.1.28", ">=1.2,!=1.3"."""
    have = _release(version)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        m = re.match(r"(==|!=|<=|>=|<|>|~=)\s*(.+)", clause)
        if not m:
            continue
        op, want = m.group(1), _release(m.group(2))
        width = max(len(have), len(want))
        a, b = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
        if op == "~=":
            ok = a >= b and a[:len(want) - 1] == want[:-1]
        else:
            ok = {"==": a == b, "!=": a != b, "<=": a <= b, ">=": a >= b, "<": a < b,
                  ">": a > b}[op]
        if not ok:
            return False
    return True
