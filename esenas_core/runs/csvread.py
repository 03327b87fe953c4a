"""Numeric CSV files of a run folder (metrics.csv, evaluations.csv), read strictly.

Every cell must be a number (empty and ``nan`` are NaN); a file that is binary, not UTF-8, or has a
cell that is not a number is refused with one line naming the file, the row and the column. A last
row cut short (a process killed while appending it) is left out, as ``--resume`` does.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from esenas_core.api.errors import RunError


def read_numeric_csv(
    path: Path, required: Sequence[str] = (), integers: Sequence[str] = ()
) -> dict[str, np.ndarray]:
    """Columns of ``path`` as float arrays (``FileNotFoundError`` when it does not exist).
    ``required`` columns must be present; ``integers`` must hold whole numbers ≥ 0."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError:
        raise RunError(f"{path}: not a UTF-8 text file") from None
    except csv.Error as exc:  # NUL bytes, a field over the size limit
        raise RunError(f"{path}: not a CSV file ({exc})") from None
    if not rows:
        raise RunError(f"{path}: empty (no header)")
    header, body = rows[0], rows[1:]
    if len(set(header)) != len(header) or any(not h for h in header):
        raise RunError(f"{path}: damaged header {header[:8]}")
    missing = [c for c in required if c not in header]
    if missing:
        raise RunError(f"{path}: no column {missing[0]!r}")
    if body and len(body[-1]) < len(header):
        body = body[:-1]  # the last row was cut while being written
    columns: dict[str, list[float]] = {h: [] for h in header}
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise RunError(
                f"{path}: row {number} has {len(row)} fields, the header {len(header)}"
            )
        for name, cell in zip(header, row, strict=True):
            columns[name].append(_cell(path, number, name, cell, name in integers))
    return {name: np.array(values, dtype=np.float64) for name, values in columns.items()}


def _cell(path: Path, row: int, column: str, cell: str, integer: bool) -> float:
    text = cell.strip()
    try:
        value = math.nan if text in ("", "nan") else float(text)
    except ValueError:
        shown = text if len(text) <= 20 else text[:17] + "..."
        raise RunError(f"{path}: row {row}, column {column!r}: not a number ({shown!r})") from None
    if integer and not (math.isfinite(value) and value >= 0 and value == int(value)):
        raise RunError(f"{path}: row {row}, column {column!r}: not a count ({text!r})")
    return value
