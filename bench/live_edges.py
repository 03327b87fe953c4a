"""The live fraction of pruned architectures, before and after the repair decoding, at the same k
(issue: compact policies round 2).

    python bench/live_edges.py [--genomes 1000] [--out bench/results/live_edges.json]

For each setting (the compact-policy studies' MuJoCo shapes at k = 10 % of the residual
candidates with ``keep_linear``, a Pendulum-sized one, ``ops``/``aggregate`` ones and the
paper-scale 17 → [256, 256] → 6 network at 10 %), it decodes the same uniformly sampled genomes
with ``decoding = "plain"`` and ``"repair"`` and reports the live fraction (live edges / kept
edges: mean, 10th percentile, minimum) and the time per decode. Live: on a path from an input
to an output.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _results import write_result

from esenas_core import TaskSpec
from esenas_core.api.plugins import Registries, get_plugin_manager

SETTINGS = {  # name: (obs, act, space, options)
    "halfcheetah_k259": (17, 6, "edges", {"hidden": [32, 32], "mode": "residual", "k": 259}),
    "hopper_k195": (11, 3, "edges", {"hidden": [32, 32], "mode": "residual", "k": 195}),
    "swimmer_k168": (8, 2, "edges", {"hidden": [32, 32], "mode": "residual", "k": 168}),
    "pendulum_k42": (3, 1, "edges", {"hidden": [16, 16], "mode": "residual", "k": 42}),
    "swimmer_aggregate_k128": (8, 2, "edges", {"hidden": [32, 32], "k": 128}),
    "halfcheetah_ops_k259": (17, 6, "ops", {"hidden": [32, 32], "k": 259}),
    "paper_scale_k7194": (17, 6, "edges", {"hidden": [256, 256], "mode": "residual", "k": 7194}),
}
FEWER = {"paper_scale_k7194": 50}  # genomes for the settings that take longer per decode
LINEAR = {"keep_linear": True}


def measure(registries: Registries, setting, genomes: int) -> dict[str, float]:
    obs, act, name, options = setting
    if name == "edges" and options.get("mode") == "residual":
        options = {**options, **LINEAR}
    spec = TaskSpec(obs, act)
    out: dict[str, float] = {}
    sample = None
    for decoding in ("plain", "repair"):
        space = registries.create("search_space", name, {**options, "decoding": decoding}, spec)
        if sample is None:
            sample = space.decisions.sample(np.random.default_rng(0), genomes)
        space.decode(sample[0])  # compile
        start = time.perf_counter()
        archs = [space.decode(g) for g in sample]
        out[f"{decoding}_decode_ms"] = (time.perf_counter() - start) / genomes * 1e3
        masks = np.stack([a.parts["edge_mask"] for a in archs])
        frac = space.net.liveness.live(masks).sum(axis=1) / masks.sum(axis=1)
        out[f"{decoding}_live_mean"] = float(frac.mean())
        out[f"{decoding}_live_p10"] = float(np.percentile(frac, 10))
        out[f"{decoding}_live_min"] = float(frac.min())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genomes", type=int, default=1000)
    parser.add_argument("--out", default="bench/results/live_edges.json")
    args = parser.parse_args()
    registries = Registries(get_plugin_manager(entry_points=False))
    results = {
        name: measure(registries, s, min(args.genomes, FEWER.get(name, args.genomes)))
        for name, s in SETTINGS.items()
    }
    write_result({"genomes": args.genomes, "settings": results}, args.out)


if __name__ == "__main__":
    main()
