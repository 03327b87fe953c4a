"""Tune σ and η of an ES-ENAS run with Optuna, pruning trials on their intermediate scores:
``python examples/optuna_tuning.py [CONFIG] [--trials N]`` (needs ``pip install 'esenas[optuna]'``).

Each trial is one ``Search`` over CONFIG (default: 40 iterations of the batched classic
Pendulum-v1) with the trial's ``es.sigma`` and ``es.learning_rate``; after every iteration it
reports the exact-evaluation score at θ, and Optuna's median pruner stops trials that fall
behind. The objective is the mean score of the last 5 iterations.
"""

from __future__ import annotations

import argparse

import optuna

from esenas_core import Search

DEFAULT = {
    "name": "tuned",
    "iterations": 40,
    "task": {"name": "classic", "env_id": "Pendulum-v1"},
    "search_space": {"name": "edges", "hidden": [16], "k": 40},
    "controller": {"name": "regularized_evolution"},
    "es": {"num_perturbations": 32, "exact_evals": 4},
}


def objective(trial: optuna.Trial, config: str | dict) -> float:
    sigma = trial.suggest_float("sigma", 0.01, 0.5, log=True)
    learning_rate = trial.suggest_float("learning_rate", 0.005, 0.2, log=True)
    overrides = [f"es.sigma={sigma!r}", f"es.learning_rate={learning_rate!r}"]
    scores: list[float] = []
    with Search(config, overrides=overrides) as search:
        while not search.done:
            asked = search.ask()
            row = search.tell(asked, search.evaluate(asked))
            if row is None:
                continue  # below the quorum: the next ask is the retry
            scores.append(row["score_mean"])
            trial.report(row["score_mean"], step=row["iteration"])
            if trial.should_prune():
                raise optuna.TrialPruned()
    return sum(scores[-5:]) / len(scores[-5:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default=None)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = args.config or DEFAULT
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=5),
    )
    study.optimize(lambda trial: objective(trial, config), n_trials=args.trials)
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    print(f"best: {study.best_value:.2f} with {study.best_params} ({pruned} trials pruned)")


if __name__ == "__main__":
    main()
