"""``tensorboard``: every metrics row as TensorBoard scalars, in ``RUN_DIR/tensorboard/``.

Enable it per run with ``loggers = ["tensorboard"]`` in the config (or ``--set
'loggers=["tensorboard"]'``); it needs the optional writer ``tensorboardX`` (``pip install
'esenas[tensorboard]'``). One event folder per run, so ``tensorboard --logdir studies/NAME/runs``
shows every run of a study side by side. Each scalar's step is the iteration; the row's numeric
columns are written under their ``metrics.csv`` names (NaN values are skipped). Events are flushed
after every iteration; a resumed run appends to the same folder.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from esenas_core import hookimpl

NAME = "tensorboard"
_writers: dict[str, Any] = {}  # run_dir → SummaryWriter of the runs of this process


def _missing() -> str | None:
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        return "needs tensorboardX: pip install 'esenas[tensorboard]'"
    return None


@hookimpl
def esenas_register_loggers(register: Callable[..., None]) -> None:
    register(NAME, _missing)


@hookimpl
def esenas_run_start(config: Mapping[str, Any], run_dir: str) -> None:
    if NAME not in config.get("loggers", ()) or not run_dir:
        return
    from tensorboardX import SummaryWriter

    old = _writers.pop(run_dir, None)
    if old is not None:
        old.close()
    _writers[run_dir] = SummaryWriter(logdir=str(Path(run_dir) / "tensorboard"), flush_secs=5)


@hookimpl
def esenas_iteration_end(row: Mapping[str, Any], run_dir: str) -> None:
    writer = _writers.get(run_dir)
    if writer is None:
        return
    step = int(row["iteration"])
    for key, value in row.items():
        if key == "iteration" or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            writer.add_scalar(key, float(value), step)
    writer.flush()


@hookimpl
def esenas_run_end(summary: Mapping[str, Any], run_dir: str) -> None:
    writer = _writers.pop(run_dir, None)
    if writer is not None:
        writer.close()
