"""Executing a study's runs: one after another, in N local processes, or on a dask cluster.

Every mode calls ``esenas_core.runs.study_worker.run_one`` for a run, so results are the same bits.
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
from esenas_core.runs.study_common import Outcome, Progress, fail_run, record_run
from esenas_core.runs.study_dask import on_dask
from esenas_core.runs.study_pool import run_in_pool
from esenas_core.runs.study_state import RunStatus


def execute(
    states: Sequence[RunStatus],
    log: Callable[[str], None],
    pool: Any = None,
    client: Any = None,
    quiet: bool = False,
    logs_dir: Path | None = None,
) -> Outcome:
    """Run every state that is not ``reuse``: on the dask ``client`` if given, else in the
    ``study_pool.ProcessPool`` if given, else in this process; return what finished and what
    failed."""
    progress = Progress(states, log, quiet)
    outcome = Outcome()
    todo = []
    for s in states:
        if s.state == "reuse":
            progress.line(s, "finished earlier with the same config, reused")
        else:
            todo.append(s)
    try:
        if client is not None:
            on_dask(todo, client, progress, outcome)
        elif pool is not None:
            run_in_pool(todo, pool, progress, outcome)
        else:
            _sequentially(todo, progress, outcome, logs_dir)
    finally:
        progress.close()
    return outcome


def _sequentially(
    todo: Sequence[RunStatus], progress: Progress, outcome: Outcome, logs_dir: Path | None
) -> None:
    from esenas_core.runs.study_worker import run_one

    for s in todo:

        def tick(row: Any, s: RunStatus = s) -> None:
            progress.set(s.item.run_dir, int(row["iteration"]))

        try:
            summary = run_one(s.item.config.to_toml(), s.item.run_dir, tick)
        except EsenasError as exc:
            fail_run(progress, outcome, s, str(exc))
            continue
        except Exception as exc:  # a bug in a plugin or in esenas: keep the traceback, go on
            import traceback

            log_path = (logs_dir or s.item.run_dir.parent) / f"{s.item.run_dir.name}.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(log_path, "a", encoding="utf-8") as fh:
                fh.write(traceback.format_exc())
            fail_run(progress, outcome, s, f"{type(exc).__name__}: {exc} (traceback: {log_path})")
            continue
        record_run(progress, outcome, s, summary)
