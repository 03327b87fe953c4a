"""Shared by the config fuzz tests: a valid base config, the leaves to mutate, nasty values.

``test_fuzz_config.py`` builds mutated configs in-process (hypothesis); ``fuzz_cli.py`` runs them
through the ``esenas`` command line in subprocesses.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
from conftest import small_config

BASE = small_config()
BASE["search_space"] = {"name": "edges", "hidden": [4], "k": 6}
BASE["task"] = {"name": "hybrid"}


def leaves(data: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for key, value in data.items():
        if isinstance(value, dict):
            out += leaves(value, (*prefix, key))
        out.append((*prefix, key))
    return out


PATHS = [
    *leaves(BASE),
    ("es", "num_perturbations"), ("es", "exact_evals"), ("es", "sigma"), ("es", "learning_rate"),
    ("es", "optimizer"), ("es", "fitness_shaping"), ("es", "top_k"), ("es", "min_valid_fraction"),
    ("es", "iteration_timeout"), ("controller", "name"), ("search_space", "mode"),
    ("search_space", "k_per_layer"), ("backend", "name"), ("backend", "workers"), ("loggers",),
    ("nosuch",), ("es", "nosuch"), ("task", "objective"), ("search_space", "hidden"),
    ("es", "noise"), ("es", "noise_table_size"), ("backend", "local_tls"), ("es", "estimator"),
    ("estimator", "name"), ("estimator", "top_b"), ("estimator", "center_learning_rate"),
    ("estimator", "stdev_max_change"), ("estimator", "sigma_learning_rate"),
]  # fmt: skip

EXTREMES: list[Any] = [
    0, 1, -1, 2, 2**31, 2**63, -(2**63), 10**12, 10**30,
    math.nan, math.inf, -math.inf, 1e308, -1e308, -0.0, 5e-324, 0.5, 1e-12,
    "", " ", "../x", "../../escape", "a/b", "/abs", "\x00", "tanh", "residual", "random",
    "serial", "processes", "dask", "CartPole-v1", "nosuchmod:Foo-v0", "é", "1" * 300, "table",
    "antithetic", "forward_fd", "ars", "pgpe", "snes", "sep_cma",
    True, False, [], [0], [-1, 2], [10**9], [1.5], ["x"], {}, {"a": 1}, {"name": "serial"},
]  # fmt: skip


def nasty_value(rng: np.random.Generator) -> Any:
    """One value: a listed extreme, or a random int, float, string or list."""
    kind = rng.integers(5)
    if kind == 0:
        return int(rng.integers(-(10**6), 10**6))
    if kind == 1:
        return float(rng.normal() * 10.0 ** rng.integers(-5, 10))
    if kind == 2:
        return "".join(chr(int(c)) for c in rng.integers(32, 0x2FF, size=rng.integers(0, 8)))
    if kind == 3:
        return [int(v) for v in rng.integers(-3, 40, size=rng.integers(0, 4))]
    return EXTREMES[rng.integers(len(EXTREMES))]


def mutate(path: tuple, value: object, base: dict | None = None) -> dict:
    """``base`` (default BASE) with the leaf at ``path`` set to ``value``."""
    data = copy.deepcopy(BASE if base is None else base)
    node = data
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = value
    return data
