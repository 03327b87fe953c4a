"""Checks for values read back from files (run folders, checkpoints, study records).

A run folder may come from another person or machine, or be damaged: everything read from one is
checked for type, shape, dtype, finiteness and range before it is used. Each check raises
``ValueError`` whose message starts with the field's name; the reader adds the file's path, so the
user sees one line naming the file and the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def integer(value: Any, field: str, lo: int | None = 0, hi: int | None = None) -> int:
    """An int (not a bool, not a float) within [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{field}: expected an integer, got {_describe(value)}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"≥ {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{field}: expected an integer {bounds}, got {value}")
    return value


def number(
    value: Any, field: str, lo: float | None = None, finite: bool = True, nan: bool = False
) -> float:
    """A real number (int or float, not a bool or a string), finite unless ``finite=False``,
    never NaN unless ``nan=True``, and ≥ ``lo``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{field}: expected a number, got {_describe(value)}")
    value = float(value)
    if math.isnan(value):
        if nan:
            return value
        raise ValueError(f"{field}: expected a number, got NaN")
    if finite and math.isinf(value):
        raise ValueError(f"{field}: expected a finite number, got {value}")
    if lo is not None and value < lo:
        raise ValueError(f"{field}: expected a number ≥ {lo}, got {value}")
    return value


def optional_number(
    value: Any, field: str, finite: bool = True, nan: bool = False
) -> float | None:
    return None if value is None else number(value, field, finite=finite, nan=nan)


def optional_integer(value: Any, field: str, lo: int | None = 0) -> int | None:
    return None if value is None else integer(value, field, lo)


def table(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{field}: expected a JSON object, got {_describe(value)}")
    return value


def read_npz(path: Any) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file (``allow_pickle=False``). ``FileNotFoundError`` when it
    is missing; any damage — not a zip, a cut or patched member, an object array — is a
    ``ValueError`` (zipfile and numpy raise a dozen kinds of exception for damaged files)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ValueError(f"unreadable ({type(exc).__name__}: {exc})") from None


def float_array(
    arrays: Mapping[str, np.ndarray],
    key: str,
    shape: tuple[int, ...] | None = None,
    ndim: int | None = 1,
    positive: bool = False,
    nonnegative: bool = False,
) -> np.ndarray:
    """``arrays[key]`` as float64: a real-valued array of the given shape (or ``ndim``), every
    element finite (and > 0 or ≥ 0 where asked)."""
    if key not in arrays:
        raise ValueError(f"{key}: missing")
    value = arrays[key]
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu":
        kind = getattr(getattr(value, "dtype", None), "name", type(value).__name__)
        raise ValueError(f"{key}: expected an array of numbers, got {kind}")
    if shape is not None and value.shape != shape:
        raise ValueError(f"{key}: expected shape {shape}, got {value.shape}")
    if shape is None and ndim is not None and value.ndim != ndim:
        raise ValueError(f"{key}: expected a {ndim}-dimensional array, got shape {value.shape}")
    out = value.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{key}: contains NaN or infinite values")
    if positive and not np.all(out > 0):
        raise ValueError(f"{key}: expected values > 0, got minimum {out.min():.3g}")
    if nonnegative and not np.all(out >= 0):
        raise ValueError(f"{key}: expected values ≥ 0, got minimum {out.min():.3g}")
    return out
