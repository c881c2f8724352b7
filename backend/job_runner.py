"""The server's job queue and worker: one job at a time, fair across sessions.

Fair order: every session (client connection) has its own FIFO of waiting jobs, and the worker
takes the next job from the sessions in turn (round-robin), so a client that submits 20 jobs
delays a client that submits 1 by at most one job. Each waiting job is told how many jobs run
before it (``queued`` message, ``ahead``: the running job plus those picked before it) when it is
accepted and whenever that number changes; a job that starts at once gets no ``queued`` message.

A session can cancel only its own jobs. A waiting job is removed from the queue at once; a
running job has its cancel event set and stops at its next ``ctx.cancelled()`` poll.

Sessions are duck-typed: ``send(msg) -> bool``, ``send_error(code, message, job_id, tb)`` and
``send_result(job_id, result)`` (see ``backend.server.Session``). Messages to a session may be
sent while the queue lock is held (so that ``accepted`` and ``queued`` precede a job's first
``progress``); a session never takes the queue lock while it holds its own write lock.
"""
from __future__ import annotations

import logging
import threading
import traceback
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Callable

from .jobs import JOBS, JobCancelled, JobContext, JobError
from .protocol import ErrorCode, MessageType, server_message

log = logging.getLogger("backend.server")


EXACT_POSITIONS = 10                 # a job this close to running hears every step


def _worth_telling(ahead: int) -> bool:
    """Whether a change to ``ahead`` is worth a message once the job has been told once."""
    if ahead <= EXACT_POSITIONS:
        return True
    return ahead % (10 if ahead <= 100 else 100) == 0


@dataclass(eq=False)
class Job:
    """One submitted job; ``told_ahead`` is the last ``ahead`` sent to its client (None: none)."""
    job_id: str
    kind: str
    params: dict
    session: Any
    cancel_event: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    told_ahead: int | None = None


class JobRunner:
    """Runs jobs one at a time, round-robin across sessions, on a daemon worker thread."""

    def __init__(self, config):
        self.config = config                       # ServerConfig: cache_dir, device
        self._waiting: "OrderedDict[Any, deque[Job]]" = OrderedDict()   # rotation order
        self._cond = threading.Condition()
        self._jobs: dict[str, Job] = {}            # waiting and running, by id
        self._running: Job | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._work, name="anima-job-worker", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ requests
    def submit(self, job: Job, announce: Callable[[], Any]) -> bool:
        """Queue ``job``, calling ``announce`` (the ``accepted`` message) before it can start.
        False if the job id is already in use."""
        with self._cond:
            if job.job_id in self._jobs:
                return False
            self._jobs[job.job_id] = job
            announce()
            self._waiting.setdefault(job.session, deque()).append(job)
            self._tell_positions()
            self._cond.notify()
        return True

    def cancel(self, job_id: str, session: Any) -> None:
        """Cancel a job of ``session``; unknown, foreign or finished jobs are ignored."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None or job.session is not session:
                return
            job.cancel_event.set()
            if job.started:
                return               # the job sees ctx.cancelled() and stops
            self._remove_waiting(job)
            session.send(server_message(MessageType.CANCELLED, job_id=job_id))
            self._tell_positions()
        log.info("job %s cancelled before it started", job_id)

    def cancel_session(self, session: Any) -> None:
        """Cancel every waiting or running job of a session that ended."""
        with self._cond:
            for job in [j for j in self._jobs.values() if j.session is session]:
                job.cancel_event.set()
                if not job.started:
                    self._remove_waiting(job)
            self._tell_positions()

    def status(self, session: Any) -> tuple[str | None, int]:
        """(id of the running job if it belongs to ``session``, number of jobs waiting)."""
        with self._cond:
            running = self._running
            return (running.job_id if running is not None and running.session is session
                    else None), sum(len(q) for q in self._waiting.values())

    def stop(self, timeout: float) -> bool:
        """Stop the worker after the current job; True if it stopped within ``timeout``."""
        with self._cond:
            self._stopping = True
            for job in self._jobs.values():
                job.cancel_event.set()
            self._cond.notify()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ------------------------------------------------------------------ queue (lock held)
    def _remove_waiting(self, job: Job) -> None:
        waiting = self._waiting.get(job.session)
        if waiting is not None and job in waiting:
            waiting.remove(job)
            if not waiting:
                del self._waiting[job.session]
        self._jobs.pop(job.job_id, None)

    def _pop_next(self) -> Job:
        """The next job in round-robin order; its session moves to the end of the rotation."""
        session, waiting = next(iter(self._waiting.items()))
        job = waiting.popleft()
        if waiting:
            self._waiting.move_to_end(session)
        else:
            del self._waiting[session]
        return job

    def order(self) -> list[Job]:
        """Waiting jobs in the order they will start (if nothing else is submitted)."""
        queues = list(self._waiting.values())
        out: list[Job] = []
        depth = 0
        while True:
            layer = [q[depth] for q in queues if depth < len(q)]
            if not layer:
                return out
            out.extend(layer)
            depth += 1

    def _tell_positions(self) -> None:
        """Send ``queued`` to every waiting job whose number of jobs ahead changed. Far back
        in a long queue the count is told in steps (every 10 up to 100, every 100 beyond), so
        that a job finishing does not send a message to each of a thousand waiting jobs."""
        offset = 1 if self._running is not None else 0
        for position, job in enumerate(self.order()):
            ahead = position + offset
            if job.told_ahead is not None and not _worth_telling(ahead):
                continue
            if ahead != job.told_ahead and (ahead > 0 or job.told_ahead is not None):
                job.told_ahead = ahead
                job.session.send(server_message(MessageType.QUEUED, job_id=job.job_id,
                                                ahead=ahead))

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        job: Job | None = None
        while True:
            with self._cond:
                if job is not None:
                    self._jobs.pop(job.job_id, None)
                    self._running = None
                while not self._waiting and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                job = self._pop_next()
                job.started = True
                self._running = job
                if job.told_ahead:                   # it was told to wait: now it starts
                    job.told_ahead = 0
                    job.session.send(server_message(MessageType.QUEUED, job_id=job.job_id,
                                                    ahead=0))
                self._tell_positions()
            try:
                self._run(job)
            except Exception:  # noqa: BLE001 - never let the worker thread die
                log.exception("internal error while running job %s", job.job_id)

    def _run(self, job: Job) -> None:
        session, job_id = job.session, job.job_id

        def on_progress(fraction: float, message: str) -> None:
            session.send(server_message(MessageType.PROGRESS, job_id=job_id, fraction=fraction,
                                        message=message))

        # A TCP client (it sends a token) is remote: its parameters may not name server files.
        ctx = JobContext(job_id, self.config.cache_dir, self.config.device, on_progress,
                         job.cancel_event, trusted=getattr(session, "token", None) is None)
        log.info("job %s (%s) started", job_id, job.kind)
        try:
            result = JOBS[job.kind](dict(job.params), ctx)
            if not isinstance(result, dict):
                raise TypeError(f"job kind {job.kind!r} returned {type(result).__name__}, "
                                f"expected a dict")
        except JobCancelled:
            log.info("job %s cancelled", job_id)
            session.send(server_message(MessageType.CANCELLED, job_id=job_id))
        except JobError as e:
            log.info("job %s failed: %s: %s", job_id, e.code, e.message)
            session.send_error(e.code, e.message, job_id)
        except (Exception, SystemExit) as e:  # noqa: BLE001 - reported to the client
            log.exception("job %s (%s) failed", job_id, job.kind)
            session.send_error(ErrorCode.JOB_FAILED, f"{type(e).__name__}: {e}", job_id,
                               traceback.format_exc())
        else:
            log.info("job %s finished", job_id)
            session.send_result(job_id, result)
