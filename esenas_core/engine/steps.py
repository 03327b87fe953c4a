"""The steps of one iteration that ``Trainer.tell`` runs in order (esenas_core.engine.trainer
has the loop): plugin calls named in errors, the job, the θ update, the controller's feedback,
the exact evaluations and the best, the counters and the metrics row."""

from __future__ import annotations

import time
import warnings
from collections import deque
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from esenas_core.api import fixedmath
from esenas_core.api.errors import EsenasWarning, PluginError, RunError
from esenas_core.api.estimator import Weights
from esenas_core.api.plugins import call_plugin
from esenas_core.api.records import Job, ThetaSync, Update
from esenas_core.engine.asking import Clock
from esenas_core.engine.experiment import Experiment
from esenas_core.engine.iteration import (
    IterationPlan,
    Layout,
    Outcome,
    check_proposals,
    controller_feedback,
)
from esenas_core.engine.metrics import metrics_row
from esenas_core.engine.obsstats import ObsStats
from esenas_core.engine.recording import Recorder
from esenas_core.engine.replica import apply_update
from esenas_core.engine.state import Best, RunState
from esenas_core.engine.told import Told

_OWN_COLUMNS = ("sigma", "learning_rate")  # estimator stats that fill the row's own columns
CONTROLLER_SHARE = 0.10  # above this share of an iteration in the controller: warn once,
CONTROLLER_FLOOR_S = 0.05  # if it also takes this long (µs-fast synthetic tasks are no concern)


def update_of(
    name: str,
    weights: Any,
    ok_seeds: np.ndarray,
    version: int,
    learning_rate: float,
    weight_decay: float,
) -> Update:
    """The ``Update`` of an estimator's ``weights`` over the valid directions' seeds, or one line
    naming the estimator (``name``, e.g. ``[estimator] pgpe``) when ``weights`` is unusable: not
    a ``Weights``, shapes that disagree, rows outside the valid directions, non-finite weights."""
    if not isinstance(weights, Weights):
        raise PluginError(f"{name}: weights() returned {type(weights).__name__}, not Weights")
    rows = np.arange(len(ok_seeds)) if weights.rows is None else np.asarray(weights.rows)
    linear = np.asarray(weights.linear, dtype=np.float64)
    squares = None if weights.squares is None else np.asarray(weights.squares, np.float64)
    shapes = [linear.shape] + ([squares.shape] if squares is not None else [])
    if rows.dtype.kind not in "iu" or rows.ndim != 1 or any(s != rows.shape for s in shapes):
        raise PluginError(
            f"{name}: weights() gave rows {rows.shape}, linear {linear.shape}"
            f"{'' if squares is None else f', squares {squares.shape}'}: one of each per"
            " direction used"
        )
    if rows.size and (rows.min() < 0 or rows.max() >= len(ok_seeds)):
        raise PluginError(f"{name}: weights() rows outside the {len(ok_seeds)} valid ones")
    if not np.all(np.isfinite(linear)) or (
        squares is not None and not np.all(np.isfinite(squares))
    ):
        raise RunError(f"{name}: weights() gave non-finite weights")
    return Update(version, linear, ok_seeds[rows], learning_rate, weight_decay, squares)


@attrs.define
class Evaluated:
    """An accepted attempt: its layout, its results as columns, their valid part."""

    layout: Layout
    told: Told
    outcome: Outcome
    seeds: list[int]
    failures: int
    retries: int


class Steps:
    """What a trainer holds and the steps of its iterations (``Trainer`` adds the loop)."""

    exp: Experiment
    cfg: Any  # RunConfig
    state: RunState
    recorder: Recorder
    size_keys: tuple[str, ...]
    _replica_key: str
    _updates: deque[Update]
    _warned_controller: bool

    @property
    def theta(self) -> np.ndarray:
        return self.state.theta

    @property
    def iteration(self) -> int:
        return self.state.iteration

    @property
    def best(self) -> Best:
        return self.state.best

    @property
    def obs(self) -> ObsStats:
        return self.state.obs

    # -- the steps --------------------------------------------------------------------------------

    def _controller(self, method: str, *args: Any) -> Any:
        """The controller's ``method(*args)``; an exception is one line naming the plugin."""
        fn = getattr(self.exp.controller, method)
        return call_plugin(fn, "controller", self.cfg.controller.name, "", *args)

    def _space(self, method: str, *args: Any) -> Any:
        """The search space's ``method(*args)``; an exception is one line naming the plugin."""
        fn = getattr(self.exp.space, method)
        return call_plugin(fn, "search_space", self.cfg.search_space.name, "", *args)

    def _propose(self, n: int) -> np.ndarray:
        """n valid genomes from the controller, or one line naming it."""
        genomes = self._controller("propose", n)
        return check_proposals(self.cfg.controller.name, genomes, n, self.exp.space.decisions)

    def _job(self, plan: IterationPlan) -> Job:
        """What every request of this iteration shares: θ (or the updates that bring workers'
        replicas to it), σ, the observation normalization, the noise."""
        mean, std = self._normalization()
        es = self.cfg.es
        sync = ThetaSync(
            key=self._replica_key,
            version=self.iteration,
            updates=tuple(self._updates),
            estimator=self.exp.estimator_spec,
            estimator_state=self.state.estimator,
        )
        return Job(
            self.exp.worker_spec, self.theta.copy(), plan.sigma, mean, std, es.noise_spec, sync
        )

    def _normalization(self) -> tuple[np.ndarray, np.ndarray]:
        dim = self.exp.spec.obs_dim
        if not self.cfg.es.obs_norm:
            return np.zeros(dim), np.ones(dim)
        return self.obs.mean.copy(), self.obs.std(self.cfg.es.obs_std_floor)

    def _estimator(self, method: str, *args: Any) -> Any:
        """The estimator's ``method(*args)``; an exception is one line naming the plugin."""
        fn = getattr(self.exp.estimator, method)
        return call_plugin(fn, "estimator", self.cfg.estimator.name, "", *args)

    def _update_theta(
        self, plan: IterationPlan, ev: Evaluated
    ) -> tuple[np.ndarray, Any, int, dict[str, float]]:
        """θ and the estimator's state ← the estimator's update from this iteration's returns;
        returns (θ before, the step's direction, directions used, the estimator's stats)."""
        es, sigma, lr = self.cfg.es, plan.sigma, plan.learning_rate
        out, state = ev.outcome, self.state.estimator
        stats = self._estimator("stats", state, sigma)
        baseline = float(out.exact_rewards.mean()) if es.uses_baseline else None
        weights = self._estimator("weights", out.rewards, baseline, sigma, state)
        ok_seeds = np.asarray(ev.seeds, dtype=np.int64)[out.unit_ok]
        name = f"[estimator] {self.cfg.estimator.name}"
        update = update_of(name, weights, ok_seeds, plan.number, lr, es.weight_decay)
        before = self.theta
        theta, grad, new_state = call_plugin(
            apply_update,
            "estimator",
            self.cfg.estimator.name,
            "",
            before,
            self.exp.estimator,
            state,
            update,
            es.noise_spec,
        )
        self.state.theta, self.state.estimator = theta, new_state
        self._updates.append(update)  # workers apply it to their replicas of θ
        if not np.all(np.isfinite(self.theta)):
            raise RunError(
                f"iteration {plan.number}: θ became non-finite (gradient norm"
                f" {fixedmath.norm(grad):.3g}, learning rate {lr:.3g}, σ {sigma:.3g});"
                " lower es.learning_rate or es.sigma; the last checkpoint is intact"
            )
        bad = [k for k, v in new_state.items() if not np.all(np.isfinite(np.asarray(v)))]
        if bad:
            raise RunError(
                f"iteration {plan.number}: [estimator] {self.cfg.estimator.name}: its state"
                f" {bad[0]!r} became non-finite; the last checkpoint is intact"
            )
        return before, grad, len(update.weights), stats

    def _feed_controller(self, genomes: np.ndarray, out: Outcome) -> None:
        fed, rewards = controller_feedback(self.cfg.es, genomes, out)
        if len(fed):
            self._controller("feedback", fed, self._space("controller_rewards", fed, rewards))

    def _record_exact(
        self, plan: IterationPlan, genomes: np.ndarray, ev: Evaluated, theta: np.ndarray, job: Job
    ) -> list[dict[str, int]]:
        """Record the exact evaluations (evaluations.csv) and keep the best by the search
        space's selection score (best/); returns their genomes' ``describe()``."""
        exact_genomes, out = plan.exact(genomes), ev.outcome
        decoded: dict[bytes, tuple[Any, dict[str, int]]] = {}  # a genome proposed twice: once
        for g in exact_genomes:
            key = g.tobytes()
            if key not in decoded:
                arch = self._space("decode", g)
                decoded[key] = (arch, self._space("describe", arch))
        archs = [decoded[g.tobytes()][0] for g in exact_genomes]
        sizes = [dict(decoded[g.tobytes()][1]) for g in exact_genomes]
        if sizes:
            self.size_keys = tuple(sizes[0])
        ok = np.flatnonzero(out.exact_ok).tolist()
        if not ok:
            return sizes
        returns = out.exact_reward[ok]
        objectives = self._space("selection_scores", exact_genomes[ok], returns)
        self.recorder.evaluations(
            [
                {
                    "iteration": plan.number,
                    "return": float(returns[j]),
                    "objective": float(objectives[j]),
                    **sizes[i],
                }
                for j, i in enumerate(ok)
            ]
        )
        j = _winner(self.best.objective, objectives)
        if j is not None:
            i = ok[j]
            self.state.best = Best(
                score=float(out.exact_reward[i]),
                objective=float(objectives[j]),
                iteration=plan.number,
                architecture=archs[i],
                theta=theta.copy(),
                obs_mean=job.obs_mean.copy(),
                obs_std=job.obs_std.copy(),
                env_seed=int(plan.exact(ev.layout.env_seed)[i]),
            )
            self.recorder.best(self.best)  # once per iteration, whichever evaluation won
        return sizes

    def _count(self, told: Told) -> None:
        """Merge the finished episodes' observation statistics, in request order; count
        episodes and env steps."""
        ok = told.ok
        self.state.episodes += int(np.count_nonzero(ok))
        self.state.env_steps += int(told.steps[ok].sum())
        if told.obs_count is None or told.obs_mean is None or told.obs_m2 is None:
            return
        rows = np.flatnonzero(ok & (told.obs_count > 0))
        self.state.obs = self.obs.merge_many(
            told.obs_count[rows], told.obs_mean[rows], told.obs_m2[rows]
        )

    def _row(self, plan, ev, sizes, grad, directions, stats, clock: Clock) -> dict[str, Any]:
        out = ev.outcome
        return metrics_row(
            self.state,
            out.exact_rewards,
            out.rewards.ravel(),
            sizes,
            self._controller("stats"),
            valid_units=int(out.unit_ok.sum()),
            directions_used=directions,
            failures=ev.failures,
            retries=ev.retries,
            sigma=stats["sigma"],
            learning_rate=float(stats.get("learning_rate", plan.learning_rate)),
            grad_norm=fixedmath.norm(grad),
            theta_norm=fixedmath.norm(self.theta),
            **{f"estimator_{k}": float(v) for k, v in stats.items() if k not in _OWN_COLUMNS},
            evaluate_time=clock.spent["evaluate"],
            controller_time=clock.spent["controller"],
            iteration_time=time.perf_counter() - clock.started,
        )

    def _check_controller_cost(self, row: Mapping[str, Any], genomes: int) -> None:
        """Warn once when the controller takes more than ``CONTROLLER_SHARE`` of an iteration and
        at least ``CONTROLLER_FLOOR_S`` (from the second iteration on: the first includes
        start-up)."""
        share = row["controller_time"] / max(row["iteration_time"], 1e-9)
        slow = share > CONTROLLER_SHARE and row["controller_time"] >= CONTROLLER_FLOOR_S
        if self._warned_controller or self.iteration < 2 or not slow:
            return
        self._warned_controller = True
        warnings.warn(
            f"iteration {self.iteration}: controller {self.cfg.controller.name!r} took"
            f" {100 * share:.0f} % of the iteration ({row['controller_time']:.2f} s of"
            f" {row['iteration_time']:.2f} s, {1e3 * row['controller_time'] / genomes:.2f} ms"
            " per genome): it, not the rollouts, sets the pace (docs/controllers.md has the"
            " cost of each controller)",
            EsenasWarning,
            stacklevel=2,
        )


def _winner(best: float, objectives: np.ndarray) -> int | None:
    """The index of the first of the highest ``objectives`` if it beats ``best``, else None."""
    winner = None
    for j, value in enumerate(objectives):
        if value > (best if winner is None else objectives[winner]):
            winner = j
    return winner
