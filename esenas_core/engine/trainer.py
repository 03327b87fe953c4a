"""The ES-ENAS training loop (the aggregator). One iteration is ``ask()`` (steps 1–2's
requests), an evaluation (``evaluate()``: the backend; or the caller's own), and ``tell()``
(steps 2–5); ``step()`` runs the three, ``train()`` every remaining iteration:

1. the controller proposes genomes (one per perturbation, or per rollout) plus one per exact
   evaluation (``IterationPlan``: the request layout);
2. requests (perturbation seed, sign, genome, env seed) go to the backend; seeds derive from
   (run seed, iteration, attempt, index), so any backend computes the same numbers; a
   perturbation with a failed or non-finite member is dropped whole (never zero-filled); below
   the quorum the iteration is retried with fresh seeds, then the run stops with ``RunError``;
3. θ is updated by the estimator (a plugin; esenas_core.engine.steps / replica);
4. the controller is told (genome, reward) for every finished perturbation and exact
   evaluation;
5. the exact evaluations are recorded and the best kept, observation statistics merged, and the
   metrics row recorded (esenas_core.engine.metrics; a ``Recorder`` writes it, e.g. a run
   folder's esenas_core.runs.recorder).

The run's state is one record (``RunState``) that checkpoints save and load as data; the
steps themselves are esenas_core.engine.steps.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from esenas_core.api.errors import RunError
from esenas_core.api.plugins import call_hook, call_plugin
from esenas_core.api.records import RolloutResult, Update
from esenas_core.engine import interrupts
from esenas_core.engine.asking import Asked, Clock, Pending, as_told, check_told
from esenas_core.engine.experiment import Experiment
from esenas_core.engine.iteration import (
    IterationPlan,
    accepted,
    outcome,
    quorum,
    request_layout,
)
from esenas_core.engine.metrics import summary
from esenas_core.engine.obsstats import ObsStats
from esenas_core.engine.recording import MemoryRecorder, Recorder
from esenas_core.engine.replica import KEEP_UPDATES
from esenas_core.engine.state import Best, RunState
from esenas_core.engine.steps import Evaluated, Steps
from esenas_core.engine.stopping import stop_reason
from esenas_core.engine.told import result_indices


class Trainer(Steps):
    """Runs an ``Experiment`` for ``config.iterations`` iterations (or until a ``[stop]`` rule
    holds); ``recorder`` keeps what it records (nothing by default;
    ``esenas_core.runs.recorder.FolderRecorder`` for a run folder).

    ``train()`` is the loop ``ask() → evaluate() → tell()`` inside ``session()``; those four are
    public, so a caller can drive the same loop itself (esenas_core.search wraps them)."""

    def __init__(self, experiment: Experiment, recorder: Recorder | None = None) -> None:
        self.exp = experiment
        self.cfg = experiment.config
        theta = experiment.initial_params()
        name = self.cfg.estimator.name
        self.state = RunState(
            theta=theta,
            obs=ObsStats.empty(experiment.spec.obs_dim),
            estimator=call_plugin(
                experiment.estimator.init_state, "estimator", name, "", theta.size
            ),
        )
        self.size_keys: tuple[str, ...] = ()  # what the search space's describe() reports
        self.recorder: Recorder = recorder if recorder is not None else MemoryRecorder()
        self.history: list[dict[str, Any]] = []
        # Workers' replicas of θ (esenas_core.engine.replica): a key no other trainer shares (not a
        # random stream of the algorithm), and the last updates a slim job carries.
        self._replica_key = uuid.uuid4().hex
        self._updates: deque[Update] = deque(maxlen=KEEP_UPDATES)
        self._warned_controller = False
        self._pending: Pending | None = None
        self._start: float | None = None  # perf_counter() at wall time 0 of this run
        self._in_session = False

    @property
    def done(self) -> bool:
        """``iterations`` reached, or a stopping rule held after the last iteration."""
        return self.iteration >= self.cfg.iterations or self.state.stopped_by is not None

    # -- the loop ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def session(self) -> Iterator[Trainer]:
        """The backend and the recorder open, wall time counting, the run-start hook called;
        on a clean exit of a finished run, the run-end hook. Re-entrant: an inner session (the
        loop of ``train()`` inside a caller's) adds nothing."""
        if self._in_session:
            yield self
            return
        pm = self.exp.registries.pm
        run_dir = self.recorder.location
        call_hook(pm, "esenas_run_start", config=self.cfg.to_dict(), run_dir=run_dir)
        self._start = time.perf_counter() - self.state.wall_time
        self._in_session = True
        try:
            with contextlib.ExitStack() as stack:
                stack.enter_context(self.exp.backend)
                stack.enter_context(self.recorder.session(lambda: self.iteration))
                yield self
        finally:
            self._in_session = False
        if self.done:
            call_hook(pm, "esenas_run_end", summary=self.summary(), run_dir=run_dir)

    def train(self, on_iteration: Callable[[Mapping[str, Any]], None] | None = None) -> Best:
        """Run the remaining iterations (all of them, or those after a restored checkpoint)."""
        with self.session():
            while not self.done:
                row = self.step()
                if on_iteration:
                    on_iteration(row)
                interrupts.check()  # a Ctrl-C that a finalizer swallowed stops the run here
        return self.best

    def step(self) -> dict[str, Any]:
        """One iteration — ``ask → evaluate → tell`` until an attempt reaches the quorum —;
        returns its metrics row."""
        while True:
            asked = self.ask()
            row = self.tell(asked, self.evaluate(asked))
            if row is not None:
                return row

    def ask(self) -> Asked:
        """The requests of the next iteration (or of its retry, after an attempt below the
        quorum). The controller proposes once per iteration; asking again before a tell
        returns the same ``Asked``."""
        if self.done:
            raise RunError(
                f"ask: the run is done ({self._done_reason()}); raise iterations to go on"
            )
        if self._start is None:
            self._start = time.perf_counter() - self.state.wall_time
        if self._pending is None:
            clock = Clock()
            plan = IterationPlan(self.cfg.es, self.iteration)
            with clock("controller"):
                genomes = self._propose(plan.genomes)
            self._pending = Pending(plan, genomes, self._job(plan), clock)
        p = self._pending
        if p.asked is None:
            layout = request_layout(self.cfg.es, self.cfg.seed, p.plan.iteration, p.attempt)
            p.asked = Asked(p.plan.number, p.attempt, p.genomes, layout, p.job, self.exp.space)
            p.asked_at = time.perf_counter()
        return p.asked

    def evaluate(self, asked: Asked) -> Sequence[RolloutResult]:
        """Evaluate ``asked`` on the run's backend (inside ``session()``, or a backend that needs
        no opening, such as ``serial``)."""
        results = self.exp.backend.evaluate(
            asked.job, list(asked.requests), self.cfg.es.iteration_timeout or None
        )
        if not np.array_equal(result_indices(results), asked.layout.index):
            raise RunError(f"backend {self.exp.backend.name!r} returned misaligned results")
        return results

    def tell(self, asked: Asked, results: Any) -> dict[str, Any] | None:
        """Take the results of ``asked``: ``RolloutResult``s, or one return per request (NaN or
        None: failed). Below the quorum, returns None and the next ``ask()`` is the retry (after
        ``es.max_retries`` retries: ``RunError``); otherwise θ and the controller are updated,
        the row is recorded (and a checkpoint when due) and returned. A tell that does not
        answer the pending ask is a ``TellError`` and changes nothing."""
        p = check_told(self._pending, asked)
        told = as_told(asked, results)
        es = self.cfg.es
        p.clock.spent["evaluate"] += time.perf_counter() - p.asked_at
        p.failures += told.failures
        p.last_error = told.first_error() or p.last_error or "non-finite reward or observations"
        out = outcome(es, told)
        if not accepted(es, out):
            if p.attempt >= es.max_retries:
                self._pending = None
                raise RunError(
                    f"iteration {p.plan.number}: fewer than {quorum(es)} of"
                    f" {es.num_perturbations} perturbations succeeded in each of"
                    f" {es.max_retries + 1} attempts; last error: {p.last_error}"
                )
            p.attempt, p.asked = p.attempt + 1, None
            return None
        self._pending = None
        layout = asked.layout
        ev = Evaluated(layout, told, out, layout.seeds.tolist(), p.failures, p.attempt)
        return self._finish(p.plan, p.genomes, p.job, ev, p.clock)

    def _finish(self, plan, genomes, job, ev: Evaluated, clock: Clock) -> dict[str, Any]:
        theta_before, grad, directions, stats = self._update_theta(plan, ev)
        with clock("controller"):
            self._feed_controller(genomes, ev.outcome)
        sizes = self._record_exact(plan, genomes, ev, theta_before, job)
        self._count(ev.told)
        self.state.iteration = plan.number
        row = self._row(plan, ev, sizes, grad, directions, stats, clock)
        self._check_controller_cost(row, len(genomes))
        assert self._start is not None
        row["wall_time"] = time.perf_counter() - self._start
        self.history.append(row)
        self.recorder.metrics(row)
        self._check_stop(row)
        every = self.cfg.checkpoint_every
        if self.done or (every and self.iteration % every == 0):
            self.recorder.checkpoint(self.snapshot(row["wall_time"]))
        call_hook(
            self.exp.registries.pm, "esenas_iteration_end", row=row, run_dir=self.recorder.location
        )
        return row

    def _check_stop(self, row: Mapping[str, Any]) -> None:
        self.state.last_score = float(row["score_mean"])
        if self.iteration < self.cfg.iterations:
            self.state.stopped_by = self._stop_reason(row["wall_time"])

    def _stop_reason(self, wall_time: float) -> str | None:
        return stop_reason(
            self.cfg.stop,
            iteration=self.iteration,
            episodes=self.state.episodes,
            env_steps=self.state.env_steps,
            wall_time=wall_time,
            score=self.state.last_score,
            best_iteration=self.best.iteration,
        )

    def _done_reason(self) -> str:
        if self.state.stopped_by is not None:
            return f"stopped by {self.state.stopped_by}"
        return f"{self.iteration} of {self.cfg.iterations} iterations"

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
            estimator_state = self.exp.estimator.check_state(state.estimator, self.theta.size)
            self.exp.controller.restore(state.controller)
        except (KeyError, TypeError, ValueError, IndexError, OverflowError, AttributeError) as exc:
            raise RunError(f"{where}: corrupt checkpoint ({type(exc).__name__}: {exc})") from None
        self.state = attrs.evolve(state, estimator=estimator_state)
        if state.stopped_by is not None:  # stays stopped while a rule of this config holds
            self.state.stopped_by = self._stop_reason(state.wall_time)
        self._start = None

    def resume(self) -> None:
        """Continue from the recorder's last checkpoint (rows recorded after it are discarded)."""
        state, where = self.recorder.last_checkpoint()
        self.restore(state, where)
        self.recorder.discard_after(self.iteration)

    # -- outputs ----------------------------------------------------------------------------------

    def save_final(self) -> None:
        """final/weights.npz: θ and the observation normalization after the last iteration."""
        self.recorder.final(self.theta, *self._normalization())

    def summary(self) -> dict[str, Any]:
        return summary(self.state, self.history, self.exp.space, self.size_keys)
