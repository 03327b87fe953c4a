"""The run directory: resolved config, metrics.csv, best/ (architecture JSON + weights .npz).

Every file is written atomically (temp file, then rename), so a killed run never leaves a
half-written file behind.

``esenas.json`` records the results version of the esenas that made the run. The results version
changes when esenas computes other numbers for the same config and seed (a controller that draws
its random numbers in another order, say): such a run is then neither resumed nor reused by a
study without being told to (``--force``, ``--rerun-changed``). A run without the file was made
by results version 1.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from esenas_core.api import fields
from esenas_core.api.errors import ConfigError, RunError
from esenas_core.runs.atomic import atomic_write, write_folder


def default_run_path(name: str, root: str | Path = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(root) / f"{name}-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = Path(root) / f"{name}-{stamp}-{n}"
    return path


# Errors of writing the run's files (a full disk, a quota, a file-size limit, a read-only or
# failing file system).
WRITE_ERRORS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES}
RESULTS_VERSION = 4  # 4: edges/ops repair dead edges and scale θ's start (docs/runs.md)


def results_version(path: Path) -> int:
    """The results version of the esenas that made the run in ``path`` (1 without esenas.json;
    0 when the file is unreadable)."""
    try:
        data = json.loads((Path(path) / "esenas.json").read_text("utf-8"))
        return fields.integer(data["results_version"], "results_version", lo=1)
    except FileNotFoundError:
        return 1
    except (OSError, ValueError, KeyError, TypeError):
        return 0


class RunDirectory:
    """Files of one run; create it only after the whole config has been validated."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._columns: list[str] | None = None

    @classmethod
    def create(cls, path: str | Path) -> RunDirectory:
        path = Path(path)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ConfigError(f"run directory {path} already exists and is not empty")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create run directory {path}: {exc.strerror}") from None
        directory = cls(path)
        directory.write_text("esenas.json", json.dumps({"results_version": RESULTS_VERSION}))
        return directory

    @contextlib.contextmanager
    def stop_on_write_errors(self, iteration: Callable[[], int]) -> Iterator[None]:
        """A file of the run that cannot be written (a full disk, a file-size limit) stops it
        with one line naming ``iteration()``, the last one done; the last checkpoint is complete
        (checkpoints are swapped in whole)."""
        try:
            yield
        except OSError as exc:
            if exc.errno not in WRITE_ERRORS:
                raise
            where = f" ({exc.filename})" if exc.filename else ""
            raise RunError(
                f"{self.path}: cannot write after iteration {iteration()}: {exc.strerror or exc}"
                f"{where}; the last checkpoint is intact: resume with"
                f" `esenas run --resume {self.path}`"
            ) from None

    def truncate_metrics(self, iterations: int) -> None:
        """Keep metrics.csv's header and its rows of the first ``iterations`` iterations (resume
        after a kill)."""
        header = _truncate_csv(self.path / "metrics.csv", iterations)
        self._columns = header

    def append_evaluations(self, rows: list[Mapping[str, Any]]) -> None:
        """Append the iteration's exact evaluations to evaluations.csv (the Pareto front's data)."""
        if not rows:
            return
        target = self.path / "evaluations.csv"
        fresh = not target.exists()
        with open(target, "a", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, list(rows[0]))
            if fresh:
                writer.writeheader()
            writer.writerows({k: _fmt(v) for k, v in row.items()} for row in rows)
            fh.flush()

    def truncate_evaluations(self, iterations: int) -> None:
        """Keep evaluations.csv's rows of the first ``iterations`` iterations (resume)."""
        _truncate_csv(self.path / "evaluations.csv", iterations)

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.path / name, lambda fh: fh.write(text))

    def append_metrics(self, row: Mapping[str, Any]) -> None:
        """Append one row to metrics.csv (header from the first row; columns fixed after)."""
        target = self.path / "metrics.csv"
        if self._columns is None:
            self._columns = list(row)
            with open(target, "w", newline="", encoding="utf-8") as fh:
                csv.writer(fh).writerow(self._columns)
        missing = set(self._columns) ^ set(row)
        if missing:  # only a damaged header of a resumed run's file: the trainer's are fixed
            raise RunError(
                f"{target}: its header does not name this run's columns (damaged?:"
                f" {', '.join(repr(c) for c in sorted(missing)[:3])}); restore it, or move the"
                " file away to resume with a fresh metrics.csv; the last checkpoint is intact"
            )
        with open(target, "a", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerow([_fmt(row[c]) for c in self._columns])
            fh.flush()

    def write_weights(self, folder: str, name: str, **arrays: np.ndarray) -> None:
        target = self.path / folder
        target.mkdir(exist_ok=True)
        atomic_write(target / name, lambda fh: np.savez(fh, **arrays), binary=True)  # type: ignore[arg-type]  # numpy's stub

    def write_unit(
        self,
        folder: str,
        arrays: Mapping[str, Mapping[str, np.ndarray]],
        documents: Mapping[str, Any],
    ) -> None:
        """Replace ``folder`` as one unit: every ``.npz`` (name → arrays) and JSON document
        (name → data) is written to ``folder.tmp/``, which is then swapped in (a crash leaves the
        complete old or new folder, never a mix)."""
        write_folder(self.path / folder, arrays, documents)

    def write_json(self, folder: str, name: str, data: Mapping[str, Any]) -> None:
        target = self.path / folder
        target.mkdir(exist_ok=True)
        atomic_write(target / name, lambda fh: json.dump(data, fh, indent=2, sort_keys=True))


def _truncate_csv(target: Path, iterations: int) -> list[str] | None:
    """Keep the header of the CSV ``target`` and its complete rows whose first field (the
    iteration) is ≤ ``iterations``; return the header. Rows cut short by a kill, or damaged
    (other field counts, bytes that are not UTF-8, no iteration number) are dropped; a file cut
    inside its header, or whose header is damaged, is removed (it starts afresh; None)."""
    if not target.exists():
        return None
    text = target.read_text(encoding="utf-8", errors="replace").replace("\x00", "")
    lines = text.splitlines(keepends=True)
    rows = [_csv_row(line) for line in lines]  # line by line: no damage spreads to the next
    if not lines or not lines[0].endswith("\n") or rows[0][:1] != ["iteration"]:
        target.unlink()
        return None
    header = rows[0]
    keep = [header] + [
        r
        for r in rows[1:]
        if len(r) == len(header) and r[0].isascii() and r[0].isdigit() and int(r[0]) <= iterations
    ]
    atomic_write(target, lambda fh: csv.writer(fh).writerows(keep))
    return header


def _csv_row(line: str) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return []


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return value
