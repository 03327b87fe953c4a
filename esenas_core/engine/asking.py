"""What ``Trainer.ask`` hands out (``Asked``) and how ``Trainer.tell`` checks what comes back.

An ``Asked`` is one attempt at one iteration: the controller's genomes, one request per rollout
(perturbation seed, sign, genome, environment seed) and the job they share (θ, σ, the
observation normalization, the noise). Evaluate every request — with ``Trainer.evaluate`` (the
run's backend) or any way you like — and tell the results: ``RolloutResult``s, or one return
per request (NaN or None: that rollout failed).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import numpy as np

from esenas_core.api.errors import TellError
from esenas_core.api.interfaces import Architecture, Network, SearchSpace
from esenas_core.api.records import Job, RolloutRequest, RolloutResult
from esenas_core.engine.iteration import Layout
from esenas_core.engine.rollouts import perturbed_params
from esenas_core.engine.told import Told, result_indices


def _frozen(array: np.ndarray) -> np.ndarray:
    out = np.array(array, copy=True)
    out.setflags(write=False)
    return out


@attrs.frozen(eq=False, slots=False)
class Asked:
    """One attempt at one iteration: evaluate ``requests`` and tell the results.

    ``genomes`` are the controller's proposals (one per perturbation — or per rollout with
    ``es.pair_architecture = "independent"`` — then one per exact evaluation); request ``i``
    evaluates ``genomes[genome_index[i]]`` at ``parameters()[i]``. The arrays are read-only.
    """

    iteration: int  # the iteration's number (1-based: the iterations done once it is told)
    attempt: int  # 0, or the retry number after an attempt below the quorum
    genomes: np.ndarray = attrs.field(converter=_frozen)
    layout: Layout = attrs.field(repr=False)
    job: Job = attrs.field(repr=False)
    space: SearchSpace = attrs.field(repr=False)

    def __len__(self) -> int:
        return len(self.layout.index)

    @functools.cached_property
    def requests(self) -> tuple[RolloutRequest, ...]:
        """One ``RolloutRequest`` per rollout (index, perturbation seed, sign, genome, env
        seed): what backends take."""
        return tuple(self.layout.requests(self.genomes))

    @property
    def perturbation_seeds(self) -> np.ndarray:
        """Per request: the seed of its direction ε (0 for an exact evaluation)."""
        return _frozen(self.layout.perturbation_seed)

    @property
    def signs(self) -> np.ndarray:
        """Per request: +1 (θ + σε), −1 (θ − σε) or 0 (an exact evaluation at θ)."""
        return _frozen(self.layout.sign)

    @property
    def env_seeds(self) -> np.ndarray:
        """Per request: the seed its environment resets with."""
        return _frozen(self.layout.env_seed)

    @property
    def genome_index(self) -> np.ndarray:
        """Per request: the row of ``genomes`` it evaluates."""
        return _frozen(self.layout.genome_index)

    def parameters(self) -> np.ndarray:
        """(requests, d) float64: each request's parameters, θ + sign·σ·ε."""
        theta = self.job.theta
        assert theta is not None  # an Asked's job always carries θ (only workers get slim jobs)
        return perturbed_params(self.job, theta, self.requests)

    def architectures(self) -> list[Architecture]:
        """Each request's decoded architecture (requests of one genome share one object)."""
        decoded: dict[int, Architecture] = {}
        out = []
        for g in self.layout.genome_index.tolist():
            if g not in decoded:
                decoded[g] = self.space.decode(self.genomes[g])
            out.append(decoded[g])
        return out

    def policies(self) -> Network:
        """One batched policy for every request: call it on an (requests, obs_dim) array of
        raw observations for an (requests, act_dim) array of actions (the observation
        normalization of this iteration applied, as the workers do)."""
        net = self.space.network(self.parameters(), self.architectures())
        return net.with_input_normalization(self.job.obs_mean, self.job.obs_std)


def as_told(asked: Asked, told: Any) -> Told:
    """``told`` as columns, or ``TellError`` (one line).

    ``told`` is a sequence of ``RolloutResult`` (indices as the requests'), or one return per
    request: a number, or NaN / None / a non-finite number for a rollout that failed.
    """
    n = len(asked)
    where = f"tell(iteration {asked.iteration})"
    if isinstance(told, np.ndarray):
        return Told.of_returns(told, n, where)
    if told is None or isinstance(told, str | bytes) or not isinstance(told, Sequence):
        raise TellError(
            f"{where}: expected one result per request ({n}): a list of RolloutResult or of"
            f" returns, got {type(told).__name__}"
        )
    if len(told) != n:
        raise TellError(f"{where}: {len(told)} results for {n} requests")
    columns = hasattr(told, "columns")  # engine.packed.ResultColumns: arrays, no objects
    if columns or (n and isinstance(told[0], RolloutResult)):
        if not columns and not all(isinstance(r, RolloutResult) for r in told):
            raise TellError(f"{where}: a mix of RolloutResult and returns")
        if not np.array_equal(result_indices(told), asked.layout.index):
            raise TellError(f"{where}: the results' indices are not the requests' (in order)")
        return Told.of(told)
    try:
        values = np.asarray(told)  # numbers: a float array at once; anything else: checked
    except (TypeError, ValueError):
        values = np.array(list(told), dtype=object)
    return Told.of_returns(values, n, where)


class Clock:
    """Seconds spent per named part of an iteration (``with clock("evaluate"): ...``)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.spent: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def __call__(self, part: str) -> Iterator[None]:
        tick = time.perf_counter()
        yield
        self.spent[part] += time.perf_counter() - tick


@attrs.define
class Pending:
    """The iteration between ``ask`` and an accepted ``tell``."""

    plan: Any  # IterationPlan
    genomes: np.ndarray
    job: Job
    clock: Clock
    attempt: int = 0
    failures: int = 0
    last_error: str = ""
    asked: Asked | None = None
    asked_at: float = 0.0


def check_told(pending: Pending | None, asked: Any) -> Pending:
    """The pending iteration ``asked`` answers, or ``TellError`` naming what the run waits for."""
    if not isinstance(asked, Asked):
        raise TellError(f"tell: expected the Asked that ask() returned, got {type(asked).__name__}")
    if pending is None or pending.asked is None:
        raise TellError(
            f"tell: results for iteration {asked.iteration} (attempt {asked.attempt}), but"
            " nothing is asked: call ask() first"
        )
    mine = pending.asked
    if (asked.iteration, asked.attempt) != (mine.iteration, mine.attempt):
        raise TellError(
            f"tell: results for iteration {asked.iteration} (attempt {asked.attempt}); the run"
            f" waits for iteration {mine.iteration} (attempt {mine.attempt})"
        )
    if asked is not mine and not _same(asked, mine):
        raise TellError(
            f"tell: the genomes or requests differ from those iteration {mine.iteration}"
            " asked for (tell the Asked that ask() returned)"
        )
    return pending


def _same(a: Asked, b: Asked) -> bool:
    """The same genomes and requests (an ``Asked`` rebuilt or copied by the caller)."""
    columns = ("index", "perturbation_seed", "sign", "env_seed", "genome_index")
    return (
        a.genomes.shape == b.genomes.shape
        and np.array_equal(a.genomes, b.genomes)
        and all(np.array_equal(getattr(a.layout, k), getattr(b.layout, k)) for k in columns)
    )
