"""The four plugin interfaces: Task, SearchSpace, Controller, Backend.

Every plugin class carries a ``name`` (its registry key) and an ``Options`` class (a frozen attrs
class whose fields are the plugin's config keys; the core structures the config table into it and
reports unknown or mistyped keys with the plugin's name).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np

from esenas_core.decisions import DecisionSpace
from esenas_core.rollouts import EpisodeResult, Job, RolloutRequest, RolloutResult


@attrs.frozen
class NoOptions:
    """Options class of a plugin that takes none."""


@attrs.frozen
class TaskSpec:
    """What a search space must know about the environment."""

    obs_dim: int
    act_dim: int
    discrete: bool = False
    action_low: tuple[float, ...] | None = None
    action_high: tuple[float, ...] | None = None


@attrs.frozen(eq=False)
class Architecture:
    """A decoded genome: the genome itself plus named arrays (masks, colours, ops, …).

    Small and serializable: ``to_json()`` / ``from_json()`` round-trip it.
    """

    genome: np.ndarray
    parts: Mapping[str, np.ndarray] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "genome": [int(x) for x in self.genome],
            "parts": {k: np.asarray(v).tolist() for k, v in self.parts.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Architecture:
        return cls(
            genome=np.asarray(data["genome"], dtype=np.int64),
            parts={k: np.asarray(v) for k, v in data.get("parts", {}).items()},
        )


class Network(abc.ABC):
    """A batch of B networks evaluated together: ``(B, obs_dim) -> (B, act_dim)`` in [-1, 1]."""

    @abc.abstractmethod
    def __call__(self, obs: np.ndarray) -> np.ndarray: ...

    @abc.abstractmethod
    def take(self, rows: np.ndarray) -> Network:
        """The sub-batch of networks ``rows`` (used when some episodes of a batch have ended)."""

    def with_input_normalization(self, mean: np.ndarray, std: np.ndarray) -> Network:
        """These networks applied to (obs − mean) / std. Override to fold it into the weights."""
        return _NormalizedNetwork(self, mean, std)


class _NormalizedNetwork(Network):
    def __init__(self, net: Network, mean: np.ndarray, std: np.ndarray) -> None:
        self.net, self.mean, self.inv_std = net, mean, 1.0 / std

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self.net((obs - self.mean) * self.inv_std)

    def take(self, rows: np.ndarray) -> Network:
        return _NormalizedNetwork(self.net.take(rows), self.mean, 1.0 / self.inv_std)


class SearchSpace(abc.ABC):
    """A supernet θ plus a decision space whose genomes select sub-networks of it."""

    name: ClassVar[str]
    Options: ClassVar[type] = NoOptions

    def __init__(self, options: Any, task: TaskSpec) -> None:
        self.options = options
        self.task = task

    @property
    @abc.abstractmethod
    def decisions(self) -> DecisionSpace:
        """The decision space that genomes live in."""

    @property
    @abc.abstractmethod
    def num_params(self) -> int:
        """The length d of θ."""

    @abc.abstractmethod
    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        """A fresh θ of length ``num_params``."""

    @abc.abstractmethod
    def decode(self, genome: np.ndarray) -> Architecture:
        """The architecture of a valid genome (deterministic)."""

    @abc.abstractmethod
    def network(self, params: np.ndarray, architectures: Sequence[Architecture]) -> Network:
        """A batched network for ``params`` of shape (B, d) and B architectures."""

    @abc.abstractmethod
    def describe(self, architecture: Architecture) -> dict[str, int]:
        """Size statistics: at least ``edges``, ``multiplications`` and ``params_in_use``."""

    @property
    def objectives(self) -> int:
        """Length of the reward vector ``controller_rewards`` returns (1: scalar rewards)."""
        return 1

    def controller_rewards(self, genomes: np.ndarray, rewards: np.ndarray) -> np.ndarray:
        """What the controller is told for these genomes' rewards: (n,) or (n, objectives).

        The default passes the rewards through; a multi-objective space scores size too.
        """
        return rewards

    def selection_scores(self, genomes: np.ndarray, rewards: np.ndarray) -> np.ndarray:
        """(n,) scalars by which a run picks its best architecture (``best/``).

        The controller's reward where that is a scalar — so a size-penalized objective picks the
        best trade-off, not the highest return — else (vector objectives) the return; the
        trade-off of a vector objective is in the run's Pareto front (``evaluations.csv``).
        """
        if self.objectives == 1:
            return np.asarray(self.controller_rewards(genomes, rewards), dtype=np.float64)
        return np.asarray(rewards, dtype=np.float64)

    def param_mask(self, architecture: Architecture) -> np.ndarray:
        """Which coordinates of θ this architecture reads (bool, length ``num_params``).

        The default says all of them; spaces that prune override it (the ``hybrid`` task uses it).
        """
        return np.ones(self.num_params, dtype=bool)


class Task(abc.ABC):
    """Where rewards come from: builds environments on the worker and runs episodes."""

    name: ClassVar[str]
    Options: ClassVar[type] = NoOptions

    def __init__(self, options: Any) -> None:
        self.options = options

    @abc.abstractmethod
    def spec(self) -> TaskSpec:
        """Observation/action sizes; raise ``ConfigError`` if the task cannot be built."""

    @abc.abstractmethod
    def run_episodes(
        self,
        space: SearchSpace,
        params: np.ndarray,
        architectures: Sequence[Architecture],
        env_seeds: Sequence[int],
        obs_mean: np.ndarray,
        obs_std: np.ndarray,
    ) -> list[EpisodeResult]:
        """One episode per row of ``params`` (B, d), observations normalized with mean/std."""

    def close(self) -> None:
        """Release environments (optional)."""


class Controller(abc.ABC):
    """Ask/tell architecture search over a decision space."""

    name: ClassVar[str]
    Options: ClassVar[type] = NoOptions
    #: True if ``feedback`` accepts reward vectors (n, objectives) from multi-objective spaces.
    accepts_vectors: ClassVar[bool] = False

    def __init__(self, options: Any, decisions: DecisionSpace, seed: int) -> None:
        self.options = options
        self.decisions = decisions
        self.rng = np.random.default_rng(seed)

    @abc.abstractmethod
    def propose(self, n: int) -> np.ndarray:
        """``n`` genomes as an ``(n, L)`` int64 array (any n ≥ 0, also before any feedback)."""

    @abc.abstractmethod
    def feedback(self, genomes: np.ndarray, rewards: np.ndarray) -> None:
        """Rewards (n,) — or (n, objectives) if ``accepts_vectors`` — of finished rollouts.

        Non-finite rewards are skipped and counted.
        """

    @abc.abstractmethod
    def state(self) -> dict[str, Any]:
        """Everything needed to continue exactly (JSON-serializable)."""

    @abc.abstractmethod
    def restore(self, state: Mapping[str, Any]) -> None:
        """Inverse of ``state()``: the next proposals equal those of the original."""

    def stats(self) -> dict[str, float]:
        """Numbers for the metrics row (same keys every call)."""
        return {}


class Backend(abc.ABC):
    """Runs rollout requests somewhere; a context manager (``with backend: ...``)."""

    name: ClassVar[str]
    Options: ClassVar[type] = NoOptions

    def __init__(self, options: Any) -> None:
        self.options = options

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release workers."""

    @abc.abstractmethod
    def evaluate(
        self, job: Job, requests: Sequence[RolloutRequest], timeout: float | None = None
    ) -> list[RolloutResult]:
        """One result per request, in request order (failures marked, never raised).

        :param timeout: seconds; requests not finished by then come back failed ("timeout") and
            their work is cancelled where the backend can cancel it.
        """
