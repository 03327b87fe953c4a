"""Objectives the ``function`` task imports by path in tests (``esenas_test_objectives:NAME``)."""

from __future__ import annotations

import numpy as np

TARGET = np.array([0.5, 0.0, -0.3, 0.0])


def sphere(architecture, theta: np.ndarray) -> float:
    """−‖θ[:4] − target‖² (the architecture is not used: every coordinate takes part)."""
    return -float(np.sum((theta[: TARGET.size] - TARGET) ** 2))


def sphere_batched(architectures, thetas: np.ndarray) -> np.ndarray:
    return -np.sum((thetas[:, : TARGET.size] - TARGET) ** 2, axis=1)
