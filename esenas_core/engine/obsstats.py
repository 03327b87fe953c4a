"""Observation statistics merged across rollouts (Chan et al.'s parallel variance formula)."""

from __future__ import annotations

import attrs
import numpy as np


@attrs.frozen(eq=False)
class ObsStats:
    """Count, mean and M2 (sum of squared deviations) of every observation seen so far: a value;
    ``merge`` returns the merged statistics."""

    count: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def empty(cls, dim: int) -> ObsStats:
        return cls(0, np.zeros(dim), np.zeros(dim))

    def merge(self, count: int, mean: np.ndarray, m2: np.ndarray) -> ObsStats:
        """These statistics and a batch summarized by (count, mean, M2), merged."""
        if count == 0:
            return self
        total = self.count + count
        delta = mean - self.mean
        return ObsStats(
            total,
            self.mean + delta * (count / total),
            self.m2 + m2 + delta**2 * (self.count * count / total),
        )

    def std(self, floor: float) -> np.ndarray:
        """Population std, floored (a constant dimension is divided by ``floor``, not 0)."""
        if self.count == 0:
            return np.ones_like(self.mean)
        return np.maximum(np.sqrt(self.m2 / self.count), floor)
