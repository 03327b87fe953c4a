"""Observation statistics merged across rollouts (Chan et al.'s parallel variance formula)."""

from __future__ import annotations

import attrs
import numba
import numpy as np

_EXACT = 2**53  # below it, integers and their products are exact doubles: the kernel's division


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

    def merge_many(self, counts: np.ndarray, means: np.ndarray, m2s: np.ndarray) -> ObsStats:
        """``merge`` of each row in turn (rows with count 0 change nothing), compiled: the same
        bits as the loop of ``merge`` (the same operations in the same order; counts whose
        products could leave the exact range of doubles take the loop itself)."""
        counts = np.asarray(counts, dtype=np.int64)
        keep = counts > 0
        if not keep.any():
            return self
        counts, means, m2s = counts[keep], means[keep], m2s[keep]
        total = self.count + int(counts.sum())
        if total * int(counts.max()) >= _EXACT:
            out = self
            for c, m, s in zip(counts.tolist(), means, m2s, strict=True):
                out = out.merge(c, m, s)
            return out
        mean, m2 = _merge_rows(
            self.count,
            np.array(self.mean, dtype=np.float64),
            np.array(self.m2, dtype=np.float64),
            counts,
            np.ascontiguousarray(means, dtype=np.float64),
            np.ascontiguousarray(m2s, dtype=np.float64),
        )
        return ObsStats(total, mean, m2)

    def std(self, floor: float) -> np.ndarray:
        """Population std, floored (a constant dimension is divided by ``floor``, not 0)."""
        if self.count == 0:
            return np.ones_like(self.mean)
        return np.maximum(np.sqrt(self.m2 / self.count), floor)


@numba.njit(cache=True, nogil=True)
def _merge_rows(count, mean, m2, counts, means, m2s):  # pragma: no cover (compiled)
    """``ObsStats.merge`` over the rows in order, in place on copies of ``mean`` and ``m2``."""
    for i in range(counts.shape[0]):
        c = counts[i]
        total = count + c
        share = c / total
        weight = (count * c) / total
        for j in range(mean.shape[0]):
            delta = means[i, j] - mean[j]
            mean[j] = mean[j] + delta * share
            m2[j] = m2[j] + m2s[i, j] + (delta * delta) * weight
        count = total
    return mean, m2
