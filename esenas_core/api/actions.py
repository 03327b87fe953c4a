"""From network outputs in [-1, 1] to environment actions."""

from __future__ import annotations

import numpy as np

from esenas_core.api.interfaces import TaskSpec


class ActionMap:
    """Network outputs in [-1, 1] → environment actions: argmax for discrete action spaces,
    the affine map onto [low, high] per dimension for boxes (precomputed: it runs every step)."""

    def __init__(self, spec: TaskSpec) -> None:
        self.discrete = spec.discrete
        self.scale = self.offset = None
        if not spec.discrete and spec.action_low is not None and spec.action_high is not None:
            low, high = np.asarray(spec.action_low), np.asarray(spec.action_high)
            scale, offset = 0.5 * (high - low), 0.5 * (high + low)
            if not (np.all(scale == 1.0) and np.all(offset == 0.0)):  # [-1, 1]: nothing to do
                self.scale, self.offset = scale, offset
        self.identity = not self.discrete and self.scale is None  # outputs are the actions

    def __call__(self, outputs: np.ndarray) -> np.ndarray:
        if self.discrete:
            return np.argmax(outputs, axis=1)
        if self.scale is None:
            return outputs
        return outputs * self.scale + self.offset


def to_env_actions(outputs: np.ndarray, spec: TaskSpec) -> np.ndarray:
    """One-off form of ``ActionMap(spec)(outputs)``."""
    return ActionMap(spec)(outputs)
