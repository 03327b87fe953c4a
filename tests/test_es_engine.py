"""ES engine options (issue: every estimator and option, switchable from the config)."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from conftest import make_trainer, small_config
from hypothesis import given, settings
from hypothesis import strategies as st

from esenas_core import ConfigError
from esenas_core.api.plugins import Registries
from esenas_core.backends import EpisodeResult, RolloutResult
from esenas_core.engine.es import (
    antithetic_weights,
    centered_rank,
    combine,
    forward_fd_weights,
    top_k_pairs,
)
from esenas_core.engine.esconfig import ESConfig
from esenas_core.engine.iteration import controller_feedback, outcome
from esenas_core.engine.seeding import derive_seed, perturbation
from esenas_core.engine.trainer import Trainer
from esenas_core.runs.config import build_config


def hybrid_config(**es: object) -> dict:
    return small_config(
        iterations=3,
        task={"name": "hybrid", "obs_dim": 3, "act_dim": 2, "active": 3, "target_seed": 0},
        search_space={"name": "edges", "hidden": [], "k": 6, "init_std": 0.0},
        es={
            "num_perturbations": 8,
            "exact_evals": 2,
            "sigma": 0.1,
            "learning_rate": 0.05,
            "obs_norm": False,
            **es,
        },
    )


def trainer_for(registries: Registries, data: dict) -> Trainer:
    return make_trainer(registries, data)


# -- estimators ------------------------------------------------------------------------------------


def _estimates(kind: str, rollouts: int, repeats: int, dim: int = 10) -> np.ndarray:
    center = np.linspace(-1.0, 1.0, dim)
    # Near the optimum (late training): the curvature term σ/2·εᵀHε, which antithetic pairs
    # cancel and forward differences do not, dominates the small gradient.
    theta, sigma = center + 0.02, 0.1
    f = lambda x: -float(np.sum((x - center) ** 2))  # noqa: E731
    out = []
    for r in range(repeats):
        if kind == "antithetic":
            seeds = [derive_seed(9, r, i) for i in range(rollouts // 2)]
            fp = np.array([f(theta + sigma * perturbation(s, dim)) for s in seeds])
            fm = np.array([f(theta - sigma * perturbation(s, dim)) for s in seeds])
            w = antithetic_weights(fp, fm, sigma, "none")
        else:
            seeds = [derive_seed(9, r, i) for i in range(rollouts)]
            fs = np.array([f(theta + sigma * perturbation(s, dim)) for s in seeds])
            w = forward_fd_weights(fs, f(theta), sigma, "none")
        out.append(combine(w, seeds, dim))
    return np.array(out), -2.0 * (theta - center)


def test_antithetic_has_lower_variance_than_forward_fd_at_equal_samples() -> None:
    anti, true = _estimates("antithetic", rollouts=40, repeats=60)
    fd, _ = _estimates("forward_fd", rollouts=40, repeats=60)
    mse_anti = np.mean(np.sum((anti - true) ** 2, axis=1))
    mse_fd = np.mean(np.sum((fd - true) ** 2, axis=1))
    assert mse_anti < 0.5 * mse_fd


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-1000, 1000), min_size=2, max_size=30, unique=True))
def test_centered_rank_is_invariant_to_monotone_transforms(values: list[int]) -> None:
    x = np.array(values, dtype=np.float64)
    ranks = centered_rank(x)
    np.testing.assert_allclose(centered_rank(np.exp(x / 100) * 5 - 2), ranks)
    np.testing.assert_allclose(centered_rank(x**3), ranks)
    assert ranks.min() == -0.5 and ranks.max() == 0.5


def test_top_k_keeps_pairs_with_largest_max() -> None:
    fp = np.array([1.0, 5.0, 0.0, 2.0])
    fm = np.array([0.0, 0.0, 9.0, 1.0])
    assert top_k_pairs(fp, fm, 2).tolist() == [1, 2]
    assert top_k_pairs(fp, fm, 0).tolist() == [0, 1, 2, 3]


def test_forward_fd_uses_f0_in_the_zscore() -> None:
    w = forward_fd_weights(np.array([1.0, 3.0]), 2.0, 1.0, "zscore")
    z = (np.array([1.0, 3.0, 2.0]) - 2.0) / np.std([1.0, 3.0, 2.0])
    np.testing.assert_allclose(w, (z[:2] - z[2]) / 2)


# -- optimizers and options through the trainer --------------------------------------------------


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_optimizers_converge_on_hybrid_sphere(registries: Registries, optimizer: str) -> None:
    lr = 0.01 if optimizer == "sgd" else 0.05
    data = hybrid_config(optimizer=optimizer, learning_rate=lr)
    data["iterations"] = 150
    data["search_space"]["k"] = 6  # every edge: a pure continuous problem
    trainer = trainer_for(registries, data)
    task = trainer.exp.task
    start = -float(np.sum(task.target(trainer.theta.size) ** 2))
    trainer.train()
    assert trainer.history[-1]["score_mean"] > 0.02 * start  # within 2 % of the initial error
    np.testing.assert_allclose(trainer.theta, task.target(trainer.theta.size), atol=0.1)


def test_es_enas_finds_the_known_best_architecture(registries: Registries) -> None:
    data = small_config(
        iterations=150,
        task={"name": "hybrid", "obs_dim": 6, "act_dim": 3, "active": 4, "target_seed": 1},
        search_space={"name": "edges", "hidden": [], "k": 4, "init_std": 0.0},
        controller={
            "name": "regularized_evolution",
            "regularized_evolution": {"population_size": 20, "tournament_size": 5},
        },
        es={"num_perturbations": 16, "sigma": 0.1, "learning_rate": 0.02, "obs_norm": False},
    )
    trainer = trainer_for(registries, data)
    target = trainer.exp.task.target(trainer.theta.size)
    needed = {int(j) for j in np.flatnonzero(target) if j < trainer.exp.space.num_edges}
    assert len(needed) >= 3  # the test is not trivial
    best = trainer.train()
    assert needed <= set(best.architecture.genome.tolist())
    assert best.score > -0.01


def test_top_k_uses_k_directions(registries: Registries) -> None:
    trainer = trainer_for(registries, hybrid_config(top_k=3))
    assert trainer.step()["directions_used"] == 3


def test_top_k_needs_antithetic(registries: Registries) -> None:
    with pytest.raises(ConfigError, match=r"\[estimator\] forward_fd: es.top_k .* 'antithetic'"):
        build_config(hybrid_config(top_k=3, estimator="forward_fd"), registries)


def test_forward_fd_runs_one_rollout_per_direction(registries: Registries) -> None:
    trainer = trainer_for(registries, hybrid_config(estimator="forward_fd"))
    row = trainer.step()
    assert row["episodes"] == 8 + 2
    assert row["directions_used"] == 8


def test_independent_architectures_one_genome_per_rollout(registries: Registries) -> None:
    trainer = trainer_for(registries, hybrid_config(pair_architecture="independent"))
    row = trainer.step()
    assert row["controller_feedback"] == 2 * 8 + 2


def test_schedules(registries: Registries) -> None:
    trainer = trainer_for(
        registries,
        hybrid_config(sigma_decay=0.5, sigma_min=0.03, learning_rate_decay=0.9),
    )
    rows = [trainer.step() for _ in range(3)]
    assert [r["sigma"] for r in rows] == [0.1, 0.05, 0.03]
    np.testing.assert_allclose([r["learning_rate"] for r in rows], [0.05, 0.045, 0.0405])


def test_weight_decay_shrinks_theta_by_exactly_eta_lambda(registries: Registries) -> None:
    base = trainer_for(registries, hybrid_config(**{}))
    base.state.theta = np.linspace(-1, 1, base.theta.size)
    decayed = trainer_for(registries, hybrid_config(weight_decay=0.5))
    decayed.state.theta = base.theta.copy()
    theta0 = base.theta.copy()
    base.step()
    decayed.step()
    np.testing.assert_allclose(decayed.theta - base.theta, -0.05 * 0.5 * theta0, atol=1e-12)


def test_adam_first_step_moves_each_coordinate_by_the_learning_rate(registries: Registries) -> None:
    trainer = trainer_for(registries, hybrid_config(optimizer="adam", learning_rate=0.01))
    theta0 = trainer.theta.copy()
    trainer.step()
    step = np.abs(trainer.theta - theta0)
    np.testing.assert_allclose(step[step > 0], 0.01, rtol=1e-4)


def _result(index: int, reward: float) -> RolloutResult:
    return RolloutResult(index, EpisodeResult(reward, 1, 0, np.zeros(1), np.zeros(1)))


def test_shaped_controller_reward_and_pair_alignment() -> None:
    es = ESConfig(
        num_perturbations=3,
        exact_evals=1,
        controller_reward="shaped",
        fitness_shaping="centered_rank",
    )
    genomes = np.arange(4)[:, None] * np.ones((1, 2), dtype=np.int64)
    results = [
        _result(0, 1.0),
        _result(1, 3.0),  # pair 0: mean 2
        _result(2, 5.0),
        RolloutResult.failed(3, "boom"),  # pair 1: dropped whole
        _result(4, 7.0),
        _result(5, 9.0),  # pair 2: mean 8
        _result(6, 4.0),
    ]  # exact
    out = outcome(es, results)
    assert out.unit_ok.tolist() == [True, False, True]
    np.testing.assert_array_equal(out.rewards, [[1.0, 3.0], [7.0, 9.0]])
    fed, rewards = controller_feedback(es, genomes, out)
    assert fed[:, 0].tolist() == [0, 2, 3]
    np.testing.assert_allclose(rewards, centered_rank(np.array([2.0, 8.0, 4.0])))
    raw = controller_feedback(ESConfig(num_perturbations=3, exact_evals=1), genomes, out)[1]
    np.testing.assert_allclose(raw, [2.0, 8.0, 4.0])


def _literal_options() -> list[tuple[str, object]]:
    import typing

    attrs_fields = attrs.fields(attrs.resolve_types(ESConfig))
    return [
        (f.name, value)
        for f in attrs_fields
        if typing.get_origin(f.type) is typing.Literal
        for value in typing.get_args(f.type)
    ]


@pytest.mark.parametrize(("key", "value"), _literal_options())
def test_every_choice_of_every_es_option_runs_from_the_config(
    registries: Registries, key: str, value: object
) -> None:
    trainer = trainer_for(registries, hybrid_config(**{key: value}))
    assert getattr(trainer.cfg.es, key) == value
    row = trainer.step()
    assert np.isfinite(row["score_mean"]) and row["valid_units"] == 8
