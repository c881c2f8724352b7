"""`python -m backend bench soak`: 1,000 mixed jobs against ONE stdio backend, looking for leaks.

The mix (fixed order from a seeded RNG, so two runs do the same work): quick ``sleep`` jobs with
and without an artifact, library ``search``, a small ``generate`` (2 sampling steps), requests
the server must refuse with ``bad_params``, and ``sleep`` jobs cancelled while they run.

Measured on the backend process (Linux ``/proc``):
  rss_growth      resident memory at the end / after a 100-job warm-up, minus 1 (VmRSS)
  leaked_threads  threads at the end minus threads after the warm-up (/proc/<pid>/task)
  leaked_files    files in the cache dir that are neither an artifact a result listed nor
                  the backend's log (temporary files, partial writes ...)
  jobs, failed    jobs run, and jobs whose outcome was not the expected one
The last printed line is ``rss_growth=... leaked_files=... jobs=...``.
"""
from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .client import LOG_NAME, BackendClient, BackendError
from .protocol import ErrorCode

TOTAL_JOBS = 1000
WARMUP_JOBS = 100
SEED = 1013
PROMPTS = ("a person walks forward", "a person jumps in place", "someone waves with the right "
           "hand", "a person sits down", "a man runs in a circle", "a person turns around")
# (kind of test, weight): what the soak submits, in these proportions
MIX = (("sleep", 40), ("sleep_artifact", 20), ("search", 15), ("generate", 5),
       ("bad_params", 10), ("cancel", 10))
CANCEL_AFTER_S = 0.02          # a cancelled sleep is cancelled this long after it was sent
JOB_TIMEOUT_S = 120.0


def read_rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB (``VmRSS`` of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no VmRSS line")


def count_threads(pid: int) -> int:
    """Threads of a process (entries of /proc/<pid>/task)."""
    return len(os.listdir(f"/proc/{pid}/task"))


def files_under(folder: Path) -> set[Path]:
    """Every regular file below ``folder`` (resolved paths)."""
    return {p.resolve() for p in folder.rglob("*") if p.is_file()}


def plan_jobs(total: int, seed: int = SEED) -> list[str]:
    """The kind of each soak job, in order (weights of ``MIX``)."""
    rng = random.Random(seed)
    kinds, weights = zip(*MIX)
    return rng.choices(kinds, weights=weights, k=total)


def _request(what: str, index: int) -> tuple[str, dict]:
    prompt = PROMPTS[index % len(PROMPTS)]
    if what == "sleep":
        return "sleep", {"seconds": 0.0, "steps": 1 + index % 3}
    if what == "sleep_artifact":
        return "sleep", {"seconds": 0.0, "steps": 2 + index % 5, "artifact": True}
    if what == "search":
        return "search", {"text": prompt, "seconds": 2.0, "top_k": 2, "seed": index}
    if what == "generate":
        return "generate", {"text": prompt, "seconds": 1.0, "steps": 2, "seed": index}
    if what == "bad_params":
        bad = ({"seconds": -1.0}, {"steps": 0}, {"colour": "red"}, {"artifact": "yes"})
        return "sleep", bad[index % len(bad)]
    if what == "cancel":
        return "sleep", {"seconds": 30.0, "steps": 300}
    raise ValueError(f"unknown soak job {what!r}")


def run_one(client: BackendClient, what: str, index: int) -> tuple[bool, list[str]]:
    """Run one soak job; returns (outcome as expected, artifact paths the result listed)."""
    kind, params = _request(what, index)
    try:
        job_id = client.submit(kind, params)
        if what == "cancel":
            time.sleep(CANCEL_AFTER_S)
            client.cancel(job_id)
        result = client.wait(job_id, timeout=JOB_TIMEOUT_S)
    except BackendError as e:
        expected = {"bad_params": ErrorCode.BAD_PARAMS, "cancel": ErrorCode.CANCELLED}.get(what)
        return e.code == expected, []
    artifacts = [str(p) for p in (result.get("artifacts") or {}).values()]
    return what not in ("bad_params", "cancel"), artifacts


def soak(total: int = TOTAL_JOBS, warmup: int = WARMUP_JOBS, python: str = sys.executable,
         cache_dir: str | os.PathLike | None = None, log=print) -> dict[str, Any]:
    """Run the soak (see the module docstring) and return its figures."""
    if total <= warmup:
        raise ValueError(f"the soak needs more jobs ({total}) than its warm-up ({warmup})")
    with tempfile.TemporaryDirectory(prefix="anima-soak-") as tmp:
        cache = Path(cache_dir) if cache_dir is not None else Path(tmp)
        started = time.monotonic()
        client = BackendClient.spawn(python, cache, device="cpu")
        try:
            pid = client.process.pid
            kept: set[Path] = set()
            failed, counts = 0, {}
            rss_start = threads_start = 0
            for index, what in enumerate(plan_jobs(total)):
                if index == warmup:
                    rss_start, threads_start = read_rss_kib(pid), count_threads(pid)
                ok, artifacts = run_one(client, what, index)
                failed += not ok
                counts[what] = counts.get(what, 0) + 1
                kept.update(Path(a).resolve() for a in artifacts)
                if (index + 1) % 100 == 0:
                    log(f"soak: {index + 1}/{total} jobs, {failed} failed, "
                        f"rss {read_rss_kib(pid) / 1024:.1f} MiB, {count_threads(pid)} threads",
                        file=sys.stderr)
            time.sleep(0.2)                   # let the last job's thread work settle
            rss_end, threads_end = read_rss_kib(pid), count_threads(pid)
            alive = client.alive
            extra = files_under(cache) - kept - {(cache / LOG_NAME).resolve()}
        finally:
            client.close()
    return {"kinds": ",".join(f"{k}:{v}" for k, v in sorted(counts.items())),
            "rss_start_mb": round(rss_start / 1024, 1), "rss_end_mb": round(rss_end / 1024, 1),
            "threads_start": threads_start, "threads_end": threads_end,
            "leaked_threads": threads_end - threads_start, "failed": failed,
            "backend_alive": alive, "wall_s": round(time.monotonic() - started, 1),
            "rss_growth": round(rss_end / rss_start - 1.0, 4), "leaked_files": len(extra),
            "jobs": total}


def benchmark(n: int | None = None, threads: int | None = None, model: str | None = None,
              **_: Any) -> dict[str, Any]:
    """Entry point for ``backend/cli_bench.py`` (its ``--repeat`` / ``--threads`` / ``--model``
    do not apply: the soak always runs ``TOTAL_JOBS`` jobs)."""
    return soak()


def main() -> int:
    result = soak()
    head = {k: result.pop(k) for k in ("rss_growth", "leaked_files", "jobs")}
    print(" ".join(f"{k}={v}" for k, v in result.items()))
    print(" ".join(f"{k}={v}" for k, v in head.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
