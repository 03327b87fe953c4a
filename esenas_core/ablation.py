"""Ablation studies: a base config, named variants and/or grid axes, × seeds.

Study file (TOML)::

    name = "controllers"
    base = "default.toml"          # a config file, relative to the study file
    seeds = [0, 1, 2]
    threshold = 500.0              # optional: episodes to reach this exact-eval mean
    overrides = { iterations = 40 }   # optional: applied to every variant

    [variants.random]              # a variant is a set of dotted-key overrides
    "controller.name" = "random"
    [variants.evolution]
    "controller.name" = "regularized_evolution"

    [grid]                         # optional: every combination of these values is a variant
    "es.sigma" = [0.05, 0.1]

Every (variant, seed) runs in ``STUDY_DIR/runs/<variant>-seed<seed>/``. Re-running the study
skips finished runs (``final/`` exists) and resumes interrupted ones from their checkpoint.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from esenas_core.config import (
    RunConfig,
    build_config,
    config_differences,
    deep_copy,
    read_toml,
    set_dotted,
)
from esenas_core.errors import ConfigError
from esenas_core.options import did_you_mean
from esenas_core.plugins import Registries

_STUDY_KEYS = {"name", "base", "seeds", "threshold", "overrides", "variants", "grid"}


@attrs.frozen
class Variant:
    name: str
    overrides: Mapping[str, Any]


@attrs.frozen
class Study:
    name: str
    base: dict[str, Any]
    seeds: tuple[int, ...]
    variants: tuple[Variant, ...]
    threshold: float | None
    source: str

    def config(self, variant: Variant, seed: int, registries: Registries) -> RunConfig:
        data = deep_copy(self.base)
        for key, value in variant.overrides.items():
            set_dotted(data, key, value, f"{self.source}: variant {variant.name!r}")
        data["seed"] = seed
        data["name"] = f"{self.name}-{variant.name}"
        return build_config(data, registries, f"{self.source} (variant {variant.name!r})")


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(value)).strip("_")


def load_study(path: str | Path) -> Study:
    path = Path(path)
    data = read_toml(path)
    source = str(path)
    for key in data:
        if key not in _STUDY_KEYS:
            raise ConfigError(
                f"{source}: unknown study key {key!r}{did_you_mean(key, _STUDY_KEYS)}"
                f" (valid: {', '.join(sorted(_STUDY_KEYS))})"
            )
    base = data.get("base")
    if isinstance(base, str):
        base = read_toml(path.parent / base)
    elif not isinstance(base, Mapping):
        raise ConfigError(f"{source}: 'base' must be a config file name or a table")
    base = deep_copy(base)
    for key, value in data.get("overrides", {}).items():
        set_dotted(base, key, value, f"{source}: overrides")
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise ConfigError(f"{source}: 'seeds' must be a non-empty list of integers")
    variants = [Variant(_slug(n), dict(o)) for n, o in data.get("variants", {}).items()]
    grid = data.get("grid", {})
    if grid:
        axes = list(grid.items())
        for key, values in axes:
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{source}: grid axis {key!r} must be a non-empty list")
        bases = variants or [Variant("", {})]
        variants = [
            Variant(
                "-".join(
                    filter(
                        None,
                        [
                            b.name,
                            *(
                                f"{k.split('.')[-1]}={_slug(v)}"
                                for (k, _), v in zip(axes, combo, strict=True)
                            ),
                        ],
                    )
                ),
                {**b.overrides, **{k: v for (k, _), v in zip(axes, combo, strict=True)}},
            )
            for b in bases
            for combo in itertools.product(*(values for _, values in axes))
        ]
    if not variants:
        variants = [Variant("base", {})]
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ConfigError(f"{source}: variant names repeat: {names}")
    threshold = data.get("threshold")
    if threshold is not None and not isinstance(threshold, int | float):
        raise ConfigError(f"{source}: 'threshold' must be a number")
    name = data.get("name", path.stem)
    return Study(_slug(name), base, tuple(seeds), tuple(variants), threshold, source)


@attrs.frozen
class Planned:
    variant: Variant
    seed: int
    config: RunConfig
    run_dir: Path

    @property
    def finished(self) -> bool:
        return (self.run_dir / "final" / "weights.npz").exists()


def plan(study: Study, out: Path, registries: Registries) -> list[Planned]:
    """Every (variant, seed) with its validated config: all errors surface before any run."""
    return [
        Planned(v, s, study.config(v, s, registries), out / "runs" / f"{v.name}-seed{s}")
        for v in study.variants
        for s in study.seeds
    ]


def run_all(
    planned: Iterable[Planned],
    registries: Registries,
    log: Callable[[str], None] = print,
) -> None:
    """Run what is not finished; resume what has a checkpoint."""
    from esenas_core.config import load_config
    from esenas_core.experiment import Experiment
    from esenas_core.rundir import RunDirectory
    from esenas_core.trainer import Trainer

    items = list(planned)
    for i, item in enumerate(items, 1):
        label = f"[{i}/{len(items)}] {item.variant.name} seed {item.seed}"
        if item.finished:
            log(f"{label}: finished earlier, skipped")
            continue
        experiment = Experiment.build(item.config, registries)
        if (item.run_dir / "checkpoint").exists():
            saved = load_config(item.run_dir / "config.toml", [], registries)
            if config_differences(saved, item.config, ignore=["iterations"]):
                raise ConfigError(f"{item.run_dir}: its config differs from the study's; move it")
            directory = RunDirectory(item.run_dir)
            trainer = Trainer(experiment, directory)
            trainer.resume()
            log(f"{label}: resuming at iteration {trainer.iteration + 1}")
        else:
            if item.run_dir.exists():  # started but killed before its first checkpoint
                import shutil

                shutil.rmtree(item.run_dir)
            directory = RunDirectory.create(item.run_dir)
            trainer = Trainer(experiment, directory)
        directory.write_text("config.toml", item.config.to_toml())
        trainer.train()
        trainer.save_final()
        s = trainer.summary()
        log(
            f"{label}: final {s['final_score']:.2f}, best {s['best_score']:.2f},"
            f" {s['wall_time']:.1f} s"
        )
