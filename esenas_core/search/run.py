"""``Search``: one ES-ENAS run driven from Python — ask, evaluate, tell — and what ``esenas run``
uses itself (one code path: ``Search.run`` is the trainer's own loop).

    from esenas_core import Search

    with Search("examples/default.toml", run_dir="runs/mine") as search:
        while not search.done:
            asked = search.ask()                      # genomes, seeds, signs; .policies()
            search.tell(asked, search.evaluate(asked))  # or your own returns, NaN = failed
    print(search.summary())
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from esenas_core.api.errors import ConfigError, EsenasError, TellError
from esenas_core.api.plugins import Registries, get_registries
from esenas_core.engine.asking import Asked
from esenas_core.engine.experiment import Experiment
from esenas_core.engine.runconfig import RunConfig
from esenas_core.engine.state import Best, RunState
from esenas_core.engine.trainer import Trainer
from esenas_core.runs import checkpoint
from esenas_core.runs.config import (
    build_config,
    config_differences,
    load_config,
    override_layer,
)
from esenas_core.runs.rundir import RESULTS_VERSION, results_version
from esenas_core.runs.start import open_run

ConfigLike = str | Path | Mapping[str, Any] | RunConfig


def resolve_config(
    config: ConfigLike, overrides: Iterable[str] = (), registries: Registries | None = None
) -> RunConfig:
    """A ``RunConfig`` from a TOML file's path, a dict shaped like one, or a ``RunConfig``;
    ``overrides`` are ``--set``-style ``KEY=VALUE`` strings."""
    registries = registries or get_registries()
    overrides = list(overrides)
    if isinstance(config, RunConfig):
        if not overrides:
            return config
        config = config.to_dict()
    if isinstance(config, str | Path):
        return load_config(config, overrides, registries)
    if isinstance(config, Mapping):
        layers = [override_layer(overrides)] if overrides else []
        return build_config(dict(config), registries, "config (dict)", layers)
    raise ConfigError(
        f"config: expected a path, a dict or a RunConfig, got {type(config).__name__}"
    )


class Search:
    """One run: ``ask()`` → evaluate → ``tell()`` until ``done``.

    ``config``: a TOML file's path, a dict shaped like one, or a ``RunConfig``; ``overrides``:
    ``KEY=VALUE`` strings as ``--set`` takes them. ``run_dir``: a new run folder to write
    (``config.toml``, ``metrics.csv``, ``best/``, checkpoints, ``final/``), or None to keep
    everything in memory (``rows``, ``state``, ``summary()``).

    The backend opens on the first ``ask()`` (or ``with Search(...)``) and closes with
    ``close()``. The same config and seed give the same bits as ``esenas run`` on any backend.
    """

    def __init__(
        self,
        config: ConfigLike,
        *,
        run_dir: str | Path | None = None,
        overrides: Iterable[str] = (),
        registries: Registries | None = None,
        _trainer: Trainer | None = None,
    ) -> None:
        if _trainer is None:
            cfg = resolve_config(config, overrides, registries)
            experiment = Experiment.build(cfg, registries or get_registries())
            if run_dir is None:
                _trainer = Trainer(experiment)
            else:
                _trainer = open_run(experiment, Path(run_dir), resume=False)
        self.trainer = _trainer
        self._stack: contextlib.ExitStack | None = None

    # -- opening ----------------------------------------------------------------------------------

    @classmethod
    def resume(
        cls,
        run_dir: str | Path,
        config: ConfigLike | None = None,
        *,
        overrides: Iterable[str] = (),
        force: bool = False,
        registries: Registries | None = None,
    ) -> Search:
        """Continue the run in ``run_dir`` from its last checkpoint, writing into it (what
        ``esenas run --resume`` does). The config must equal the run's, but for ``iterations``
        and ``[stop]``, unless ``force``."""
        path = Path(run_dir)
        registries = registries or get_registries()
        saved = load_config(path / "config.toml", [], registries)
        cfg = resolve_config(
            config if config is not None else path / "config.toml", overrides, registries
        )
        changed = [
            k
            for k in config_differences(saved, cfg, ignore=["iterations"])
            if not k.startswith("stop.")
        ]
        made_by = results_version(path)
        if made_by != RESULTS_VERSION:
            changed.append(f"esenas results version ({made_by} → {RESULTS_VERSION})")
        if changed and not force:
            raise EsenasError(
                f"{path}: the config differs from the run's in {', '.join(changed)};"
                " resume with the same config (only iterations and [stop] may change) or pass"
                " --force"
            )
        experiment = Experiment.build(cfg, registries)
        done = checkpoint.checkpoint_iteration(path)
        if done is not None and cfg.iterations < done:
            raise EsenasError(
                f"{path}: the run's checkpoint is at iteration {done}, past iterations ="
                f" {cfg.iterations}; resume with --set iterations=N for N ≥ {done}"
            )
        return cls(cfg, _trainer=open_run(experiment, path, resume=True))

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        run_dir: str | Path | None = None,
        overrides: Iterable[str] = (),
        registries: Registries | None = None,
    ) -> Search:
        """A search continued from what ``save(path)`` wrote (in memory, or into a new
        ``run_dir``): the rows that follow are those the saved search would have produced."""
        path = Path(path)
        registries = registries or get_registries()
        cfg = resolve_config(path / "config.toml", overrides, registries)
        search = cls(cfg, run_dir=run_dir, registries=registries)
        search.trainer.restore(checkpoint.load(path), f"{path}/checkpoint")
        return search

    def save(self, path: str | Path) -> Path:
        """Write the state and config to the folder ``path`` (``Search.load(path)`` continues
        bit for bit). Between iterations only: after an ``ask()``, tell it first."""
        if self.trainer._pending is not None:
            raise TellError(
                f"save: iteration {self.trainer.iteration + 1} is asked and not told; tell it"
                " first (a save holds whole iterations)"
            )
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.toml").write_text(self.config.to_toml(), encoding="utf-8")
        wall = self.trainer.history[-1]["wall_time"] if self.trainer.history else 0.0
        checkpoint.save(self.trainer.snapshot(wall), path, self.config.controller.name)
        return path

    def __enter__(self) -> Search:
        self.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._close(exc)

    def open(self) -> None:
        """Open the backend and the run folder's log (``ask()`` does it when needed)."""
        if self._stack is None:
            stack = contextlib.ExitStack()
            stack.enter_context(self.trainer.session())
            self._stack = stack

    def close(self) -> None:
        """Close the backend; a finished run also writes ``final/`` (θ and the observation
        normalization after its last iteration)."""
        self._close((None, None, None))

    def _close(self, exc: tuple[Any, Any, Any]) -> None:
        if self._stack is None:
            return
        stack, self._stack = self._stack, None
        if exc[0] is None and self.done:
            self.trainer.save_final()
        stack.__exit__(*exc)

    # -- the loop ---------------------------------------------------------------------------------

    def ask(self) -> Asked:
        """The next iteration's requests (the same ``Asked`` until it is told)."""
        self.open()
        return self.trainer.ask()

    def evaluate(self, asked: Asked) -> Sequence[Any]:
        """Evaluate ``asked`` on the run's backend; the results to ``tell``."""
        self.open()
        return self.trainer.evaluate(asked)

    def tell(self, asked: Asked, results: Any) -> dict[str, Any] | None:
        """Tell the results of ``asked`` (``RolloutResult``s or one return per request; NaN or
        None: failed). Returns the iteration's metrics row, or None when the attempt fell below
        the quorum (the next ``ask()`` is its retry)."""
        return self.trainer.tell(asked, results)

    def run(self, on_iteration: Callable[[Mapping[str, Any]], None] | None = None) -> Best:
        """Every remaining iteration on the run's backend (what ``esenas run`` does)."""
        with self:
            self.trainer.train(on_iteration)
        return self.best

    def optimize(
        self,
        objective: Callable[..., Any],
        *,
        batched: bool = False,
        direction: Literal["maximize", "minimize"] = "maximize",
    ) -> Best:
        """Optimize ``objective(architecture, θ) → float`` in this process (``batched``:
        ``objective(architectures, θs) → (n,) returns``, θs an (n, d) array). A NaN, an
        infinite value or None counts as a failed evaluation."""
        if direction not in ("maximize", "minimize"):
            raise ConfigError(f"direction: expected 'maximize' or 'minimize', got {direction!r}")
        with self:
            while not self.done:
                asked = self.ask()
                params, archs = asked.parameters(), asked.architectures()
                if batched:
                    values = objective(archs, params)
                else:
                    values = [objective(a, p) for a, p in zip(archs, params, strict=True)]
                self.tell(asked, values if direction == "maximize" else _negated(values))
        return self.best

    # -- what it holds ----------------------------------------------------------------------------

    @property
    def config(self) -> RunConfig:
        return self.trainer.cfg

    @property
    def space(self) -> Any:
        """The search space plugin (``decode``, ``describe``, ``param_mask``, ``network``…)."""
        return self.trainer.exp.space

    @property
    def done(self) -> bool:
        return self.trainer.done

    @property
    def stopped_by(self) -> str | None:
        """The ``[stop]`` rule that ended the run, or None."""
        return self.trainer.state.stopped_by

    @property
    def state(self) -> RunState:
        """The run's state as data (θ, optimizer, observation statistics, best, counters)."""
        return self.trainer.snapshot(self.trainer.state.wall_time)

    @property
    def theta(self) -> np.ndarray:
        return self.trainer.theta.copy()

    @property
    def iteration(self) -> int:
        return self.trainer.iteration

    @property
    def best(self) -> Best:
        return self.trainer.best

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The metrics rows of the iterations this object ran."""
        return list(self.trainer.history)

    @property
    def run_dir(self) -> Path | None:
        location = self.trainer.recorder.location
        return Path(location) if location else None

    def summary(self) -> dict[str, Any]:
        """First, final and best score, counters, wall time, sizes, and the stopping rule."""
        return self.trainer.summary()


def _negated(values: Any) -> Any:
    """Each number negated; anything else (None, a wrong type, a wrong count) is left for
    ``tell`` to judge, as it judges a maximized objective's values."""
    if values is None or isinstance(values, str | bytes):
        return values
    return [
        -v
        if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
        else v
        for v in np.asarray(values, dtype=object).ravel()
    ]


def optimize(
    objective: Callable[..., Any],
    config: ConfigLike,
    *,
    batched: bool = False,
    direction: Literal["maximize", "minimize"] = "maximize",
    run_dir: str | Path | None = None,
    overrides: Iterable[str] = (),
) -> Search:
    """Optimize ``objective(architecture, θ)`` (or a batched one) with the config's search space,
    controller and ES settings; returns the finished ``Search`` (``best``, ``summary()``)."""
    search = Search(config, run_dir=run_dir, overrides=overrides)
    search.optimize(objective, batched=batched, direction=direction)
    return search
