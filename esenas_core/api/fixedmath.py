"""Arithmetic whose result does not depend on the CPU: the same bits on every x86-64 machine.

numpy dispatches some float64 ufuncs (``exp``, ``log``, ``sin``, ``cos``, ``tanh``, …) to
implementations chosen by the CPU's SIMD width (AVX2 and AVX-512 builds give different last
bits), and ``@``, ``dot`` and ``np.linalg.norm`` call a BLAS whose kernel, and so whose summation
order, depends on the CPU. Wherever a value reaches θ, a score, a controller's state or a
recorded metric, esenas uses these functions instead:

- ``norm(x)``: √(Σ x²) with the sum rounded once (``math.fsum``), so it has no order at all;
- ``dot_rows(a, v)``: Σ_i a[..., i] · v[i] accumulated in index order, one IEEE operation at a
  time (elementwise numpy ``*`` and ``+`` are correctly rounded on every SIMD width);
- ``exp``, ``log``, ``log1p``, ``sin``, ``cos``, ``power``: one call per element of the C
  library's scalar function (compiled with numba, no fast-math, no vector library). ``power(x,
  2.0)`` is what Python's and numpy's scalar ``x ** 2`` compute (the C library's ``pow``), which
  is not always ``x * x``.

The guarantee and its limits (glibc's libm picks an FMA variant of ``exp``/``sin``/… on CPUs with
FMA, so SSE-only CPUs may differ in the last bit there) are in docs/algorithm.md#determinism.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def norm(x: Any) -> float:
    """The Euclidean norm, √(Σ x²) with Σ correctly rounded (``math.fsum``): no summation order."""
    flat = np.asarray(x, dtype=np.float64).ravel()
    return math.sqrt(math.fsum((flat * flat).tolist()))


def dot_rows(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``a @ v`` over the last axis, accumulated in index order (no BLAS)."""
    a = np.asarray(a, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if a.shape[-1] != v.shape[0]:
        raise ValueError(f"dot_rows: {a.shape} and {v.shape} do not align")
    out = np.zeros(a.shape[:-1])
    for i in range(v.shape[0]):
        out = out + a[..., i] * v[i]
    return out


def _apply(name: str, x: Any) -> np.ndarray:
    from esenas_core.api import fixedmath_kernels  # numba: imported when first needed

    arr = np.asarray(x, dtype=np.float64)
    flat = np.ascontiguousarray(arr).ravel()
    return getattr(fixedmath_kernels, name)(flat).reshape(arr.shape)


def exp(x: Any) -> np.ndarray:
    """``np.exp`` with the C library's ``exp`` on every element."""
    return _apply("exp", x)


def log(x: Any) -> np.ndarray:
    """``np.log`` with the C library's ``log`` on every element (−inf at 0, NaN below)."""
    arr = np.asarray(x, dtype=np.float64)
    out = _apply("log", np.where(arr > 0.0, arr, 1.0))
    return np.where(arr > 0.0, out, np.where(arr == 0.0, -np.inf, np.nan))


def log1p(x: Any) -> np.ndarray:
    """``np.log1p`` with the C library's ``log1p`` on every element (−inf at −1, NaN below)."""
    arr = np.asarray(x, dtype=np.float64)
    out = _apply("log1p", np.where(arr > -1.0, arr, 0.0))
    return np.where(arr > -1.0, out, np.where(arr == -1.0, -np.inf, np.nan))


def sin(x: Any) -> np.ndarray:
    """``np.sin`` with the C library's ``sin`` on every element."""
    return _apply("sin", x)


def cos(x: Any) -> np.ndarray:
    """``np.cos`` with the C library's ``cos`` on every element."""
    return _apply("cos", x)


def power(x: Any, y: float) -> np.ndarray:
    """``x ** y`` as a float64 scalar computes it (the C library's ``pow``) on every element."""
    from esenas_core.api import fixedmath_kernels

    arr = np.asarray(x, dtype=np.float64)
    flat = np.ascontiguousarray(arr).ravel()
    return fixedmath_kernels.power(flat, float(y)).reshape(arr.shape)
