"""Ablation studies: a base config, named variants and/or grid axes, × seeds.

Study file (TOML)::

    name = "controllers"
    base = "default.toml"          # a config file, relative to the study file
    seeds = [0, 1, 2]
    threshold = 500.0              # optional: episodes to reach this exact-eval mean
    reference = ["random"]         # optional: each variant's IQM ÷ the best of these variants'
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
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from esenas_core.api.errors import ConfigError
from esenas_core.api.options import structure
from esenas_core.api.plugins import Registries
from esenas_core.runs.config import Layer, RunConfig, build_config, read_toml, set_dotted


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
    reference: tuple[str, ...] = ()  # variants whose best IQM the others are divided by

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


def _each(check: Any, what: str) -> Any:
    def validate(_inst: object, attr: attrs.Attribute, value: Mapping[str, Any]) -> None:
        for key, item in value.items():
            if not check(item):
                raise ValueError(f"{attr.name}: {key!r} {what}")

    return validate


def _seeds(_inst: object, attr: attrs.Attribute, value: tuple[int, ...]) -> None:
    if not value or len(set(value)) != len(value) or any(s < 0 for s in value):
        raise ValueError("seeds: must be a non-empty list of distinct non-negative integers")


@attrs.frozen
class StudyFile:
    """The keys of a study file, checked by type (``esenas_core.api.options.structure``: an
    unknown key gets a did-you-mean, a mistyped value names the key) and by these validators."""

    base: str | dict[str, Any]  # a config file (relative to the study file) or a table
    name: str | None = None  # default: the study file's stem
    seeds: tuple[int, ...] = attrs.field(default=(0,), validator=_seeds)
    threshold: float | None = None  # episodes to reach this exact-eval mean are reported
    overrides: dict[str, Any] = attrs.field(factory=dict)  # dotted keys, for every variant
    variants: dict[str, Any] = attrs.field(
        factory=dict,
        validator=_each(
            lambda v: isinstance(v, Mapping),
            'must be a table of dotted-key overrides, e.g. [variants.NAME] "es.sigma" = 0.1',
        ),
    )
    grid: dict[str, Any] = attrs.field(
        factory=dict,
        validator=_each(lambda v: isinstance(v, list) and v, "must be a non-empty list"),
    )
    parallel_backend: str = attrs.field(default="serial", validator=attrs.validators.min_len(1))
    bootstrap_seed: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    reference: tuple[str, ...] = ()  # variant names: final-score IQM ÷ the best of theirs


def load_study(path: str | Path) -> Study:
    """The study file ``path`` (TOML), validated."""
    path = Path(path)
    return study_from_dict(read_toml(path), str(path), path.parent, path.stem)


def study_from_dict(
    data: Mapping[str, Any], source: str, base_dir: Path, default_name: str = "study"
) -> Study:
    """A study from the keys of a study file (``base``: a config file's path, relative to
    ``base_dir``, or the config as a table)."""
    spec: StudyFile = structure(StudyFile, data, f"{source}: study")
    base = read_toml(base_dir / spec.base) if isinstance(spec.base, str) else spec.base
    overrides: dict[str, Any] = {}
    for key, value in spec.overrides.items():
        set_dotted(overrides, key, value, f"{source}: overrides")
    variants = [
        Variant(_folder_name(n, "variant name", source), dict(o)) for n, o in spec.variants.items()
    ]
    if spec.grid:
        variants = _grid(variants, list(spec.grid.items()))
    if not variants:
        variants = [Variant("base", {})]
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ConfigError(f"{source}: variant names repeat: {names}")
    for i, ref in enumerate(spec.reference):
        if ref not in names or ref in spec.reference[:i]:
            why = "is listed twice" if ref in names else f"is not a variant ({', '.join(names)})"
            raise ConfigError(f"{source}: study: reference: {ref!r} {why}")
    return Study(
        _folder_name(spec.name if spec.name is not None else default_name, "study name", source),
        copy.deepcopy(dict(base)),
        spec.seeds,
        tuple(variants),
        spec.threshold,
        source,
        spec.parallel_backend,
        spec.bootstrap_seed,
        overrides,
        tuple(spec.reference),
    )


def _grid(bases: list[Variant], axes: list[tuple[str, list[Any]]]) -> list[Variant]:
    """Every combination of the grid's values, for each named variant (or alone)."""
    out = []
    for b in bases or [Variant("", {})]:
        for combo in itertools.product(*(values for _, values in axes)):
            chosen = list(zip((k for k, _ in axes), combo, strict=True))
            label = [b.name, *(f"{k.split('.')[-1]}={_slug(v)}" for k, v in chosen)]
            out.append(Variant("-".join(filter(None, label)), {**b.overrides, **dict(chosen)}))
    return out


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
