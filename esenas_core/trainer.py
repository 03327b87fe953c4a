"""The ES-ENAS training loop (the aggregator).

One iteration:
1. the controller proposes one genome per antithetic pair plus one per exact evaluation;
2. requests (perturbation seed, sign, genome, env seed) go to the backend; seeds derive from
   (run seed, iteration, attempt, index), so any backend computes the same numbers;
3. a pair with a failed or non-finite member is dropped whole (never zero-filled); below the
   quorum the iteration is retried with fresh seeds, then the run stops with ``RunError``;
4. θ ← θ + η·g (antithetic estimator on shaped rewards), observation statistics merged, the
   controller told (genome, reward) for every finished pair and exact evaluation, best tracked.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from esenas_core.errors import RunError
from esenas_core.es import antithetic_weights, combine
from esenas_core.experiment import Experiment
from esenas_core.interfaces import Architecture
from esenas_core.obsstats import ObsStats
from esenas_core.rollouts import Job, RolloutRequest, RolloutResult
from esenas_core.rundir import RunDirectory
from esenas_core.seeding import STREAM_ENV, STREAM_PERTURBATION, derive_seed


@attrs.define
class Best:
    """The best exact evaluation seen: its architecture, θ, observation normalization and score."""

    score: float = -math.inf
    iteration: int = 0
    architecture: Architecture | None = None
    theta: np.ndarray | None = None
    obs_mean: np.ndarray | None = None
    obs_std: np.ndarray | None = None


@attrs.define
class _Evaluated:
    results: list[RolloutResult]
    pair_ok: np.ndarray
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
        self.obs = ObsStats.empty(experiment.spec.obs_dim)
        self.best = Best()
        self.iteration = 0
        self.episodes = 0
        self.env_steps = 0
        self.history: list[dict[str, Any]] = []

    # -- the loop ---------------------------------------------------------------------------------

    def train(self, on_iteration: Callable[[Mapping[str, Any]], None] | None = None) -> Best:
        hook = self.exp.registries.pm.hook
        run_dir = str(self.run_dir.path) if self.run_dir else ""
        hook.esenas_run_start(config=self.cfg.to_dict(), run_dir=run_dir)
        start = time.perf_counter()
        with self.exp.backend:
            while self.iteration < self.cfg.iterations:
                row = self.step()
                row["wall_time"] = time.perf_counter() - start
                self.history.append(row)
                if self.run_dir:
                    self.run_dir.append_metrics(row)
                hook.esenas_iteration_end(row=row, run_dir=run_dir)
                if on_iteration:
                    on_iteration(row)
        hook.esenas_run_end(summary=self.summary(), run_dir=run_dir)
        return self.best

    def step(self) -> dict[str, Any]:
        """One iteration; returns its metrics row (without wall time)."""
        es = self.cfg.es
        n, n_exact = es.num_pairs, es.exact_evals
        genomes = self.exp.controller.propose(n + n_exact)
        obs_mean, obs_std = self._normalization()
        job = Job(self.exp.worker_spec, self.theta.copy(), es.sigma, obs_mean, obs_std)
        ev = self._evaluate(job, genomes)

        ok = ev.pair_ok
        f_plus = np.array([ev.results[2 * i].episode.reward for i in np.flatnonzero(ok)])
        f_minus = np.array([ev.results[2 * i + 1].episode.reward for i in np.flatnonzero(ok)])
        weights = antithetic_weights(f_plus, f_minus, es.sigma, es.fitness_shaping)
        grad = combine(weights, [ev.seeds[i] for i in np.flatnonzero(ok)], self.theta.shape[0])
        theta_before = self.theta
        self.theta = self.theta + es.learning_rate * grad

        exact = ev.results[2 * n :]
        exact_ok = [r for r in exact if r.ok]
        scores = np.array([r.episode.reward for r in exact_ok])
        self._feedback(genomes, ok, f_plus, f_minus, exact)
        self._track_best(genomes[n:], exact, theta_before, obs_mean, obs_std)
        for r in ev.results:
            if r.ok:
                self.obs.merge(r.episode.obs_count, r.episode.obs_mean, r.episode.obs_m2)
                self.episodes += 1
                self.env_steps += r.episode.steps
        self.iteration += 1
        sizes = [self.exp.space.describe(self.exp.space.decode(g)) for g in genomes[n:]]
        perturbed = np.concatenate([f_plus, f_minus])
        return {
            "iteration": self.iteration,
            "episodes": self.episodes,
            "env_steps": self.env_steps,
            "score_mean": _mean(scores),
            "score_std": float(scores.std()) if scores.size else math.nan,
            "score_max": float(scores.max()) if scores.size else math.nan,
            "perturbed_mean": _mean(perturbed),
            "perturbed_max": float(perturbed.max()) if perturbed.size else math.nan,
            "best_score": self.best.score if np.isfinite(self.best.score) else math.nan,
            "valid_pairs": int(ok.sum()),
            "failures": ev.failures,
            "retries": ev.retries,
            "grad_norm": float(np.linalg.norm(grad)),
            "theta_norm": float(np.linalg.norm(self.theta)),
            "edges_mean": _mean([s["edges"] for s in sizes]),
            "multiplications_mean": _mean([s["multiplications"] for s in sizes]),
            **{f"controller_{k}": float(v) for k, v in self.exp.controller.stats().items()},
        }

    # -- pieces -----------------------------------------------------------------------------------

    def _normalization(self) -> tuple[np.ndarray, np.ndarray]:
        dim = self.exp.spec.obs_dim
        if not self.cfg.es.obs_norm:
            return np.zeros(dim), np.ones(dim)
        return self.obs.mean.copy(), self.obs.std(self.cfg.es.obs_std_floor)

    def _requests(
        self, genomes: np.ndarray, attempt: int
    ) -> tuple[list[RolloutRequest], list[int]]:
        seed, it, n = self.cfg.seed, self.iteration, self.cfg.es.num_pairs
        requests, seeds = [], []
        for i in range(n):
            p_seed = derive_seed(seed, STREAM_PERTURBATION, it, attempt, i)
            # Both members of a pair see the same environment seed (common random numbers).
            e_seed = derive_seed(seed, STREAM_ENV, it, attempt, i)
            seeds.append(p_seed)
            requests.append(RolloutRequest(2 * i, p_seed, +1, genomes[i], e_seed))
            requests.append(RolloutRequest(2 * i + 1, p_seed, -1, genomes[i], e_seed))
        for j in range(self.cfg.es.exact_evals):
            e_seed = derive_seed(seed, STREAM_ENV, it, attempt, n + j)
            requests.append(RolloutRequest(2 * n + j, 0, 0, genomes[n + j], e_seed))
        return requests, seeds

    def _evaluate(self, job: Job, genomes: np.ndarray) -> _Evaluated:
        es, n = self.cfg.es, self.cfg.es.num_pairs
        quorum = max(1, math.ceil(es.min_valid_fraction * n))
        failures, last_error = 0, ""
        for attempt in range(es.max_retries + 1):
            requests, seeds = self._requests(genomes, attempt)
            results = self.exp.backend.evaluate(job, requests)
            if [r.index for r in results] != [q.index for q in requests]:
                raise RunError(f"backend {self.exp.backend.name!r} returned misaligned results")
            bad = [r for r in results if not r.ok]
            failures += len(bad)
            last_error = next((r.error for r in bad if r.error), last_error or "non-finite reward")
            pair_ok = np.array([results[2 * i].ok and results[2 * i + 1].ok for i in range(n)])
            if pair_ok.sum() >= quorum:
                return _Evaluated(results, pair_ok, seeds, failures, attempt)
        raise RunError(
            f"iteration {self.iteration + 1}: fewer than {quorum} of {n} pairs succeeded in each of"
            f" {es.max_retries + 1} attempts; last error: {last_error}"
        )

    def _feedback(self, genomes, pair_ok, f_plus, f_minus, exact) -> None:
        """Controller reward (raw returns): pair mean per pair genome, and each exact evaluation."""
        n = self.cfg.es.num_pairs
        exact_ok = [j for j, r in enumerate(exact) if r.ok]
        fed = np.concatenate([genomes[:n][pair_ok], genomes[n:][exact_ok]])
        rewards = np.concatenate(
            [0.5 * (f_plus + f_minus), [exact[j].episode.reward for j in exact_ok]]
        )
        if len(fed):
            self.exp.controller.feedback(fed, rewards)

    def _track_best(self, genomes, exact, theta, obs_mean, obs_std) -> None:
        for genome, result in zip(genomes, exact, strict=True):
            if result.ok and result.episode.reward > self.best.score:
                self.best = Best(
                    score=result.episode.reward,
                    iteration=self.iteration + 1,
                    architecture=self.exp.space.decode(genome),
                    theta=theta.copy(),
                    obs_mean=obs_mean.copy(),
                    obs_std=obs_std.copy(),
                )
                if self.run_dir:
                    self.save_best()

    def save_best(self) -> None:
        """best/architecture.json + best/weights.npz: enough to replay the best policy."""
        best, space = self.best, self.exp.space
        arch = best.architecture
        self.run_dir.write_weights(
            "best", "weights.npz", theta=best.theta, obs_mean=best.obs_mean, obs_std=best.obs_std
        )
        self.run_dir.write_json(
            "best",
            "architecture.json",
            {
                "score": best.score,
                "iteration": best.iteration,
                "search_space": self.cfg.search_space.to_dict(),
                "task": self.cfg.task.to_dict(),
                "architecture": arch.to_json(),
                "size": space.describe(arch),
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
            "first_score": first.get("score_mean", math.nan),
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
