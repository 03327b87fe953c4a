"""Executing a study's runs: one after another, in N local processes, or on a dask cluster.

Every mode calls ``esenas_core.studies.worker.run_one`` for a run, so results are the same bits.
A run whose process or dask worker dies is resubmitted (up to ``MAX_RESTARTS`` times) and continues
from its last checkpoint; a run that fails with an error is reported and the others go on. One
progress bar counts the study's iterations (read from each run's ``metrics.csv``), and one line is
printed per finished run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from esenas_core.api.errors import EsenasError
from esenas_core.studies.identity import RunDecision
from esenas_core.studies.on_dask import on_dask
from esenas_core.studies.pool import run_in_pool
from esenas_core.studies.progress import Progress, Tally, fail_run, record_run


def execute(
    states: Sequence[RunDecision],
    log: Callable[[str], None],
    pool: Any = None,
    client: Any = None,
    quiet: bool = False,
    logs_dir: Path | None = None,
) -> Tally:
    """Run every state that is not ``reuse``: on the dask ``client`` if given, else in the
    ``study_pool.ProcessPool`` if given, else in this process; return what finished and what
    failed."""
    progress = Progress(states, log, quiet)
    tally = Tally()
    todo = []
    for s in states:
        if s.action == "reuse":
            progress.line(s, "finished earlier with the same config, reused")
        else:
            todo.append(s)
    try:
        if client is not None:
            on_dask(todo, client, progress, tally)
        elif pool is not None:
            run_in_pool(todo, pool, progress, tally)
        else:
            _sequentially(todo, progress, tally, logs_dir)
    finally:
        progress.close()
    return tally


def _sequentially(
    todo: Sequence[RunDecision], progress: Progress, tally: Tally, logs_dir: Path | None
) -> None:
    from esenas_core.studies.worker import run_one

    for s in todo:

        def tick(row: Any, s: RunDecision = s) -> None:
            progress.set(s.run.run_dir, int(row["iteration"]))

        try:
            summary = run_one(s.run.config.to_toml(), s.run.run_dir, tick)
        except EsenasError as exc:
            fail_run(progress, tally, s, str(exc))
            continue
        except Exception as exc:  # a bug in a plugin or in esenas: keep the traceback, go on
            import traceback

            log_path = (logs_dir or s.run.run_dir.parent) / f"{s.run.run_dir.name}.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(log_path, "a", encoding="utf-8") as fh:
                fh.write(traceback.format_exc())
            fail_run(progress, tally, s, f"{type(exc).__name__}: {exc} (traceback: {log_path})")
            continue
        record_run(progress, tally, s, summary)
