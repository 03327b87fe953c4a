"""From network outputs in [-1, 1] to environment actions."""

from __future__ import annotations

import numpy as np

from esenas_core.interfaces import TaskSpec


def to_env_actions(outputs: np.ndarray, spec: TaskSpec) -> np.ndarray:
    """Discrete: argmax over the outputs. Box: rescale [-1, 1] to [low, high] per dimension."""
    if spec.discrete:
        return np.argmax(outputs, axis=1)
    if spec.action_low is None or spec.action_high is None:
        return outputs
    low = np.asarray(spec.action_low)
    high = np.asarray(spec.action_high)
    return low + (outputs + 1.0) * 0.5 * (high - low)
