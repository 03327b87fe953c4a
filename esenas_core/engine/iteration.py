"""Request layout and result bookkeeping of one ES iteration (pure functions, no I/O).

Layout: perturbation i has ``members`` rollouts (antithetic: +ε then −ε; forward FD: +ε) at
request indices members·i + s, followed by the exact evaluations at θ. With
``pair_architecture = "shared"`` one genome serves all members of a perturbation; with
``"independent"`` (the original's behaviour) every rollout has its own genome.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from esenas_core.api.decisions import DecisionSpace
from esenas_core.api.errors import GenomeError, PluginError
from esenas_core.api.records import RolloutRequest, RolloutResult
from esenas_core.engine.es import SHAPINGS, antithetic_weights, forward_fd_weights, top_k_pairs
from esenas_core.engine.esconfig import ESConfig
from esenas_core.engine.seeding import STREAM_ENV, STREAM_PERTURBATION, derive_seeds


@attrs.frozen
class IterationPlan:
    """One iteration's schedule and request layout: σ and η at this iteration, how many genomes
    the controller proposes, and which of them — the last ``es.exact_evals`` — are evaluated at
    θ (the rest are one per perturbation, or per rollout with independent architectures)."""

    es: ESConfig
    iteration: int  # 0-based: the number of iterations done before this one

    @property
    def number(self) -> int:
        """This iteration's number as rows, logs and θ's version count it (1-based): the
        iterations done once it has finished."""
        return self.iteration + 1

    @property
    def sigma(self) -> float:
        return self.es.sigma_at(self.iteration)

    @property
    def learning_rate(self) -> float:
        return self.es.learning_rate_at(self.iteration)

    @property
    def genomes(self) -> int:
        return genomes_needed(self.es)

    def exact(self, items: Any) -> Any:
        """The exact evaluations' part of ``items`` (genomes, requests, …) in request order."""
        return exact_part(self.es, items)

    def requests(
        self, genomes: np.ndarray, run_seed: int, attempt: int
    ) -> tuple[list[RolloutRequest], list[int]]:
        return build_requests(self.es, genomes, run_seed, self.iteration, attempt)


def exact_part(es: ESConfig, items: Any) -> Any:
    """The last ``es.exact_evals`` items: the exact evaluations' genomes, requests or results."""
    return items[len(items) - es.exact_evals :]


def genomes_needed(es: ESConfig) -> int:
    per_unit = es.members if es.pair_architecture == "independent" else 1
    return es.num_perturbations * per_unit + es.exact_evals


def build_requests(
    es: ESConfig, genomes: np.ndarray, run_seed: int, iteration: int, attempt: int
) -> tuple[list[RolloutRequest], list[int]]:
    """The iteration's requests and the perturbation seed of each unit."""
    n, members = es.num_perturbations, es.members
    signs = (1, -1)[:members]
    independent = es.pair_architecture == "independent"
    units = np.arange(n + es.exact_evals)
    p_seeds = derive_seeds(run_seed, STREAM_PERTURBATION, iteration, attempt, last=units[:n])
    # All members of a unit reset their environment with the same seed (common random numbers).
    e_seeds = derive_seeds(run_seed, STREAM_ENV, iteration, attempt, last=units).tolist()
    seeds = p_seeds.tolist()
    requests = []
    for i in range(n):
        for s, sign in enumerate(signs):
            idx = members * i + s
            genome = genomes[idx] if independent else genomes[i]
            requests.append(RolloutRequest(idx, seeds[i], sign, genome, e_seeds[i]))
    for j, genome in enumerate(exact_part(es, genomes)):
        requests.append(RolloutRequest(members * n + j, 0, 0, genome, e_seeds[n + j]))
    return requests, seeds


@attrs.frozen(eq=False)
class Outcome:
    """The valid part of an iteration's results."""

    unit_ok: np.ndarray  # (n,) bool: every member finished with a finite reward
    rewards: np.ndarray  # (n_ok, members) returns of the valid units
    exact: list[RolloutResult]

    @property
    def exact_rewards(self) -> np.ndarray:
        return np.array([r.finished.reward for r in self.exact if r.ok])


def outcome(es: ESConfig, results: list[RolloutResult]) -> Outcome:
    n, members = es.num_perturbations, es.members
    units = results[: members * n]
    unit_ok = np.asarray(
        np.array([r.ok for r in units], dtype=bool).reshape(n, members).all(axis=1)
    )
    rows = (members * np.flatnonzero(unit_ok)[:, None] + np.arange(members)).ravel()
    rewards = np.array([units[i].finished.reward for i in rows], dtype=np.float64)
    return Outcome(unit_ok, rewards.reshape(-1, members), results[members * n :])


def quorum(es: ESConfig) -> int:
    """The fewest valid perturbations an iteration accepts (at least one)."""
    return max(1, math.ceil(es.min_valid_fraction * es.num_perturbations))


def accepted(es: ESConfig, out: Outcome) -> bool:
    """Quorum of valid units (and, for forward FD, at least one exact evaluation for f_0)."""
    return out.unit_ok.sum() >= quorum(es) and (es.members == 2 or out.exact_rewards.size > 0)


def gradient_weights(
    es: ESConfig, out: Outcome, seeds: list[int], sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """The ES gradient as scalars: weights w_i and perturbation seeds s_i of the directions used,
    g = Σ_i w_i ε(s_i) (``es.noise_spec.combine``)."""
    ok_seeds = np.asarray(seeds, dtype=np.int64)[out.unit_ok]
    if es.estimator == "antithetic":
        keep = top_k_pairs(out.rewards[:, 0], out.rewards[:, 1], es.top_k)
        f_plus, f_minus = out.rewards[keep, 0], out.rewards[keep, 1]
        return antithetic_weights(f_plus, f_minus, sigma, es.fitness_shaping), ok_seeds[keep]
    f0 = float(out.exact_rewards.mean())
    weights = forward_fd_weights(out.rewards[:, 0], f0, sigma, es.fitness_shaping)
    return weights, ok_seeds


def controller_feedback(
    es: ESConfig, genomes: np.ndarray, out: Outcome
) -> tuple[np.ndarray, np.ndarray]:
    """(genomes, rewards) for the controller: every finished unit and exact evaluation.

    Shared architecture: the unit's mean return for its genome. Independent: each rollout's
    return for its own genome. ``controller_reward = "shaped"`` applies the fitness shaping to
    this iteration's controller rewards.
    """
    members = es.members
    ok = np.flatnonzero(out.unit_ok)
    if es.pair_architecture == "independent":
        rows = (members * ok[:, None] + np.arange(members)).ravel()
        fed, rewards = [genomes[rows]], [out.rewards.ravel()]
    else:
        fed, rewards = [genomes[ok]], [out.rewards.mean(axis=1)]
    exact_ok = [j for j, r in enumerate(out.exact) if r.ok]
    fed.append(exact_part(es, genomes)[np.array(exact_ok, dtype=int)])
    rewards.append(out.exact_rewards)
    all_rewards = np.concatenate(rewards)
    if es.controller_reward == "shaped":
        all_rewards = SHAPINGS[es.fitness_shaping](all_rewards)
    return np.concatenate(fed, axis=0), all_rewards


def check_proposals(name: str, genomes: Any, n: int, decisions: DecisionSpace) -> np.ndarray:
    """The controller's proposals as an (n, L) int64 array, or ``PluginError`` naming the
    controller: the wrong count, a non-integer dtype or an invalid genome stops the run before
    anything is evaluated."""
    try:
        arr = np.asarray(genomes)
    except (TypeError, ValueError):
        arr = np.zeros(0)
    if arr.ndim != 2 or arr.shape[0] != n:
        shape = (
            getattr(genomes, "shape", None) or f"a {type(genomes).__name__} of shape {arr.shape}"
        )
        raise PluginError(
            f"[controller] {name}: propose({n}) returned {shape}; it must return an"
            f" ({n}, {decisions.length}) integer array"
        )
    try:
        return decisions.validate_many(arr)
    except GenomeError as exc:
        raise PluginError(f"[controller] {name}: propose({n}) returned an invalid {exc}") from None
