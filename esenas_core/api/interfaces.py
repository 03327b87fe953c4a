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

from esenas_core.api.controller_utils import FeedbackCounter, rng_state, set_rng_state
from esenas_core.api.decisions import DecisionSpace
from esenas_core.api.episodes import EpisodeResult
from esenas_core.api.records import Job, RolloutRequest, RolloutResult


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
        """The inverse of ``to_json``; ``ValueError`` naming the field for anything else (the
        data may come from a damaged or foreign file)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"architecture: expected a JSON object, got {type(data).__name__}")
        genome = data.get("genome")
        if not isinstance(genome, list) or not all(
            isinstance(g, int) and not isinstance(g, bool) and -(2**63) <= g < 2**63
            for g in genome
        ):
            raise ValueError("architecture.genome: expected a list of integers")
        parts = data.get("parts", {})
        if not isinstance(parts, Mapping) or not all(isinstance(v, list) for v in parts.values()):
            raise ValueError("architecture.parts: expected an object of lists")
        try:
            arrays = {str(k): np.asarray(v) for k, v in parts.items()}
        except ValueError as exc:
            raise ValueError(f"architecture.parts: {exc}") from None
        if any(a.dtype.kind not in "biuf" for a in arrays.values()):
            raise ValueError("architecture.parts: expected lists of numbers")
        return cls(genome=np.asarray(genome, dtype=np.int64), parts=arrays)


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
        ``check_search_space`` checks that θ outside the mask does not change the outputs.
        """
        return np.ones(self.num_params, dtype=bool)

    def label(self, architecture: Architecture) -> str:
        """The architecture's choices in words, for summaries (``report``'s summary.md).

        The default names each decision group's values; spaces override it with what the
        values mean (which edges, which ops)."""
        return self.decisions.describe(architecture.genome)

    def draw(self, architecture: Architecture, ax: Any) -> bool:
        """Draw the architecture on a matplotlib ``Axes``; False: this space has no picture."""
        return False


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

    def label(self) -> str:
        """What this task runs, in a few words for headers and titles (e.g. the environment
        id); empty: the plugin name says it all."""
        return ""

    @property
    def batch_size(self) -> int:
        """How many episodes ``run_episodes`` handles well at once: in-process backends hand it
        batches of this size (between batches they check their deadline)."""
        return 32

    def render_episode(
        self,
        space: SearchSpace,
        params: np.ndarray,
        architecture: Architecture,
        obs_mean: np.ndarray,
        obs_std: np.ndarray,
        seed: int,
        steps: int,
        every: int,
    ) -> list[np.ndarray]:
        """RGB frames (H, W, 3) of one episode of this policy, every ``every`` steps (optional:
        ``esenas evaluate --video``). Raise ``RunError`` if it cannot render here."""
        raise NotImplementedError


class Controller(abc.ABC):
    """Ask/tell architecture search over a decision space.

    A controller implements ``propose`` (its sampling) and, if it learns, ``learn`` (its update
    from finished rollouts). The base class owns the rest:

    - ``self.rng``: a ``np.random.Generator`` seeded by the run; draw every random number from it;
    - ``feedback``: checks shapes, skips and counts non-finite rewards (``self.counter``), then
      calls ``learn`` with the finite ones;
    - ``state`` / ``restore``: the JSON round trip of the RNG, the counters and whatever
      ``algorithm_state`` returns (``restore_algorithm`` gets it back);
    - ``stats``: the counters plus ``algorithm_stats``.

    ``esenas_core.check_controller`` checks a controller against this contract.
    """

    name: ClassVar[str]
    Options: ClassVar[type] = NoOptions
    #: True if ``learn`` accepts reward vectors (n, objectives) from multi-objective spaces.
    accepts_vectors: ClassVar[bool] = False

    def __init__(self, options: Any, decisions: DecisionSpace, seed: int) -> None:
        self.options = options
        self.decisions = decisions
        self.rng = np.random.default_rng(seed)
        self.counter = FeedbackCounter()

    @abc.abstractmethod
    def propose(self, n: int) -> np.ndarray:
        """``n`` genomes as an ``(n, L)`` int64 array (any n ≥ 0, also before any feedback);
        every row valid in ``self.decisions`` (the aggregator checks)."""

    def learn(self, genomes: np.ndarray, rewards: np.ndarray) -> None:
        """Update from finished rollouts: ``genomes`` (m, L) int64 with finite ``rewards`` (m,)
        — or (m, objectives) if ``accepts_vectors`` —, m ≥ 1. Feedback may come in any split
        (one call per iteration, or several). The default learns nothing (random search)."""

    def algorithm_state(self) -> dict[str, Any]:
        """The algorithm's own state as JSON-serializable data (keys other than ``rng`` and
        ``counter``); together with the RNG it must determine the next proposals exactly."""
        return {}

    def restore_algorithm(self, state: Mapping[str, Any]) -> None:
        """Inverse of ``algorithm_state``."""

    def algorithm_stats(self) -> dict[str, float]:
        """Numbers for the metrics row besides the counters (same keys every call)."""
        return {}

    def feedback(self, genomes: np.ndarray, rewards: np.ndarray) -> None:
        """Rewards (n,) — or (n, objectives) if ``accepts_vectors`` — of finished rollouts.

        Non-finite rewards are skipped and counted; the others go to ``learn``.
        """
        genomes, rewards = self.counter.accept(genomes, rewards)
        if len(genomes):
            self.learn(genomes, rewards)

    def state(self) -> dict[str, Any]:
        """Everything needed to continue exactly (JSON-serializable)."""
        return {
            "rng": rng_state(self.rng),
            "counter": self.counter.state(),
            **self.algorithm_state(),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Inverse of ``state()``: the next proposals equal those of the original."""
        set_rng_state(self.rng, state["rng"])
        self.counter = FeedbackCounter.from_state(state["counter"])
        self.restore_algorithm({k: v for k, v in state.items() if k not in ("rng", "counter")})

    def stats(self) -> dict[str, float]:
        """Numbers for the metrics row (same keys every call)."""
        return {**self.counter.stats(), **self.algorithm_stats()}


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

    def label(self) -> str:
        """Where rollouts run, in a few words for the run's header (e.g. "4 workers");
        empty: the plugin name says it all."""
        return ""

    @abc.abstractmethod
    def evaluate(
        self, job: Job, requests: Sequence[RolloutRequest], timeout: float | None = None
    ) -> Sequence[RolloutResult]:
        """One result per request, in request order (failures marked, never raised): a list,
        or any sequence of them (pool backends return ``ResultColumns``, the arrays workers
        sent, which the trainer reads without making an object per result).

        :param timeout: seconds; requests not finished by then come back failed ("timeout") and
            their work is cancelled where the backend can cancel it.
        """
