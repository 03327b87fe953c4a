"""The ES-ENAS training loop (the aggregator). ``Trainer.step`` is one iteration:

1. the controller proposes genomes (one per perturbation, or per rollout) plus one per exact
   evaluation (``IterationPlan``: the request layout);
2. requests (perturbation seed, sign, genome, env seed) go to the backend; seeds derive from
   (run seed, iteration, attempt, index), so any backend computes the same numbers; a
   perturbation with a failed or non-finite member is dropped whole (never zero-filled); below
   the quorum the iteration is retried with fresh seeds, then the run stops with ``RunError``;
3. θ is updated from the ES gradient (esenas_core.engine.iteration / es / optimizers / replica);
4. the controller is told (genome, reward) for every finished perturbation and exact
   evaluation;
5. the exact evaluations are recorded and the best kept, observation statistics merged, and the
   metrics row recorded (esenas_core.engine.metrics; a ``Recorder`` writes it, e.g. a run
   folder's esenas_core.runs.recorder).

The run's state is one record (``RunState``) that checkpoints save and load as data.
"""

from __future__ import annotations

import contextlib
import time
import uuid
import warnings
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from esenas_core.api import fixedmath
from esenas_core.api.errors import EsenasWarning, RunError
from esenas_core.api.plugins import call_hook, call_plugin
from esenas_core.api.records import (
    Job,
    OptimizerSpec,
    RolloutRequest,
    RolloutResult,
    ThetaSync,
    Update,
)
from esenas_core.engine import interrupts, optimizers
from esenas_core.engine.experiment import Experiment
from esenas_core.engine.iteration import (
    IterationPlan,
    Outcome,
    accepted,
    check_proposals,
    controller_feedback,
    gradient_weights,
    outcome,
    quorum,
)
from esenas_core.engine.metrics import metrics_row, summary
from esenas_core.engine.obsstats import ObsStats
from esenas_core.engine.recording import MemoryRecorder, Recorder
from esenas_core.engine.replica import KEEP_UPDATES, apply_update
from esenas_core.engine.state import Best, RunState

CONTROLLER_SHARE = 0.10  # above this share of an iteration in the controller: warn once,
CONTROLLER_FLOOR_S = 0.05  # if it also takes this long (µs-fast synthetic tasks are no concern)


@attrs.define
class _Evaluated:
    requests: list[RolloutRequest]
    results: list[RolloutResult]
    outcome: Outcome
    seeds: list[int]
    failures: int
    retries: int


class _Clock:
    """Seconds spent per named part of an iteration (``with clock("evaluate"): ...``)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.spent: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def __call__(self, part: str) -> Iterator[None]:
        tick = time.perf_counter()
        yield
        self.spent[part] += time.perf_counter() - tick


class Trainer:
    """Runs an ``Experiment`` for ``config.iterations`` iterations; ``recorder`` keeps what it
    records (nothing by default; ``esenas_core.runs.recorder.FolderRecorder`` for a run folder)."""

    def __init__(self, experiment: Experiment, recorder: Recorder | None = None) -> None:
        self.exp = experiment
        self.cfg = experiment.config
        theta = experiment.initial_params()
        es = self.cfg.es
        self.optimizer = OptimizerSpec(es.optimizer, es.adam_beta1, es.adam_beta2)
        self.state = RunState(
            theta=theta,
            obs=ObsStats.empty(experiment.spec.obs_dim),
            optimizer=optimizers.init_state(self.optimizer, theta.shape[0]),
        )
        self.size_keys: tuple[str, ...] = ()  # what the search space's describe() reports
        self.recorder: Recorder = recorder if recorder is not None else MemoryRecorder()
        self.history: list[dict[str, Any]] = []
        # Workers' replicas of θ (esenas_core.engine.replica): a key no other trainer shares (not a
        # random stream of the algorithm), and the last updates a slim job carries.
        self._replica_key = uuid.uuid4().hex
        self._updates: deque[Update] = deque(maxlen=KEEP_UPDATES)
        self._warned_controller = False

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

    # -- the loop ---------------------------------------------------------------------------------

    def train(self, on_iteration: Callable[[Mapping[str, Any]], None] | None = None) -> Best:
        """Run the remaining iterations (all of them, or those after a restored checkpoint)."""
        pm = self.exp.registries.pm
        run_dir = self.recorder.location
        call_hook(pm, "esenas_run_start", config=self.cfg.to_dict(), run_dir=run_dir)
        start = time.perf_counter() - self.state.wall_time
        every = self.cfg.checkpoint_every
        with contextlib.ExitStack() as stack:
            stack.enter_context(self.exp.backend)
            stack.enter_context(self.recorder.session(lambda: self.iteration))
            while self.iteration < self.cfg.iterations:
                row = self.step()
                row["wall_time"] = time.perf_counter() - start
                self.history.append(row)
                self.recorder.metrics(row)
                last = self.iteration == self.cfg.iterations
                if last or (every and self.iteration % every == 0):
                    self.recorder.checkpoint(self.snapshot(row["wall_time"]))
                call_hook(pm, "esenas_iteration_end", row=row, run_dir=run_dir)
                if on_iteration:
                    on_iteration(row)
                interrupts.check()  # a Ctrl-C that a finalizer swallowed stops the run here
        call_hook(pm, "esenas_run_end", summary=self.summary(), run_dir=run_dir)
        return self.best

    def step(self) -> dict[str, Any]:
        """One iteration: propose → evaluate → update θ → feed the controller → record; returns
        its metrics row (without wall time)."""
        clock = _Clock()
        plan = IterationPlan(self.cfg.es, self.iteration)
        with clock("controller"):
            genomes = self._propose(plan.genomes)
        job = self._job(plan)
        with clock("evaluate"):
            ev = self._evaluate(plan, job, genomes)
        theta_before, grad, directions = self._update_theta(plan, ev)
        with clock("controller"):
            self._feed_controller(genomes, ev.outcome)
        sizes = self._record_exact(plan, genomes, ev, theta_before, job)
        self._count(ev.results)
        self.state.iteration = plan.number
        row = self._row(plan, ev, sizes, grad, directions, clock)
        self._check_controller_cost(row, len(genomes))
        return row

    # -- checkpoints ------------------------------------------------------------------------------

    def snapshot(self, wall_time: float) -> RunState:
        """The run's state now (for a checkpoint): ``self.state`` with the controller's state
        (the one part that lives in a plugin object), the first score and the wall time."""
        return attrs.evolve(
            self.state,
            controller=self._controller("state"),
            first_score=self.summary()["first_score"],
            wall_time=wall_time,
        )

    def restore(self, state: RunState, where: str = "checkpoint") -> None:
        """Continue from ``state`` (a checkpoint's): θ, counters, optimizer, controller."""
        if state.theta.shape != self.theta.shape:
            raise RunError(
                f"{where}: θ has {state.theta.size} parameters, the config's search space"
                f" {self.theta.size}"
            )
        try:
            moments = optimizers.checked_state(self.optimizer, state.optimizer, self.theta.size)
            self.exp.controller.restore(state.controller)
        except (KeyError, TypeError, ValueError, IndexError, OverflowError, AttributeError) as exc:
            raise RunError(f"{where}: corrupt checkpoint ({type(exc).__name__}: {exc})") from None
        self.state = attrs.evolve(state, optimizer=moments)

    def resume(self) -> None:
        """Continue from the recorder's last checkpoint (rows recorded after it are discarded)."""
        state, where = self.recorder.last_checkpoint()
        self.restore(state, where)
        self.recorder.discard_after(self.iteration)

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
            optimizer=self.optimizer,
            optimizer_state=self.state.optimizer,
        )
        return Job(
            self.exp.worker_spec, self.theta.copy(), plan.sigma, mean, std, es.noise_spec, sync
        )

    def _normalization(self) -> tuple[np.ndarray, np.ndarray]:
        dim = self.exp.spec.obs_dim
        if not self.cfg.es.obs_norm:
            return np.zeros(dim), np.ones(dim)
        return self.obs.mean.copy(), self.obs.std(self.cfg.es.obs_std_floor)

    def _evaluate(self, plan: IterationPlan, job: Job, genomes: np.ndarray) -> _Evaluated:
        es = self.cfg.es
        failures, last_error = 0, ""
        for attempt in range(es.max_retries + 1):
            requests, seeds = plan.requests(genomes, self.cfg.seed, attempt)
            results = self.exp.backend.evaluate(job, requests, es.iteration_timeout or None)
            if [r.index for r in results] != [q.index for q in requests]:
                raise RunError(f"backend {self.exp.backend.name!r} returned misaligned results")
            bad = [r for r in results if not r.ok]
            failures += len(bad)
            last_error = next(
                (r.error for r in bad if r.error),
                last_error or "non-finite reward or observations",
            )
            out = outcome(es, results)
            if accepted(es, out):
                return _Evaluated(requests, results, out, seeds, failures, attempt)
        raise RunError(
            f"iteration {plan.number}: fewer than {quorum(es)} of {es.num_perturbations}"
            f" perturbations succeeded in each of {es.max_retries + 1} attempts;"
            f" last error: {last_error}"
        )

    def _update_theta(self, plan: IterationPlan, ev: _Evaluated) -> tuple[np.ndarray, Any, int]:
        """θ ← optimizer step on the ES gradient; returns (θ before, gradient, directions)."""
        es, sigma, lr = self.cfg.es, plan.sigma, plan.learning_rate
        weights, seeds = gradient_weights(es, ev.outcome, ev.seeds, sigma)
        update = Update(plan.number, weights, seeds, lr, es.weight_decay)
        before = self.theta
        theta, grad, moments = apply_update(
            before, self.optimizer, self.state.optimizer, update, es.noise_spec
        )
        self.state.theta, self.state.optimizer = theta, moments
        self._updates.append(update)  # workers apply it to their replicas of θ
        if not np.all(np.isfinite(self.theta)):
            raise RunError(
                f"iteration {plan.number}: θ became non-finite (gradient norm"
                f" {fixedmath.norm(grad):.3g}, learning rate {lr:.3g}, σ {sigma:.3g});"
                " lower es.learning_rate or es.sigma; the last checkpoint is intact"
            )
        return before, grad, len(weights)

    def _feed_controller(self, genomes: np.ndarray, out: Outcome) -> None:
        fed, rewards = controller_feedback(self.cfg.es, genomes, out)
        if len(fed):
            self._controller("feedback", fed, self._space("controller_rewards", fed, rewards))

    def _record_exact(
        self, plan: IterationPlan, genomes: np.ndarray, ev: _Evaluated, theta: np.ndarray, job: Job
    ) -> list[dict[str, int]]:
        """Record the exact evaluations (evaluations.csv) and keep the best by the search
        space's selection score (best/); returns their genomes' ``describe()``."""
        exact_genomes, exact = plan.exact(genomes), ev.outcome.exact
        archs = [self._space("decode", g) for g in exact_genomes]
        sizes = [self._space("describe", a) for a in archs]
        if sizes:
            self.size_keys = tuple(sizes[0])
        ok = [i for i, r in enumerate(exact) if r.ok]
        if not ok:
            return sizes
        returns = np.array([exact[i].finished.reward for i in ok], dtype=np.float64)
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
                score=exact[i].finished.reward,
                objective=float(objectives[j]),
                iteration=plan.number,
                architecture=archs[i],
                theta=theta.copy(),
                obs_mean=job.obs_mean.copy(),
                obs_std=job.obs_std.copy(),
                env_seed=int(plan.exact(ev.requests)[i].env_seed),
            )
            self.recorder.best(self.best)  # once per iteration, whichever evaluation won
        return sizes

    def _count(self, results: Sequence[RolloutResult]) -> None:
        """Merge the finished episodes' observation statistics; count episodes and env steps."""
        obs = self.obs
        for r in results:
            if r.ok:
                episode = r.finished
                obs = obs.merge(episode.obs_count, episode.obs_mean, episode.obs_m2)
                self.state.episodes += 1
                self.state.env_steps += episode.steps
        self.state.obs = obs

    def _row(self, plan, ev, sizes, grad, directions, clock: _Clock) -> dict[str, Any]:
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
            sigma=plan.sigma,
            learning_rate=plan.learning_rate,
            grad_norm=fixedmath.norm(grad),
            theta_norm=fixedmath.norm(self.theta),
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

    # -- outputs ----------------------------------------------------------------------------------

    def save_final(self) -> None:
        """final/weights.npz: θ and the observation normalization after the last iteration."""
        self.recorder.final(self.theta, *self._normalization())

    def summary(self) -> dict[str, Any]:
        return summary(self.state, self.history, self.exp.space, self.size_keys)


def _winner(best: float, objectives: np.ndarray) -> int | None:
    """The index of the first of the highest ``objectives`` if it beats ``best``, else None."""
    winner = None
    for j, value in enumerate(objectives):
        if value > (best if winner is None else objectives[winner]):
            winner = j
    return winner
