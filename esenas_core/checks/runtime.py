"""``check_task`` and ``check_backend``: the runtime plugin kinds, checked with small stand-ins
defined here (so a backend is checked without any task plugin, and a task without any search
space plugin)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from esenas_core.api.decisions import DecisionSpace, Mask
from esenas_core.api.episodes import EpisodeResult
from esenas_core.api.interfaces import Architecture, Backend, Task, TaskSpec
from esenas_core.api.records import Job, RolloutRequest, WorkerSpec
from esenas_core.checks.common import ConformanceError, require
from esenas_core.engine.rollouts import evaluate_requests
from esenas_core.networks.supernet import LayeredOptions, LayeredSpace, Supernet

FAILING_SEED = 666  # the stand-in task raises for this env seed


@attrs.frozen
class _LinearOptions(LayeredOptions):
    hidden: tuple[int, ...] = attrs.field(default=(), init=False)


class LinearCheckSpace(LayeredSpace):
    """A linear policy over every input; its genome switches inputs off (a stand-in space)."""

    name = "_check_linear"
    Options = _LinearOptions

    def __init__(self, options: _LinearOptions, task: TaskSpec) -> None:
        super().__init__(
            options,
            task,
            net=Supernet([task.obs_dim, task.act_dim]),
            decisions=DecisionSpace([Mask(task.obs_dim, label="inputs")]),
        )

    def decode(self, genome: np.ndarray) -> Architecture:
        genome = self.decisions.validate(genome)
        edges = np.repeat(genome.astype(bool), self.task.act_dim)
        return Architecture(genome=genome, parts={"edge_mask": edges})


class StandInTask(Task):
    """A three-step episode whose observations come from the env seed (a stand-in task); env
    seed ``FAILING_SEED`` raises."""

    name = "_check_task"

    def spec(self) -> TaskSpec:
        return TaskSpec(obs_dim=3, act_dim=2)

    def run_episodes(self, space, params, architectures, env_seeds, obs_mean, obs_std):
        if FAILING_SEED in env_seeds:
            raise ValueError(f"env seed {FAILING_SEED} fails (on purpose)")
        net = space.network(params, architectures).with_input_normalization(obs_mean, obs_std)
        obs = np.stack([np.random.default_rng(s).normal(size=(3, 3)) for s in env_seeds])
        reward = np.zeros(len(env_seeds))
        for t in range(3):
            reward -= ((net(obs[:, t]) - 0.5) ** 2).sum(axis=1)
        return [
            EpisodeResult(float(r), 3, 3, o.mean(axis=0), ((o - o.mean(axis=0)) ** 2).sum(axis=0))
            for r, o in zip(reward, obs, strict=True)
        ]


def check_backend(
    cls: type[Backend], options: Any = None, requests: int = 23, timeout: float = 120.0
) -> list[str]:
    """Start ``cls`` (with ``options``, default ``cls.Options()``) and evaluate a fixed job:
    its results must equal the in-process reference bitwise and come back in request order;
    a request whose rollout raises must come back failed (not raise), the others not."""
    name = getattr(cls, "name", cls.__name__)
    options = cls.Options() if options is None else options
    job, reqs = _job(requests)
    reference = evaluate_requests(job, reqs)
    with cls(options) as backend:
        results = backend.evaluate(job, reqs, timeout=timeout)
        again = backend.evaluate(job, reqs[:5])
    require(
        isinstance(results, Sequence) and len(results) == len(reqs),
        f"{name}: evaluate() returned {len(results)} results for {len(reqs)} requests",
    )
    require(
        [r.index for r in results] == [q.index for q in reqs],
        f"{name}: results are not in request order: {[r.index for r in results]}",
    )
    for ref, got in zip(reference, results, strict=True):
        if ref.ok != got.ok:
            raise ConformanceError(
                f"{name}: request {ref.index} {'failed' if not got.ok else 'succeeded'} here"
                f" ({got.error}) but not in-process ({ref.error})"
            )
        if ref.ok and not _same_episode(ref.episode, got.episode):
            raise ConformanceError(
                f"{name}: request {ref.index}: reward {got.finished.reward!r} differs from the"
                f" in-process {ref.finished.reward!r} (every backend must compute the same bits)"
            )
    failing = [r for r in results if r.index == FAILING_SEED_INDEX]
    require(
        bool(failing) and not failing[0].ok and bool(failing[0].error),
        f"{name}: a rollout that raises must come back failed with its error",
    )
    require(
        [r.index for r in again] == [q.index for q in reqs[:5]]
        and all(
            _same_episode(a.episode, b.episode) for a, b in zip(again, reference, strict=False)
        ),
        f"{name}: a second evaluation with the same backend gives other results",
    )
    return [
        "one result per request, in order",
        "results equal the in-process reference bitwise",
        "a raising rollout fails alone, reported not raised",
        "a second evaluation agrees",
    ]


FAILING_SEED_INDEX = 4


def _job(count: int) -> tuple[Job, list[RolloutRequest]]:
    spec = WorkerSpec(
        task=StandInTask.name,
        task_options={},
        search_space=LinearCheckSpace.name,
        search_space_options={"init_std": 0.5},
        task_cls=StandInTask,
        search_space_cls=LinearCheckSpace,
    )
    _, space = spec.build()
    theta = space.init_params(np.random.default_rng(1))
    job = Job(spec, theta, 0.1, np.zeros(3), np.ones(3))
    genomes = space.decisions.sample(np.random.default_rng(2), count)
    reqs = [
        RolloutRequest(
            index=i,
            perturbation_seed=1000 + i // 2,
            sign=(1, -1, 0)[i % 3],
            genome=genomes[i],
            env_seed=FAILING_SEED if i == FAILING_SEED_INDEX else 10 + i,
        )
        for i in range(count)
    ]
    return job, reqs


def _same_episode(a: EpisodeResult | None, b: EpisodeResult | None) -> bool:
    if a is None or b is None:
        return a is b
    return (
        a.reward == b.reward
        and a.steps == b.steps
        and a.obs_count == b.obs_count
        and np.array_equal(a.obs_mean, b.obs_mean)
        and np.array_equal(a.obs_m2, b.obs_m2)
    )


def check_task(
    cls: type[Task], options: Any = None, seeds: Sequence[int] = (3, 1, 4, 1, 5)
) -> list[str]:
    """Build ``cls`` (with ``options``, default ``cls.Options()``) and run episodes of a linear
    policy: one finite ``EpisodeResult`` per seed with observation statistics of the right
    shapes; the same seed gives the same episode (also in another batch, or batch position);
    ``label()``, ``batch_size`` and ``close()`` behave."""
    name = getattr(cls, "name", cls.__name__)
    task = cls(cls.Options() if options is None else options)
    try:
        spec = task.spec()
        require(isinstance(spec, TaskSpec), f"{name}: spec() must return a TaskSpec")
        require(spec.obs_dim >= 1 and spec.act_dim >= 1, f"{name}: spec() sizes must be >= 1")
        space = LinearCheckSpace(_LinearOptions(), spec)
        rng = np.random.default_rng(0)
        params = rng.normal(0.0, 0.3, size=(len(seeds), space.num_params))
        archs = [space.decode(g) for g in space.decisions.sample(rng, len(seeds))]
        mean, std = np.zeros(spec.obs_dim), np.ones(spec.obs_dim)
        batch = task.run_episodes(space, params, archs, list(seeds), mean, std)
        require(
            isinstance(batch, list) and len(batch) == len(seeds),
            f"{name}: run_episodes returned {len(batch)} results for {len(seeds)} seeds",
        )
        for r in batch:
            require(isinstance(r, EpisodeResult), f"{name}: results must be EpisodeResult")
            require(bool(np.isfinite(r.reward)), f"{name}: reward {r.reward} is not finite")
            require(
                int(r.steps) == r.steps >= 0 and int(r.obs_count) == r.obs_count >= 0,
                f"{name}: steps and obs_count must be integers >= 0",
            )
            require(
                np.shape(r.obs_mean) == (spec.obs_dim,) and np.shape(r.obs_m2) == (spec.obs_dim,),
                f"{name}: obs_mean and obs_m2 must have shape ({spec.obs_dim},)",
            )
        order = list(reversed(range(len(seeds))))
        reversed_batch = task.run_episodes(
            space, params[order], [archs[i] for i in order], [seeds[i] for i in order], mean, std
        )
        for i, r in zip(order, reversed_batch, strict=True):
            require(
                _same_episode(batch[i], r),
                f"{name}: seed {seeds[i]} gives another episode in another batch position"
                " (episodes must depend only on their seed, parameters and architecture)",
            )
        alone = task.run_episodes(space, params[:1], archs[:1], list(seeds[:1]), mean, std)
        require(_same_episode(batch[0], alone[0]), f"{name}: an episode run alone differs")
        require(isinstance(task.label(), str), f"{name}: label() must return a str")
        require(
            isinstance(task.batch_size, int) and task.batch_size >= 1,
            f"{name}: batch_size must be an int >= 1",
        )
    finally:
        task.close()
    return [
        "spec()",
        "one finite EpisodeResult per seed, statistics shapes",
        "episodes depend only on their seed (batch position, batch size)",
        "label(), batch_size, close()",
    ]
