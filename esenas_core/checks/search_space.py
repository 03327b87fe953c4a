"""``check_search_space``: the search-space contract, checked on the space it is given."""

from __future__ import annotations

import json

import numpy as np

from esenas_core.api.actions import to_env_actions
from esenas_core.api.decisions import DecisionSpace, Mask
from esenas_core.api.interfaces import Architecture, SearchSpace, TaskSpec
from esenas_core.checks.common import ConformanceError, require


def check_search_space(space: SearchSpace, seed: int = 0, batch: int = 6) -> list[str]:
    """Check genomes, decoding, parameters, the batched forward pass and size statistics."""
    name = type(space).__name__
    rng = np.random.default_rng(seed)
    ran = []
    decisions = space.decisions
    genomes = decisions.sample(rng, batch)
    require(genomes.shape == (batch, decisions.length), f"{name}: sample() shape {genomes.shape}")
    for genome in genomes:
        decisions.validate(genome)
        decisions.validate(decisions.mutate(genome, rng))
    ran.append("genomes valid (sampled and mutated)")

    for genome in genomes:
        copy = genome.copy()
        space.decode(copy)
        require(np.array_equal(copy, genome), f"{name}: decode() modifies its input genome")
    archs = [space.decode(g.copy()) for g in genomes]
    for genome, arch in zip(genomes, archs, strict=True):
        again = space.decode(genome.copy())
        require(_same(arch, again), f"{name}: decode() is not deterministic")
        restored = Architecture.from_json(json.loads(json.dumps(arch.to_json())))
        require(_same(arch, restored), f"{name}: Architecture does not round-trip through JSON")
    ran.append("decode deterministic, leaves its input alone, JSON round trip")
    for what, bad in _invalid_genomes(decisions, genomes[0]):
        try:
            space.decode(bad)
        except Exception:  # rejected (``self.decisions.validate`` raises GenomeError)
            continue
        raise ConformanceError(
            f"{name}: decode() accepted {what} {bad.tolist()}; reject invalid genomes with"
            " GenomeError (call self.decisions.validate(genome) first)"
        )
    ran.append("decode rejects out-of-range and non-integer genomes")

    theta = space.init_params(np.random.default_rng(seed))
    require(theta.shape == (space.num_params,), f"{name}: init_params length != num_params")
    require(bool(np.all(np.isfinite(theta))), f"{name}: init_params is not finite")
    require(
        np.array_equal(theta, space.init_params(np.random.default_rng(seed))),
        f"{name}: init_params is not a function of its generator",
    )
    ran.append("parameters")

    spec = space.task
    params = rng.normal(size=(batch, space.num_params))
    obs = rng.normal(size=(batch, spec.obs_dim))
    net = space.network(params, archs)
    out = net(obs)
    require(out.shape == (batch, spec.act_dim), f"{name}: network output shape {out.shape}")
    require(bool(np.all(np.abs(out) <= 1.0)), f"{name}: network outputs must lie in [-1, 1]")
    for row in range(batch):
        single = space.network(params[row : row + 1], [archs[row]])(obs[row : row + 1])
        require(
            np.allclose(single[0], out[row], rtol=1e-5, atol=1e-6),
            f"{name}: batch row {row} != its own network",
        )
    rows = np.arange(0, batch, 2)
    require(np.allclose(net.take(rows)(obs[rows]), out[rows]), f"{name}: take() is inconsistent")
    mean, std = rng.normal(size=spec.obs_dim), rng.uniform(0.5, 2.0, spec.obs_dim)
    folded = net.with_input_normalization(mean, std)
    require(
        np.allclose(folded(obs), net((obs - mean) / std), rtol=1e-4, atol=1e-5),
        f"{name}: with_input_normalization() differs from normalizing the input",
    )
    require(
        np.allclose(folded.take(rows)(obs[rows]), folded(obs)[rows], rtol=1e-5, atol=1e-6),
        f"{name}: take() after with_input_normalization() is inconsistent",
    )
    ran.append("batched forward: shape, range, rows independent, take(), input normalization")

    if hasattr(space, "reference_forward"):
        for row in range(batch):
            ref = space.reference_forward(params[row], archs[row], obs[row])
            require(
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
    require(bool(np.all((actions >= -2.0) & (actions <= 3.0))), f"{name}: actions out of bounds")
    ran.append("action bounds")

    overrides_mask = type(space).param_mask is not SearchSpace.param_mask
    for arch in archs:
        size = space.describe(arch)
        for key in ("edges", "multiplications", "params_in_use"):
            require(isinstance(size.get(key), int), f"{name}: describe() needs an int {key!r}")
        require(size["params_in_use"] <= space.num_params, f"{name}: params_in_use > num_params")
        for live, kept in (("live_edges", "edges"), ("live_multiplications", "multiplications")):
            if live in size:  # optional: the edges on an input→output path, among those kept
                require(
                    isinstance(size[live], int) and 0 <= size[live] <= size[kept],
                    f"{name}: describe()[{live!r}] must be an int in [0, {kept}]",
                )
        mask = space.param_mask(arch)
        require(
            mask.shape == (space.num_params,) and mask.dtype == bool,
            f"{name}: param_mask must be bool of length num_params",
        )
        if overrides_mask:
            require(
                int(mask.sum()) == size["params_in_use"],
                f"{name}: param_mask().sum() != describe()['params_in_use']",
            )
    ran.append("describe() and param_mask()")

    for row, arch in enumerate(archs):
        unused = ~space.param_mask(arch)
        if not unused.any():
            continue
        changed = params[row : row + 1].copy()
        changed[0, unused] += rng.normal(size=int(unused.sum())) * 3.0
        moved = space.network(changed, [arch])(obs[row : row + 1])[0]
        require(
            np.allclose(moved, out[row], rtol=1e-5, atol=1e-6),
            f"{name}: the network of genome {genomes[row].tolist()} reads θ outside its"
            " param_mask (its outputs change when only unused parameters do): the network"
            " must use only what the architecture keeps, as describe() and param_mask() say",
        )
    ran.append("θ outside param_mask() changes nothing")

    rewards = rng.normal(size=batch)
    scored = np.asarray(space.controller_rewards(genomes, rewards))
    expected = (batch,) if space.objectives == 1 else (batch, space.objectives)
    require(scored.shape == expected, f"{name}: controller_rewards shape {scored.shape}")
    ran.append("controller rewards")
    return ran


def _invalid_genomes(decisions: DecisionSpace, valid: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Genomes every decode must reject: one value out of range per group, and floats."""
    out = []
    if decisions.length:
        out.append(("a float genome", valid.astype(np.float64)))
        out.append(("a genome one value too short", valid[:-1].copy()))
    off = decisions.offsets
    for i, group in enumerate(decisions.groups):
        if group.length == 0:
            continue
        high = valid.copy()
        high[off[i + 1] - 1] = getattr(group, "n", 2)  # past the range (a Mask's n is its length)
        if isinstance(group, Mask):
            high[off[i + 1] - 1] = 2
        out.append((f"a genome with {group.label} value {high[off[i + 1] - 1]}", high))
        low = valid.copy()
        low[off[i]] = -1
        out.append((f"a genome with {group.label} value -1", low))
    return out


def _same(a: Architecture, b: Architecture) -> bool:
    if not np.array_equal(a.genome, b.genome) or set(a.parts) != set(b.parts):
        return False
    return all(np.array_equal(np.asarray(a.parts[k]), np.asarray(b.parts[k])) for k in a.parts)
