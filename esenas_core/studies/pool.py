"""``esenas ablate --workers N``: N persistent run processes on this machine.

Each worker is ``python -m esenas_core.studies.worker``, started once (imports, compiled kernels
and environments are paid for once per worker, not once per run) and as early as possible: the study
starts the pool before it plans, so the workers' start-up overlaps the driver's. A worker reads one
JSON request per line on stdin and answers one JSON line per run on a private pipe; anything a run
prints goes to ``logs/worker-<i>.log``. A worker that dies is replaced, and its run is resubmitted
(continuing from its last checkpoint) up to ``MAX_RESTARTS`` times.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import attrs

from esenas_core.studies.identity import RunDecision


@attrs.define
class _Worker:
    index: int
    proc: subprocess.Popen
    log: Any
    run: RunDecision | None = None

    @property
    def stdin(self) -> IO[bytes]:
        assert self.proc.stdin is not None  # started with stdin=PIPE
        return self.proc.stdin

    @property
    def stdout(self) -> IO[bytes]:
        assert self.proc.stdout is not None  # started with stdout=PIPE
        return self.proc.stdout


class ProcessPool:
    """N worker processes; ``close()`` (or leaving the ``with``) ends them all."""

    def __init__(self, workers: int, logs_dir: Path) -> None:
        self.size = workers
        self.logs_dir = logs_dir
        self.messages: queue.Queue[tuple[int, dict[str, Any] | None]] = queue.Queue()
        self.workers: list[_Worker] = []
        self._next = 0
        self.env = _child_env()
        for _ in range(workers):
            self.workers.append(self._start())

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> _Worker:
        self._next += 1
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.logs_dir / f"worker-{self._next}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "esenas_core.studies.worker", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=self.env,
        )
        worker = _Worker(self._next, proc, log)
        threading.Thread(target=self._read, args=(worker,), daemon=True).start()
        return worker

    def _read(self, worker: _Worker) -> None:
        for line in worker.stdout:
            try:
                self.messages.put((worker.index, json.loads(line)))
            except ValueError:
                continue
        self.messages.put((worker.index, None))  # the pipe closed: the worker ended

    def idle(self) -> list[_Worker]:
        return [w for w in self.workers if w.run is None and w.proc.poll() is None]

    def submit(self, worker: _Worker, run: RunDecision) -> None:
        request = {"config": run.run.config.to_toml(), "run_dir": str(run.run.run_dir)}
        worker.run = run
        try:
            worker.stdin.write((json.dumps(request) + "\n").encode())
            worker.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died; its end is noticed by the reader thread

    def replace(self, worker: _Worker) -> None:
        """Forget a dead worker and start another in its place."""
        worker.proc.wait()
        worker.log.close()
        self.workers[self.workers.index(worker)] = self._start()

    def by_index(self, index: int) -> _Worker | None:
        return next((w for w in self.workers if w.index == index), None)

    def release(self) -> None:
        """No more runs: idle workers end by themselves (their exit overlaps the report)."""
        for w in self.workers:
            if w.proc.poll() is None and w.run is None:
                try:
                    w.stdin.close()
                except (OSError, ValueError):
                    pass

    def close(self) -> None:
        for w in self.workers:
            if w.proc.poll() is None:
                try:
                    w.stdin.close()  # an idle worker ends when its input ends
                except (OSError, ValueError):
                    pass
                if w.run is not None:
                    w.proc.terminate()
        for w in self.workers:
            try:
                w.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait()
            w.log.close()


def _child_env() -> dict[str, str]:
    from esenas_core.engine.workers import THREAD_VARS

    env = dict(os.environ)
    env.update({name: "1" for name in THREAD_VARS})  # one BLAS thread per run process
    return env


def run_in_pool(todo: Sequence[RunDecision], pool: ProcessPool, progress: Any, tally: Any) -> None:
    from esenas_core.studies.progress import (
        MAX_RESTARTS,
        POLL_S,
        fail_run,
        record_run,
        resubmitted,
    )
    from esenas_core.studies.worker import finished_summary

    waiting = sorted(todo, key=_episodes_left, reverse=True)  # longest first: a shorter tail
    restarts = {s.run.run_dir: 0 for s in todo}
    active = 0
    prepared = False
    while waiting or active:
        for worker in pool.idle():
            if not waiting:
                break
            pool.submit(worker, waiting.pop(0))
            active += 1
        if not waiting and not prepared and pool.idle():
            prepared = True  # a core is free for the rest of the study: load the report's
            _prepare_report()  # libraries now instead of after the last run
        try:
            index, message = pool.messages.get(timeout=POLL_S)
        except queue.Empty:
            progress.poll([w.run for w in pool.workers if w.run is not None])
            continue
        found = pool.by_index(index)
        if found is None:
            continue
        worker = found
        run, worker.run = worker.run, None
        if message is not None and run is not None:
            active -= 1
            if message.get("ok"):
                record_run(progress, tally, run, finished_summary(run.run.run_dir))
            elif message.get("interrupted"):
                raise KeyboardInterrupt
            else:
                log = pool.logs_dir / f"worker-{worker.index}.log"
                fail_run(progress, tally, run, f"{message.get('error')} (log: {log})")
            continue
        if message is not None:
            continue
        code = worker.proc.wait()  # the worker ended
        pool.replace(worker)
        if run is None:
            continue
        active -= 1
        if code in (130, -2):
            raise KeyboardInterrupt
        key = run.run.run_dir
        if restarts[key] < MAX_RESTARTS:
            restarts[key] += 1
            progress.line(
                run,
                f"its process died ({_exit_text(code)}); resubmitted, continues from its last"
                f" checkpoint (restart {restarts[key]} of {MAX_RESTARTS})",
                counts=False,
            )
            waiting.insert(0, resubmitted(run))
        else:
            fail_run(progress, tally, run, f"its process died {MAX_RESTARTS + 1} times")


def _episodes_left(run: RunDecision) -> int:
    """Episodes the run still has to play (what its duration scales with, episode lengths
    aside); equal estimates keep the study's order."""
    es = run.run.config.es
    per_iteration = es.num_perturbations * es.members + es.exact_evals
    return (run.run.config.iterations - run.done) * per_iteration


def _prepare_report() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot
    import scipy.stats  # noqa: F401


def _exit_text(rc: int) -> str:
    if rc < 0:
        import signal

        try:
            return f"signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"signal {-rc}"
    return f"exit status {rc}"
