"""Request layout and result bookkeeping of one ES iteration (pure functions, no I/O).

Layout: perturbation i has ``members`` rollouts (antithetic: +ε then −ε; forward FD: +ε) at
request indices members·i + s, followed by the exact evaluations at θ. With
``pair_architecture = "shared"`` one genome serves all members of a perturbation; with
``"independent"`` (the original's behaviour) every rollout has its own genome.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from esenas_core.api.decisions import DecisionSpace
from esenas_core.api.errors import GenomeError, PluginError
from esenas_core.api.records import RolloutRequest, RolloutResult
from esenas_core.engine.es import SHAPINGS
from esenas_core.engine.esconfig import ESConfig
from esenas_core.engine.seeding import STREAM_ENV, STREAM_PERTURBATION, derive_seeds
from esenas_core.engine.told import Told


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


def exact_part(es: ESConfig, items: Any) -> Any:
    """The last ``es.exact_evals`` items: the exact evaluations' genomes, requests or results."""
    return items[len(items) - es.exact_evals :]


def genomes_needed(es: ESConfig) -> int:
    per_unit = es.members if es.pair_architecture == "independent" else 1
    return es.num_perturbations * per_unit + es.exact_evals


@attrs.frozen(eq=False)
class Layout:
    """One attempt's requests as columns (request ``r`` evaluates ``genomes[genome_index[r]]``
    at θ + ``sign[r]``·σ·ε(``perturbation_seed[r]``), resetting with ``env_seed[r]``)."""

    index: np.ndarray  # (B,) int64
    perturbation_seed: np.ndarray  # (B,) int64 (0 for an exact evaluation)
    sign: np.ndarray  # (B,) int64: +1, −1, or 0 (exact)
    env_seed: np.ndarray  # (B,) int64
    genome_index: np.ndarray  # (B,) int64
    seeds: np.ndarray  # (n,) int64: the perturbation seed of each unit

    def requests(self, genomes: np.ndarray) -> list[RolloutRequest]:
        """The requests as objects (what backends take)."""
        rows = zip(
            self.index.tolist(),
            self.perturbation_seed.tolist(),
            self.sign.tolist(),
            self.genome_index.tolist(),
            self.env_seed.tolist(),
            strict=True,
        )
        return [RolloutRequest(i, p, s, genomes[g], e) for i, p, s, g, e in rows]


def request_layout(es: ESConfig, run_seed: int, iteration: int, attempt: int) -> Layout:
    """The layout of an attempt: seeds derive from (run seed, iteration, attempt, unit)."""
    n, members, exact = es.num_perturbations, es.members, es.exact_evals
    units = np.arange(n + exact)
    p_seeds = derive_seeds(run_seed, STREAM_PERTURBATION, iteration, attempt, last=units[:n])
    # All members of a unit reset their environment with the same seed (common random numbers).
    e_seeds = derive_seeds(run_seed, STREAM_ENV, iteration, attempt, last=units)
    unit = np.concatenate([np.repeat(np.arange(n), members), n + np.arange(exact)])
    sign = np.concatenate([np.tile(np.array((1, -1)[:members]), n), np.zeros(exact, np.int64)])
    first_exact = genomes_needed(es) - exact
    perturbed = (
        np.arange(members * n) if es.pair_architecture == "independent" else unit[: n * members]
    )
    return Layout(
        index=np.arange(members * n + exact, dtype=np.int64),
        perturbation_seed=np.concatenate([np.repeat(p_seeds, members), np.zeros(exact, np.int64)]),
        sign=sign.astype(np.int64),
        env_seed=e_seeds[unit],
        genome_index=np.concatenate([perturbed, first_exact + np.arange(exact)]).astype(np.int64),
        seeds=p_seeds,
    )


def build_requests(
    es: ESConfig, genomes: np.ndarray, run_seed: int, iteration: int, attempt: int
) -> tuple[list[RolloutRequest], list[int]]:
    """The iteration's requests and the perturbation seed of each unit."""
    layout = request_layout(es, run_seed, iteration, attempt)
    return layout.requests(genomes), layout.seeds.tolist()


@attrs.frozen(eq=False)
class Outcome:
    """The valid part of an iteration's results."""

    unit_ok: np.ndarray  # (n,) bool: every member finished with a finite reward
    rewards: np.ndarray  # (n_ok, members) returns of the valid units
    exact_ok: np.ndarray  # (exact_evals,) bool
    exact_reward: np.ndarray  # (exact_evals,) float64 (NaN where failed)

    @property
    def exact_rewards(self) -> np.ndarray:
        """The finished exact evaluations' returns."""
        return self.exact_reward[self.exact_ok]


def outcome(es: ESConfig, told: Told | Sequence[RolloutResult]) -> Outcome:
    if not isinstance(told, Told):
        told = Told.of(told)
    n, members = es.num_perturbations, es.members
    unit_ok = np.asarray(told.ok[: members * n].reshape(n, members).all(axis=1))
    rows = (members * np.flatnonzero(unit_ok)[:, None] + np.arange(members)).ravel()
    rewards = told.reward[rows]
    return Outcome(
        unit_ok, rewards.reshape(-1, members), told.ok[members * n :], told.reward[members * n :]
    )


def quorum(es: ESConfig) -> int:
    """The fewest valid perturbations an iteration accepts (at least one)."""
    return max(1, math.ceil(es.min_valid_fraction * es.num_perturbations))


def accepted(es: ESConfig, out: Outcome) -> bool:
    """Quorum of valid units (and, for an estimator with a baseline such as forward FD, at least
    one exact evaluation for f(θ))."""
    return out.unit_ok.sum() >= quorum(es) and (not es.uses_baseline or out.exact_rewards.size > 0)


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
    fed.append(exact_part(es, genomes)[out.exact_ok])
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
