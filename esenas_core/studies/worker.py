"""One run of a study, wherever it executes: in the ``esenas ablate`` process, in a child process
(``--workers N``), or as one task on a dask worker (``--scheduler ADDRESS``).

All three call :func:`run_one`, so a study computes the same numbers whichever way it runs. A run
continues from its last checkpoint when it has one (a resubmitted run after its worker died, an
interrupted study, or a run whose ``iterations`` grew), otherwise it starts afresh.

``python -m esenas_core.studies.worker PARENT_PID`` is a worker process of ``--workers N``
(``esenas_core.studies.pool``): it reads ``{"config": TOML text, "run_dir": path}`` requests, one
JSON object per line on stdin, runs them one after another and answers ``{"ok": true}`` or
``{"ok": false, "error": ...}`` per run on its original stdout; what runs print goes to its
stderr (the worker's log). It dies with its parent (Linux ``PR_SET_PDEATHSIG``), so a killed
study leaves no orphans.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

# One run at a time per process: environments and search spaces are cached per process, so two
# runs in two threads of one dask worker would share them.
_RUN_LOCK = threading.Lock()


@contextlib.contextmanager
def _folder_lock(run_dir: Path) -> Iterator[None]:
    """An exclusive lock beside the run folder: a run never executes twice at once (a dask task
    re-run while a presumed-dead worker still runs it waits for the first to finish)."""
    import fcntl

    locks = run_dir.parent / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / run_dir.name, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def run_one(
    config_toml: str,
    run_dir: str | os.PathLike[str],
    on_iteration: Callable[[Mapping[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train the run ``config_toml`` in ``run_dir`` to its configured iterations.

    Returns ``{"final_score", "best_score", "wall_time", "iterations", "resumed_at"}``.
    """
    from esenas_core.api.plugins import get_registries
    from esenas_core.engine.experiment import Experiment
    from esenas_core.runs.checkpoint import checkpoint_iteration
    from esenas_core.runs.config import build_config
    from esenas_core.runs.start import open_run

    path = Path(run_dir)
    with _RUN_LOCK, _folder_lock(path):
        registries = get_registries()
        cfg = build_config(tomllib.loads(config_toml), registries, str(path / "config.toml"))
        done = checkpoint_iteration(path)
        if done == cfg.iterations and (path / "final" / "weights.npz").exists():
            return finished_summary(path, resumed_at=done)  # finished by an earlier attempt
        experiment = Experiment.build(cfg, registries)
        if done is None and path.exists():  # this config's run, killed before its checkpoint
            shutil.rmtree(path)
        trainer = open_run(experiment, path, resume=done is not None)
        trainer.train(on_iteration)
        trainer.save_final()
        return finished_summary(path, resumed_at=done)


def finished_summary(run_dir: Path, resumed_at: int | None = None) -> dict[str, Any]:
    from esenas_core.runs.report import read_metrics

    m = read_metrics(run_dir)
    return {
        "final_score": float(m["score_mean"][-1]),
        "best_score": float(m["best_score"][-1]),
        "wall_time": float(m["wall_time"][-1]),
        "iterations": int(m["iteration"][-1]),
        "resumed_at": resumed_at,
    }


def run_on_dask_worker(config_toml: str, run_dir: str) -> dict[str, Any]:
    """The dask task of ``--scheduler``: one whole run on a worker (start workers with one BLAS
    thread, ``OMP_NUM_THREADS=1`` etc., as docs/distributed.md shows)."""
    return run_one(config_toml, run_dir)


def _warm_up() -> None:
    from esenas_core.api.plugins import get_registries

    get_registries()


def main(parent: int) -> int:
    """Serve run requests (one JSON object per line on stdin) until stdin closes."""
    import json
    import traceback

    from esenas_core.api.errors import EsenasError
    from esenas_core.engine import interrupts
    from esenas_core.engine.workers import die_with_parent

    die_with_parent(parent)
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")  # a private pipe for the answers
    os.dup2(2, 1)  # whatever a run prints goes to the worker's log
    sys.stdout = sys.stderr
    interrupts.install()
    _warm_up()  # while the driver still plans: imports, plugins, compiled kernels
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        print(f"--- {request['run_dir']}", file=sys.stderr, flush=True)
        try:
            run_one(request["config"], request["run_dir"])
            answer: dict[str, Any] = {"ok": True}
        except EsenasError as exc:
            print(f"esenas: error: {exc}", file=sys.stderr)
            answer = {"ok": False, "error": str(exc)}
        except KeyboardInterrupt:
            answers.write(json.dumps({"interrupted": True}) + "\n")
            answers.flush()
            return 130
        except Exception as exc:  # a bug: its traceback goes to the log, the worker goes on
            traceback.print_exc()
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
