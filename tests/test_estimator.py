"""ES estimator edge cases: gradient scale and observation counts (results across backends,
worker counts and chunkings: tests/test_backends.py)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_trainer, small_config

from esenas_core.api.plugins import Registries
from esenas_core.engine.es import antithetic_weights, combine, forward_fd_weights
from esenas_core.engine.seeding import perturbation
from esenas_core.engine.trainer import Trainer

DIM, SIGMA = 12, 0.05
SLOPE = np.linspace(-1.0, 1.0, DIM) + 0.3  # f(θ) = SLOPE · θ, so the true gradient is SLOPE


def mean_projection(estimator: str, shaping: str, pairs: int, draws: int) -> float:
    """E[g · â] over ``draws`` independent gradients of ``pairs`` directions each."""
    unit = SLOPE / np.linalg.norm(SLOPE)
    projections = []
    for draw in range(draws):
        seeds = [draw * 10**6 + i for i in range(pairs)]
        eps = np.stack([perturbation(s, DIM) for s in seeds])
        if estimator == "antithetic":
            weights = antithetic_weights(SIGMA * eps @ SLOPE, -SIGMA * eps @ SLOPE, SIGMA, shaping)
        else:
            weights = forward_fd_weights(SIGMA * eps @ SLOPE, 0.0, SIGMA, shaping)
        projections.append(combine(weights, seeds, DIM) @ unit)
    return float(np.mean(projections))


@pytest.mark.parametrize("shaping", ["none", "zscore", "centered_rank"])
@pytest.mark.parametrize("estimator", ["antithetic", "forward_fd"])
def test_the_gradient_scale_does_not_change_with_the_number_of_pairs(estimator, shaping) -> None:
    # 64 gradients of 8 directions against 8 of 512: the same expected step along the gradient
    few = mean_projection(estimator, shaping, pairs=8, draws=64)
    many = mean_projection(estimator, shaping, pairs=512, draws=8)
    assert few > 0 and many > 0
    assert few / many == pytest.approx(1.0, abs=0.2), (few, many)
    if shaping == "none":  # unshaped: an unbiased estimate of the true gradient
        assert many == pytest.approx(np.linalg.norm(SLOPE), rel=0.1)


def train(registries: Registries, backend: dict, lockstep: int = 8, **sections) -> Trainer:
    task = {"name": "gym", "env_id": "CartPole-v1", "max_episode_steps": 200, "lockstep": lockstep}
    data = small_config(iterations=2, backend=backend, task=task, **sections)
    trainer = make_trainer(registries, data)
    trainer.train()
    return trainer


def test_observation_count_equals_env_steps(registries: Registries) -> None:
    # CartPole episodes end at different steps: no padded or post-episode observation is counted
    trainer = train(registries, {"name": "serial"}, es={"num_perturbations": 9, "exact_evals": 3})
    lengths = [row["env_steps"] for row in trainer.history]
    assert trainer.obs.count == trainer.state.env_steps == lengths[-1]
    assert trainer.state.env_steps < 2 * (2 * 9 + 3) * 200  # some episodes ended before the limit
