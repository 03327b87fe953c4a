"""The ES-ENAS training loop (the aggregator).

One iteration:
1. the controller proposes genomes (one per perturbation, or per rollout) plus one per exact
   evaluation;
2. requests (perturbation seed, sign, genome, env seed) go to the backend; seeds derive from
   (run seed, iteration, attempt, index), so any backend computes the same numbers;
3. a perturbation with a failed or non-finite member is dropped whole (never zero-filled); below
   the quorum the iteration is retried with fresh seeds, then the run stops with ``RunError``;
4. θ is updated from the ES gradient (esenas_core.iteration / es / optimizers), observation
   statistics merged, the controller told (genome, reward) for every finished perturbation and
   exact evaluation, best tracked.
"""

from __future__ import annotations

import contextlib
import math
import time
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from esenas_core import checkpoint, interrupts
from esenas_core.errors import EsenasWarning, RunError
from esenas_core.experiment import Experiment
from esenas_core.interfaces import Architecture
from esenas_core.iteration import (
    Outcome,
    accepted,
    build_requests,
    check_proposals,
    controller_feedback,
    genomes_needed,
    gradient_weights,
    outcome,
)
from esenas_core.logs import log_to
from esenas_core.obsstats import ObsStats
from esenas_core.optimizers import make_optimizer
from esenas_core.plugins import call_hook, call_plugin
from esenas_core.replica import KEEP_UPDATES, OptimizerSpec, ThetaSync, Update, apply_update
from esenas_core.rollouts import Job, RolloutRequest, RolloutResult
from esenas_core.rundir import RunDirectory

CONTROLLER_SHARE = 0.10  # above this share of an iteration in the controller: warn once,
CONTROLLER_FLOOR_S = 0.05  # if it also takes this long (µs-fast synthetic tasks are no concern)


@attrs.define
class Best:
    """The best exact evaluation seen — by the search space's selection score (the return unless
    the space scores size too) —: its architecture, θ, observation normalization and return."""

    score: float = -math.inf  # the episode return
    objective: float = -math.inf  # what ``best`` maximizes (``SearchSpace.selection_scores``)
    iteration: int = 0
    architecture: Architecture | None = None
    theta: np.ndarray | None = None
    obs_mean: np.ndarray | None = None
    obs_std: np.ndarray | None = None
    env_seed: int | None = None


@attrs.define
class _Evaluated:
    requests: list[RolloutRequest]
    results: list[RolloutResult]
    outcome: Outcome
    seeds: list[int]
    failures: int
    retries: int


class Trainer:
    """Runs an ``Experiment`` for ``config.iterations`` iterations."""

    def __init__(self, experiment: Experiment, run_dir: RunDirectory | None = None) -> None:
        self.exp = experiment
        self.cfg = experiment.config
        self.run_dir = run_dir
        self.theta = experiment.initial_params()
        es = self.cfg.es
        self.optimizer = make_optimizer(
            es.optimizer, self.theta.shape[0], es.adam_beta1, es.adam_beta2
        )
        self.obs = ObsStats.empty(experiment.spec.obs_dim)
        self.best = Best()
        self.iteration = 0
        self.episodes = 0
        self.env_steps = 0
        self.history: list[dict[str, Any]] = []
        self.wall_time_before = 0.0
        self.first_score: float | None = None  # set when resuming (history starts later)
        # Workers' replicas of θ (esenas_core.replica): a key no other trainer shares (not a
        # random stream of the algorithm), and the last updates a slim job carries.
        self._replica_key = uuid.uuid4().hex
        self._updates: deque[Update] = deque(maxlen=KEEP_UPDATES)
        self._warned_controller = False

    # -- the loop ---------------------------------------------------------------------------------

    def train(self, on_iteration: Callable[[Mapping[str, Any]], None] | None = None) -> Best:
        """Run the remaining iterations (all of them, or those after a restored checkpoint)."""
        pm = self.exp.registries.pm
        run_dir = str(self.run_dir.path) if self.run_dir else ""
        call_hook(pm, "esenas_run_start", config=self.cfg.to_dict(), run_dir=run_dir)
        start = time.perf_counter() - self.wall_time_before
        every = self.cfg.checkpoint_every
        stop_on_write_errors = (
            self.run_dir.stop_on_write_errors(lambda: self.iteration)
            if self.run_dir
            else contextlib.nullcontext()
        )
        log = log_to(self.run_dir.path / "esenas.log") if self.run_dir else contextlib.nullcontext()
        with self.exp.backend, stop_on_write_errors, log:
            while self.iteration < self.cfg.iterations:
                row = self.step()
                row["wall_time"] = time.perf_counter() - start
                self.history.append(row)
                if self.run_dir:
                    self.run_dir.append_metrics(row)
                    last = self.iteration == self.cfg.iterations
                    if last or (every and self.iteration % every == 0):
                        checkpoint.save(self, self.run_dir.path, row["wall_time"])
                call_hook(pm, "esenas_iteration_end", row=row, run_dir=run_dir)
                if on_iteration:
                    on_iteration(row)
                interrupts.check()  # a Ctrl-C that a finalizer swallowed stops the run here
        call_hook(pm, "esenas_run_end", summary=self.summary(), run_dir=run_dir)
        return self.best

    def resume(self) -> None:
        """Continue from ``run_dir/checkpoint`` (metrics rows after it are discarded)."""
        self.wall_time_before = checkpoint.load(self, self.run_dir.path)
        self.run_dir.truncate_metrics(self.iteration)
        self.run_dir.truncate_evaluations(self.iteration)

    def _propose(self, n: int) -> np.ndarray:
        """n valid genomes from the controller, or one line naming it."""
        name = self.cfg.controller.name
        genomes = call_plugin(self.exp.controller.propose, "controller", name, "", n)
        return check_proposals(name, genomes, n, self.exp.space.decisions)

    def step(self) -> dict[str, Any]:
        """One iteration; returns its metrics row (without wall time)."""
        started = time.perf_counter()
        es, it = self.cfg.es, self.iteration
        sigma, lr = es.sigma_at(it), es.learning_rate_at(it)
        tick = time.perf_counter()
        genomes = self._propose(genomes_needed(es))
        controller_time = time.perf_counter() - tick
        obs_mean, obs_std = self._normalization()
        job = Job(
            self.exp.worker_spec,
            self.theta.copy(),
            sigma,
            obs_mean,
            obs_std,
            es.noise_spec,
            self._sync(),
        )
        evaluate_start = time.perf_counter()
        ev = self._evaluate(job, genomes)
        evaluate_time = time.perf_counter() - evaluate_start
        out = ev.outcome

        weights, seeds = gradient_weights(es, out, ev.seeds, sigma)
        update = Update(it + 1, weights, seeds, lr, es.weight_decay)
        theta_before = self.theta
        self.theta, grad = apply_update(self.theta, self.optimizer, update, es.noise_spec)
        self._updates.append(update)  # workers apply it to their replicas of θ
        directions = len(weights)
        if not np.all(np.isfinite(self.theta)):
            raise RunError(
                f"iteration {it + 1}: θ became non-finite (gradient norm"
                f" {float(np.linalg.norm(grad)):.3g}, learning rate {lr:.3g}, σ {sigma:.3g});"
                " lower es.learning_rate or es.sigma; the last checkpoint is intact"
            )

        fed, rewards = controller_feedback(es, genomes, out)
        if len(fed):
            tick = time.perf_counter()
            scored = self.exp.space.controller_rewards(fed, rewards)
            call_plugin(
                self.exp.controller.feedback,
                "controller",
                self.cfg.controller.name,
                "",
                fed,
                scored,
            )
            controller_time += time.perf_counter() - tick
        exact_genomes = genomes[len(genomes) - es.exact_evals :]
        space = self.exp.space
        sizes = [space.describe(space.decode(g)) for g in exact_genomes]
        self._track_best(
            exact_genomes,
            sizes,
            out.exact,
            ev.requests[len(ev.requests) - es.exact_evals :],
            theta_before,
            obs_mean,
            obs_std,
        )
        for r in ev.results:
            if r.ok:
                self.obs.merge(r.episode.obs_count, r.episode.obs_mean, r.episode.obs_m2)
                self.episodes += 1
                self.env_steps += r.episode.steps
        self.iteration += 1
        scores, perturbed = out.exact_rewards, out.rewards.ravel()
        row = {
            "iteration": self.iteration,
            "episodes": self.episodes,
            "env_steps": self.env_steps,
            "score_mean": _mean(scores),
            "score_std": float(scores.std()) if scores.size else math.nan,
            "score_max": float(scores.max()) if scores.size else math.nan,
            "perturbed_mean": _mean(perturbed),
            "perturbed_max": float(perturbed.max()) if perturbed.size else math.nan,
            "best_score": self.best.score if np.isfinite(self.best.score) else math.nan,
            "valid_units": int(out.unit_ok.sum()),
            "directions_used": directions,
            "failures": ev.failures,
            "retries": ev.retries,
            "sigma": sigma,
            "learning_rate": lr,
            "grad_norm": float(np.linalg.norm(grad)),
            "theta_norm": float(np.linalg.norm(self.theta)),
            "edges_mean": _mean([s["edges"] for s in sizes]),
            "multiplications_mean": _mean([s["multiplications"] for s in sizes]),
            **{f"controller_{k}": float(v) for k, v in self.exp.controller.stats().items()},
            # timing columns (the only ones that differ between identical runs):
            "evaluate_time": evaluate_time,
            "controller_time": controller_time,
            "iteration_time": time.perf_counter() - started,
        }
        self._check_controller_cost(row, len(genomes))
        return row

    # -- pieces -----------------------------------------------------------------------------------

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

    def _sync(self) -> ThetaSync:
        """θ's version, the recent updates and the optimizer state, for workers' replicas of θ
        (a backend that sends ``job.slim()`` adds θ's digest there)."""
        es = self.cfg.es
        return ThetaSync(
            key=self._replica_key,
            version=self.iteration,
            updates=tuple(self._updates),
            optimizer=OptimizerSpec(es.optimizer, es.adam_beta1, es.adam_beta2),
            optimizer_state=self.optimizer.state(),
        )

    def _normalization(self) -> tuple[np.ndarray, np.ndarray]:
        dim = self.exp.spec.obs_dim
        if not self.cfg.es.obs_norm:
            return np.zeros(dim), np.ones(dim)
        return self.obs.mean.copy(), self.obs.std(self.cfg.es.obs_std_floor)

    def _evaluate(self, job: Job, genomes: np.ndarray) -> _Evaluated:
        es = self.cfg.es
        failures, last_error = 0, ""
        for attempt in range(es.max_retries + 1):
            requests, seeds = build_requests(es, genomes, self.cfg.seed, self.iteration, attempt)
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
        quorum = max(1, math.ceil(es.min_valid_fraction * es.num_perturbations))
        raise RunError(
            f"iteration {self.iteration + 1}: fewer than {quorum} of {es.num_perturbations}"
            f" perturbations succeeded in each of {es.max_retries + 1} attempts;"
            f" last error: {last_error}"
        )

    def _track_best(self, genomes, sizes, exact, requests, theta, obs_mean, obs_std) -> None:
        """Record the exact evaluations (evaluations.csv) and keep the best by the search
        space's selection score; ``sizes`` are the genomes' ``describe()`` results."""
        ok = [i for i, r in enumerate(exact) if r.ok]
        if not ok:
            return
        returns = np.array([exact[i].episode.reward for i in ok], dtype=np.float64)
        objectives = self.exp.space.selection_scores(genomes[ok], returns)
        if self.run_dir:
            self.run_dir.append_evaluations(
                [
                    {
                        "iteration": self.iteration + 1,
                        "return": float(returns[j]),
                        "objective": float(objectives[j]),
                        "edges": sizes[i]["edges"],
                        "multiplications": sizes[i]["multiplications"],
                    }
                    for j, i in enumerate(ok)
                ]
            )
        improved = False
        for j, i in enumerate(ok):
            genome, result, request = genomes[i], exact[i], requests[i]
            if objectives[j] > self.best.objective:
                self.best = Best(
                    score=result.episode.reward,
                    objective=float(objectives[j]),
                    iteration=self.iteration + 1,
                    architecture=self.exp.space.decode(genome),
                    theta=theta.copy(),
                    obs_mean=obs_mean.copy(),
                    obs_std=obs_std.copy(),
                    env_seed=int(request.env_seed),
                )
                improved = True
        if improved and self.run_dir:
            self.save_best()  # once per iteration, whichever evaluation won

    def save_best(self) -> None:
        """best/architecture.json + best/weights.npz: enough to replay the best policy."""
        best, space = self.best, self.exp.space
        arch = best.architecture
        self.run_dir.write_unit(
            "best",
            {
                "weights.npz": {
                    "theta": best.theta,
                    "obs_mean": best.obs_mean,
                    "obs_std": best.obs_std,
                }
            },
            {
                "architecture.json": {
                    "score": best.score,
                    "objective": best.objective,
                    "iteration": best.iteration,
                    "env_seed": best.env_seed,
                    "search_space": self.cfg.search_space.to_dict(),
                    "task": self.cfg.task.to_dict(),
                    "architecture": arch.to_json(),
                    "size": space.describe(arch),
                }
            },
        )

    def save_final(self) -> None:
        """final/weights.npz: θ and the observation normalization after the last iteration."""
        mean, std = self._normalization()
        self.run_dir.write_weights(
            "final", "weights.npz", theta=self.theta, obs_mean=mean, obs_std=std
        )

    def summary(self) -> dict[str, Any]:
        first = self.history[0] if self.history else {}
        last = self.history[-1] if self.history else {}
        return {
            "iterations": self.iteration,
            "episodes": self.episodes,
            "env_steps": self.env_steps,
            "first_score": (
                self.first_score
                if self.first_score is not None
                else first.get("score_mean", math.nan)
            ),
            "final_score": last.get("score_mean", math.nan),
            "best_score": self.best.score,
            "best_iteration": self.best.iteration,
            "wall_time": last.get("wall_time", 0.0),
            "edges_mean": last.get("edges_mean", math.nan),
            "best_size": (
                self.exp.space.describe(self.best.architecture) if self.best.architecture else {}
            ),
        }


def _mean(values: Any) -> float:
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()) if arr.size else math.nan
