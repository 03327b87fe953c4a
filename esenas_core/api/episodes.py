"""Per-episode return and observation statistics, one definition for every task.

The per-environment ``gym`` task and batched tasks (``VectorTask``) both end here, so an episode
gets the same bits whichever path ran it, whatever batch it shared and in whatever order its
batch finished. Every sum runs over time steps in order, one IEEE addition per step: numpy's
own reductions switch between sequential and pairwise summation with the array's shape (a
``(T, 1)`` array sums pairwise, a ``(T, 2)`` one sequentially), so they are not used here.
"""

from __future__ import annotations

import attrs
import numpy as np


@attrs.frozen(eq=False)
class EpisodeResult:
    """What a task returns for one episode: its return, its steps, and the count, mean and M2
    (sum of squared deviations) of the observations its policy saw."""

    reward: float
    steps: int
    obs_count: int
    obs_mean: np.ndarray
    obs_m2: np.ndarray


def episode_results(
    observations: np.ndarray, rewards: np.ndarray, lengths: np.ndarray
) -> list[EpisodeResult]:
    """``observations`` (T, B, obs_dim) and ``rewards`` (T, B) of B episodes stepped together;
    episode ``b`` ran ``lengths[b]`` ≥ 1 steps and saw ``observations[:lengths[b], b]`` (the
    observation its policy acted on at each step); entries past its length are never read.

    Returns per episode: the return Σ r_t, and the count, mean and M2 = Σ (o_t − mean)² of its
    observations (merged across episodes with Chan et al.'s formula by the engine).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    steps, batch = rewards.shape
    if observations.shape[:2] != (steps, batch) or lengths.shape != (batch,):
        raise ValueError(
            f"episode_results: observations {observations.shape}, rewards {rewards.shape} and"
            f" lengths {lengths.shape} do not align"
        )
    if batch == 0:
        return []
    if lengths.min() < 1 or lengths.max() > steps:
        raise ValueError(f"episode_results: lengths must lie in [1, {steps}]")
    with np.errstate(all="ignore"):  # a NaN or inf observation fails its own episode only
        return _results(observations, rewards, lengths)


def _results(
    observations: np.ndarray, rewards: np.ndarray, lengths: np.ndarray
) -> list[EpisodeResult]:
    batch = len(lengths)
    horizon, everyone = int(lengths.max()), int(lengths.min())  # all running before `everyone`
    total = np.zeros(batch)
    sums = np.zeros((batch, observations.shape[2]))
    for t in range(horizon):
        if t < everyone:
            total += rewards[t]
            sums += observations[t]
        else:
            live = lengths > t
            np.add(total, rewards[t], out=total, where=live)
            np.add(sums, observations[t], out=sums, where=live[:, None])
    means = sums / lengths[:, None].astype(np.float64)
    m2 = np.zeros_like(sums)
    for t in range(horizon):
        diff = observations[t] - means
        if t < everyone:
            m2 += diff * diff
        else:
            np.add(m2, diff * diff, out=m2, where=(lengths > t)[:, None])
    return [
        EpisodeResult(float(total[b]), int(lengths[b]), int(lengths[b]), means[b], m2[b])
        for b in range(batch)
    ]
