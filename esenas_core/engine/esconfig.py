"""The ES engine's own options (the config's ``[es]`` table): population, shaping, update rule,
schedules, exact evaluations, faults. TOML parsing lives in esenas_core.runs.config."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from esenas_core.api.records import NoiseSpec

_ge0: Any = attrs.validators.ge(0)
_ge1 = attrs.validators.ge(1)
_gt0 = attrs.validators.gt(0.0)


_unit = [attrs.validators.gt(0.0), attrs.validators.le(1.0)]

#: ``[es]`` keys that only gradient estimators read and that have an "unset" default: an
#: estimator with its own update rule refuses them when set (``ESConfig.refuse_unused``)
GRADIENT_KEYS = (
    "optimizer",
    "sigma_decay",
    "sigma_min",
    "learning_rate_decay",
    "weight_decay",
    "top_k",
)
_beta = [attrs.validators.ge(0.0), attrs.validators.lt(1.0)]


@attrs.frozen
class ESConfig:
    """The ES engine: population, σ and its schedule, shaping and update rule of the gradient
    estimators, exact evaluations, faults. The estimator itself is ``[estimator]`` (a plugin).

    docs/algorithm.md gives the equations and the original's flag for each option.
    """

    num_perturbations: int = attrs.field(default=16, validator=_ge1)
    sigma: float = attrs.field(default=0.05, validator=_gt0)
    sigma_decay: float = attrs.field(default=1.0, validator=_unit)
    sigma_min: float = attrs.field(default=0.0, validator=_ge0)
    learning_rate: float = attrs.field(default=0.05, validator=_gt0)
    learning_rate_decay: float = attrs.field(default=1.0, validator=_unit)
    optimizer: Literal["sgd", "adam"] = "sgd"
    adam_beta1: float = attrs.field(default=0.9, validator=_beta)
    adam_beta2: float = attrs.field(default=0.999, validator=_beta)
    weight_decay: float = attrs.field(default=0.0, validator=_ge0)
    fitness_shaping: Literal["zscore", "centered_rank", "none"] = "zscore"
    top_k: int = attrs.field(default=0, validator=_ge0)
    exact_evals: int = attrs.field(default=4, validator=_ge1)
    pair_architecture: Literal["shared", "independent"] = "shared"
    controller_reward: Literal["raw", "shaped"] = "raw"
    obs_norm: bool = True
    obs_std_floor: float = attrs.field(default=1e-2, validator=_gt0)
    min_valid_fraction: float = attrs.field(default=0.6, validator=_unit)
    max_retries: int = attrs.field(default=2, validator=_ge0)
    iteration_timeout: float = attrs.field(default=0.0, validator=_ge0)
    noise: Literal["seeded", "table"] = "seeded"
    noise_table_size: int = attrs.field(default=2**25, validator=_ge1)

    # Set from the run's estimator (``[estimator]``), not config keys: rollouts per direction
    # (2: mirrored pairs θ ± σε; 1: θ + σε) and whether f(θ) is its baseline.
    members: int = attrs.field(default=2, metadata={"derived": True})
    uses_baseline: bool = attrs.field(default=False, metadata={"derived": True})

    def __attrs_post_init__(self) -> None:
        if self.top_k > self.num_perturbations:
            raise ValueError(
                f"top_k ({self.top_k}) must not exceed num_perturbations ({self.num_perturbations})"
            )

    def for_estimator(self, cls: Any) -> ESConfig:
        """This table with ``members`` and ``uses_baseline`` of the estimator class ``cls``."""
        return attrs.evolve(self, members=cls.members, uses_baseline=cls.uses_baseline)

    def refuse_unused(
        self, estimator: str, instead: str, keys: tuple[str, ...] = GRADIENT_KEYS
    ) -> None:
        """``ValueError`` naming the first of ``keys`` set to other than its default: an option
        the estimator does not read (``instead``: what it uses in its place)."""
        fields = attrs.fields_dict(ESConfig)
        for key in keys:
            value = getattr(self, key)
            if value != fields[key].default:
                raise ValueError(
                    f"es.{key} = {value!r} is not used by estimator {estimator!r} ({instead});"
                    f" drop it or choose an estimator that uses it"
                )

    @property
    def noise_spec(self) -> NoiseSpec:
        """How perturbation directions are made (esenas_core.engine.noise)."""
        return NoiseSpec(self.noise, self.noise_table_size)

    def sigma_at(self, iteration: int) -> float:
        return max(self.sigma_min, self.sigma * self.sigma_decay**iteration)

    def learning_rate_at(self, iteration: int) -> float:
        return self.learning_rate * self.learning_rate_decay**iteration
