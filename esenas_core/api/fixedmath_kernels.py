"""Compiled scalar loops of ``esenas_core.api.fixedmath`` (numba; imported on first use).

Plain ``njit``: no fast-math flags, so every element is one call of the C library's function and
nothing is reordered, contracted or replaced by a vector routine."""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def exp(x):  # pragma: no cover (compiled)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = math.exp(x[i])
    return out


@numba.njit(cache=True, nogil=True)
def log(x):  # pragma: no cover (compiled)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = math.log(x[i])
    return out


@numba.njit(cache=True, nogil=True)
def log1p(x):  # pragma: no cover (compiled)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = math.log1p(x[i])
    return out


@numba.njit(cache=True, nogil=True)
def sin(x):  # pragma: no cover (compiled)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = math.sin(x[i])
    return out


@numba.njit(cache=True, nogil=True)
def cos(x):  # pragma: no cover (compiled)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = math.cos(x[i])
    return out
