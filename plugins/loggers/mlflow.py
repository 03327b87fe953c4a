"""``mlflow``: every run as an MLflow run — its config as parameters, every metrics row as
metrics (step = the iteration), the summary as final metrics and tags.

Enable it per run with ``loggers = ["mlflow"]`` (or ``--set 'loggers=["mlflow"]'``); it needs
``mlflow-skinny`` with SQLAlchemy (``pip install 'esenas[mlflow]'``). The tracking store is
``MLFLOW_TRACKING_URI`` when set (a server or a database), else the SQLite database
``RUN_DIR/mlflow.db`` (MLflow 3 keeps its folder store in maintenance mode: it refuses it unless
``MLFLOW_ALLOW_FILE_STORE=true``); the MLflow experiment is the run's ``name``. Creating a new
database's tables takes MLflow a few seconds: a study logs best into one shared database
(``MLFLOW_TRACKING_URI=sqlite:////path/mlflow.db``). A resumed run starts a new
MLflow run tagged with the same ``esenas.run_dir``. Runs without a folder (``Search`` without
``run_dir``) are not logged.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from esenas_core import hookimpl

NAME = "mlflow"
_runs: dict[str, tuple[Any, str]] = {}  # run_dir → (MlflowClient, MLflow run id)


def _missing() -> str | None:
    try:
        import mlflow  # noqa: F401
    except ImportError:
        return "needs mlflow: pip install 'esenas[mlflow]'"
    return None


def tracking_uri(run_dir: str) -> str:
    """Where the runs of ``run_dir`` are logged."""
    own = f"sqlite:///{(Path(run_dir) / 'mlflow.db').resolve()}"
    return os.environ.get("MLFLOW_TRACKING_URI") or own


def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)[:500]  # MLflow's limit on a parameter value
    return out


def _numbers(row: Mapping[str, Any]) -> dict[str, float]:
    return {
        key: float(value)
        for key, value in row.items()
        if not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
    }


@hookimpl
def esenas_register_loggers(register: Callable[..., None]) -> None:
    register(NAME, _missing)


@hookimpl
def esenas_run_start(config: Mapping[str, Any], run_dir: str) -> None:
    if NAME not in config.get("loggers", ()) or not run_dir:
        return
    from mlflow.entities import Param
    from mlflow.tracking import MlflowClient

    for name in ("mlflow", "alembic"):  # their INFO lines (creating tables) are not the run's
        logging.getLogger(name).setLevel(logging.WARNING)
    client = MlflowClient(tracking_uri=tracking_uri(run_dir))
    name = str(config.get("name", "esenas"))
    experiment = client.get_experiment_by_name(name)
    experiment_id = (
        experiment.experiment_id if experiment is not None else client.create_experiment(name)
    )
    run = client.create_run(
        experiment_id,
        run_name=Path(run_dir).name,
        tags={"esenas.run_dir": str(Path(run_dir).resolve())},
    )
    params = [Param(k, v) for k, v in sorted(_flat(config).items())]
    for start in range(0, len(params), 100):  # MLflow takes at most 100 per batch
        client.log_batch(run.info.run_id, params=params[start : start + 100])
    _runs[run_dir] = (client, run.info.run_id)


@hookimpl
def esenas_iteration_end(row: Mapping[str, Any], run_dir: str) -> None:
    entry = _runs.get(run_dir)
    if entry is None:
        return
    from mlflow.entities import Metric

    client, run_id = entry
    step = int(row["iteration"])
    stamp = int(1000 * float(row.get("wall_time", 0.0)))
    metrics = [Metric(k, v, stamp, step) for k, v in _numbers(row).items() if k != "iteration"]
    client.log_batch(run_id, metrics=metrics)


@hookimpl
def esenas_run_end(summary: Mapping[str, Any], run_dir: str) -> None:
    entry = _runs.pop(run_dir, None)
    if entry is None:
        return
    client, run_id = entry
    for key, value in _numbers({k: summary.get(k) for k in summary}).items():
        client.log_metric(run_id, f"summary.{key}", value)
    if summary.get("stopped_by"):
        client.set_tag(run_id, "esenas.stopped_by", str(summary["stopped_by"]))
    client.set_terminated(run_id, "FINISHED")
