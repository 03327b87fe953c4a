"""Small helpers shared by controllers: feedback checking, counters and RNG state."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The generator's bit-generator state (plain JSON-able dict)."""
    return copy.deepcopy(dict(rng.bit_generator.state))


def set_rng_state(rng: np.random.Generator, state: Mapping[str, Any]) -> None:
    rng.bit_generator.state = copy.deepcopy(dict(state))


def check_feedback(genomes: np.ndarray, rewards: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate shapes; return (genomes, rewards) as arrays. Raises ValueError on a mismatch."""
    genomes = np.asarray(genomes, dtype=np.int64)
    rewards = np.asarray(rewards, dtype=np.float64)
    if genomes.ndim != 2 or rewards.ndim not in (1, 2) or genomes.shape[0] != rewards.shape[0]:
        raise ValueError(
            "feedback needs genomes (n, L) and rewards (n,),"
            f" got {genomes.shape} and {rewards.shape}"
        )
    return genomes, rewards


class FeedbackCounter:
    """Counts feedback, skips non-finite rewards (counted), and tracks the best reward seen
    (the first objective for reward vectors)."""

    def __init__(self, received: int = 0, skipped: int = 0, best: float = -np.inf) -> None:
        self.received = received
        self.skipped = skipped
        self.best = best

    def accept(self, genomes: np.ndarray, rewards: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The finite (genome, reward) pairs; the others are counted in ``skipped``."""
        genomes, rewards = check_feedback(genomes, rewards)
        finite = np.isfinite(rewards) if rewards.ndim == 1 else np.isfinite(rewards).all(axis=1)
        self.received += int(finite.sum())
        self.skipped += int((~finite).sum())
        if finite.any():
            first = rewards[finite] if rewards.ndim == 1 else rewards[finite, 0]
            self.best = max(self.best, float(first.max()))
        return genomes[finite], rewards[finite]

    def stats(self) -> dict[str, float]:
        return {
            "feedback": float(self.received),
            "skipped_nonfinite": float(self.skipped),
            "best_reward": self.best if np.isfinite(self.best) else float("nan"),
        }

    def state(self) -> dict[str, Any]:
        best = self.best if np.isfinite(self.best) else None
        return {"received": self.received, "skipped": self.skipped, "best": best}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> FeedbackCounter:
        best = -np.inf if state["best"] is None else float(state["best"])
        return cls(int(state["received"]), int(state["skipped"]), best)
