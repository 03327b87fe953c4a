"""Compiled ufuncs of ``esenas_core.api.fixedmath`` (numba; imported on first use).

Plain ``vectorize``: no fast-math flags and no vector math library, so every element is one call
of the C library's scalar function."""

from __future__ import annotations

import math

import numba

_F64 = ["float64(float64)"]


@numba.vectorize(_F64, cache=True)
def exp(x):  # pragma: no cover (compiled)
    return math.exp(x)


@numba.vectorize(_F64, cache=True)
def log(x):  # pragma: no cover (compiled)
    return math.log(x)


@numba.vectorize(_F64, cache=True)
def log1p(x):  # pragma: no cover (compiled)
    return math.log1p(x)


@numba.vectorize(_F64, cache=True)
def sin(x):  # pragma: no cover (compiled)
    return math.sin(x)


@numba.vectorize(_F64, cache=True)
def cos(x):  # pragma: no cover (compiled)
    return math.cos(x)


@numba.vectorize(["float64(float64, float64)"], cache=True)
def power(x, y):  # pragma: no cover (compiled; y is never a compile-time constant, so LLVM
    return math.pow(x, y)  # keeps the C library's pow: pow(x, 2.0) is not always x * x)
