"""Public conformance checkers for plugin authors (in the spirit of gymnasium's ``check_env``).

    from esenas_core.checks import check_search_space
    check_search_space(MySpace(MySpace.Options(), TaskSpec(obs_dim=5, act_dim=2)))

Each raises ``ConformanceError`` saying what is wrong, or returns the names of the checks it ran.
"""

from __future__ import annotations

import json

import numpy as np

from esenas_core.actions import to_env_actions
from esenas_core.interfaces import Architecture, SearchSpace, TaskSpec


class ConformanceError(AssertionError):
    """A plugin breaks the interface contract."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConformanceError(message)


def check_search_space(space: SearchSpace, seed: int = 0, batch: int = 6) -> list[str]:
    """Check genomes, decoding, parameters, the batched forward pass and size statistics."""
    name = type(space).__name__
    rng = np.random.default_rng(seed)
    ran = []
    decisions = space.decisions
    genomes = decisions.sample(rng, batch)
    _require(genomes.shape == (batch, decisions.length), f"{name}: sample() shape {genomes.shape}")
    for genome in genomes:
        decisions.validate(genome)
        decisions.validate(decisions.mutate(genome, rng))
    ran.append("genomes valid (sampled and mutated)")

    archs = [space.decode(g) for g in genomes]
    for genome, arch in zip(genomes, archs, strict=True):
        again = space.decode(genome.copy())
        _require(_same(arch, again), f"{name}: decode() is not deterministic")
        restored = Architecture.from_json(json.loads(json.dumps(arch.to_json())))
        _require(_same(arch, restored), f"{name}: Architecture does not round-trip through JSON")
    ran.append("decode deterministic and JSON round trip")

    theta = space.init_params(np.random.default_rng(seed))
    _require(theta.shape == (space.num_params,), f"{name}: init_params length != num_params")
    _require(bool(np.all(np.isfinite(theta))), f"{name}: init_params is not finite")
    _require(
        np.array_equal(theta, space.init_params(np.random.default_rng(seed))),
        f"{name}: init_params is not a function of its generator",
    )
    ran.append("parameters")

    spec = space.task
    params = rng.normal(size=(batch, space.num_params))
    obs = rng.normal(size=(batch, spec.obs_dim))
    net = space.network(params, archs)
    out = net(obs)
    _require(out.shape == (batch, spec.act_dim), f"{name}: network output shape {out.shape}")
    _require(bool(np.all(np.abs(out) <= 1.0)), f"{name}: network outputs must lie in [-1, 1]")
    for row in range(batch):
        single = space.network(params[row : row + 1], [archs[row]])(obs[row : row + 1])
        _require(
            np.allclose(single[0], out[row], rtol=1e-5, atol=1e-6),
            f"{name}: batch row {row} != its own network",
        )
    rows = np.arange(0, batch, 2)
    _require(np.allclose(net.take(rows)(obs[rows]), out[rows]), f"{name}: take() is inconsistent")
    mean, std = rng.normal(size=spec.obs_dim), rng.uniform(0.5, 2.0, spec.obs_dim)
    folded = net.with_input_normalization(mean, std)
    _require(
        np.allclose(folded(obs), net((obs - mean) / std), rtol=1e-4, atol=1e-5),
        f"{name}: with_input_normalization() differs from normalizing the input",
    )
    _require(
        np.allclose(folded.take(rows)(obs[rows]), folded(obs)[rows], rtol=1e-5, atol=1e-6),
        f"{name}: take() after with_input_normalization() is inconsistent",
    )
    ran.append("batched forward: shape, range, rows independent, take(), input normalization")

    if hasattr(space, "reference_forward"):
        for row in range(batch):
            ref = space.reference_forward(params[row], archs[row], obs[row])
            _require(
                np.allclose(ref, out[row], rtol=1e-4, atol=1e-5),  # networks run in float32
                f"{name}: vectorized forward != per-edge reference for row {row}",
            )
        ran.append("vectorized forward == per-edge reference")

    box = TaskSpec(
        spec.obs_dim,
        spec.act_dim,
        action_low=(-2.0,) * spec.act_dim,
        action_high=(3.0,) * spec.act_dim,
    )
    actions = to_env_actions(out, box)
    _require(bool(np.all((actions >= -2.0) & (actions <= 3.0))), f"{name}: actions out of bounds")
    ran.append("action bounds")

    overrides_mask = type(space).param_mask is not SearchSpace.param_mask
    for arch in archs:
        size = space.describe(arch)
        for key in ("edges", "multiplications", "params_in_use"):
            _require(isinstance(size.get(key), int), f"{name}: describe() needs an int {key!r}")
        _require(size["params_in_use"] <= space.num_params, f"{name}: params_in_use > num_params")
        mask = space.param_mask(arch)
        _require(
            mask.shape == (space.num_params,) and mask.dtype == bool,
            f"{name}: param_mask must be bool of length num_params",
        )
        if overrides_mask:
            _require(
                int(mask.sum()) == size["params_in_use"],
                f"{name}: param_mask().sum() != describe()['params_in_use']",
            )
    ran.append("describe() and param_mask()")

    rewards = rng.normal(size=batch)
    scored = np.asarray(space.controller_rewards(genomes, rewards))
    expected = (batch,) if space.objectives == 1 else (batch, space.objectives)
    _require(scored.shape == expected, f"{name}: controller_rewards shape {scored.shape}")
    ran.append("controller rewards")
    return ran


def _same(a: Architecture, b: Architecture) -> bool:
    if not np.array_equal(a.genome, b.genome) or set(a.parts) != set(b.parts):
        return False
    return all(np.array_equal(np.asarray(a.parts[k]), np.asarray(b.parts[k])) for k in a.parts)
