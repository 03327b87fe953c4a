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

Every (variant, seed) runs in ``STUDY_DIR/runs/<variant>-seed<seed>/`` and is identified by its
resolved config (``esenas_core.studies.identity``): a re-run reuses or resumes a run only when its
config is identical, and stops before running anything when a run's config changed.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from esenas_core.api.errors import ConfigError
from esenas_core.api.options import did_you_mean
from esenas_core.api.plugins import Registries
from esenas_core.runs.config import Layer, RunConfig, build_config, read_toml, set_dotted

_STUDY_KEYS = {
    "name", "base", "seeds", "threshold", "overrides", "variants", "grid",
    "parallel_backend", "bootstrap_seed",
}  # fmt: skip


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
    parallel_backend: str = "serial"  # a backend name, or "config": each run's own backend
    bootstrap_seed: int = 0
    overrides: Mapping[str, Any] = attrs.field(factory=dict)  # the study's [overrides], nested

    def config(
        self, variant: Variant, seed: int, registries: Registries, parallel: bool = False
    ) -> RunConfig:
        """The resolved config of one run; in a parallel study its backend is
        ``parallel_backend`` (``serial`` unless the study says otherwise)."""
        where = f"{self.source}: variant {variant.name!r}"
        changes: dict[str, Any] = {}
        for key, value in variant.overrides.items():
            set_dotted(changes, key, value, where)
        layers = [
            Layer(f"{self.source}: overrides", copy.deepcopy(dict(self.overrides))),
            Layer(where, changes),
            Layer(self.source, {"seed": seed, "name": f"{self.name}-{variant.name}"}),
        ]
        base = copy.deepcopy(self.base)
        if parallel and self.parallel_backend != "config":  # the study's own backend runs it
            base.pop("backend", None)
            for layer in layers:
                layer.data.pop("backend", None)  # type: ignore[attr-defined]
            layers.append(Layer(self.source, {"backend": {"name": self.parallel_backend}}))
        return build_config(base, registries, f"{self.source} (variant {variant.name!r})", layers)


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(value)).strip("_")


def _folder_name(value: Any, what: str, source: str) -> str:
    """``value`` slugged into a folder name; one that would name no folder of its own ("", ".",
    "..", a leading dot: the current or parent folder, a hidden one) is refused."""
    slug = _slug(value)
    if not slug or slug.startswith(".") or not isinstance(value, str):
        raise ConfigError(
            f"{source}: {what} {value!r} does not make a folder name (use letters, digits, '_',"
            " '-' or '.', not starting with '.')"
        )
    return slug


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
    for key in ("variants", "grid", "overrides"):
        if not isinstance(data.get(key, {}), Mapping):
            raise ConfigError(f"{source}: '{key}' must be a table")
    for name, table in data.get("variants", {}).items():
        if not isinstance(table, Mapping):
            raise ConfigError(
                f"{source}: variant {name!r} must be a table of dotted-key overrides,"
                f' e.g. [variants.{name}] "es.sigma" = 0.1'
            )
    base = data.get("base")
    if isinstance(base, str):
        base = read_toml(path.parent / base)
    elif not isinstance(base, Mapping):
        raise ConfigError(f"{source}: 'base' must be a config file name or a table")
    base = copy.deepcopy(dict(base))
    overrides: dict[str, Any] = {}
    for key, value in data.get("overrides", {}).items():
        set_dotted(overrides, key, value, f"{source}: overrides")
    seeds = data.get("seeds", [0])
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    ):
        raise ConfigError(f"{source}: 'seeds' must be a non-empty list of integers")
    variants = [
        Variant(_folder_name(n, "variant name", source), dict(o))
        for n, o in data.get("variants", {}).items()
    ]
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
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int | float)
    ):
        raise ConfigError(f"{source}: 'threshold' must be a number")
    if isinstance(threshold, float) and not math.isfinite(threshold):
        raise ConfigError(f"{source}: 'threshold' must be finite")
    parallel_backend = data.get("parallel_backend", "serial")
    if not isinstance(parallel_backend, str) or not parallel_backend:
        raise ConfigError(f"{source}: 'parallel_backend' must be a backend name or \"config\"")
    bootstrap_seed = data.get("bootstrap_seed", 0)
    if (
        isinstance(bootstrap_seed, bool)
        or not isinstance(bootstrap_seed, int)
        or bootstrap_seed < 0
    ):
        raise ConfigError(f"{source}: 'bootstrap_seed' must be a non-negative integer")
    if len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
        raise ConfigError(f"{source}: 'seeds' must be distinct non-negative integers")
    name = _folder_name(data.get("name", path.stem), "study name", source)
    return Study(
        name,
        base,
        tuple(seeds),
        tuple(variants),
        threshold,
        source,
        parallel_backend,
        bootstrap_seed,
        overrides,
    )


@attrs.frozen
class StudyRun:
    """One (variant, seed) of a study: its resolved config and its run folder."""

    variant: Variant
    seed: int
    config: RunConfig
    run_dir: Path

    @property
    def label(self) -> str:
        return f"{self.variant.name} seed {self.seed}"

    @property
    def finished(self) -> bool:
        return (self.run_dir / "final" / "weights.npz").exists()


def plan(study: Study, out: Path, registries: Registries, parallel: bool = False) -> list[StudyRun]:
    """Every (variant, seed) with its validated config: all errors surface before any run,
    and two variants that resolve to the same run are refused (they would compare a config with
    itself)."""
    planned = [
        StudyRun(v, s, study.config(v, s, registries, parallel), out / "runs" / f"{v.name}-seed{s}")
        for v in study.variants
        for s in study.seeds
    ]
    same: dict[str, str] = {}
    for p in planned:
        if p.seed != study.seeds[0]:
            continue
        identity = json.dumps({**p.config.to_dict(), "name": ""}, sort_keys=True, default=str)
        if identity in same:
            raise ConfigError(
                f"{study.source}: variants {same[identity]!r} and {p.variant.name!r} resolve to"
                " the same run (the same resolved config); make them differ or drop one"
            )
        same[identity] = p.variant.name
    return planned
