"""``check_estimator``: the estimator contract, checked on a quadratic and on a short real run."""

from __future__ import annotations

import copy
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from esenas_core.api import fixedmath
from esenas_core.api.errors import PluginError, RunError
from esenas_core.api.estimator import Estimator
from esenas_core.api.records import EstimatorSpec, NoiseSpec, Update
from esenas_core.api.registry import Entry
from esenas_core.checks.common import ConformanceError, require
from esenas_core.engine import noise as directions
from esenas_core.engine.esconfig import ESConfig
from esenas_core.engine.replica import apply_update
from esenas_core.engine.seeding import derive_seeds
from esenas_core.engine.steps import update_of

NOISES = (NoiseSpec("seeded"), NoiseSpec("table", 2**16))


def check_estimator(
    cls: type[Estimator],
    options: Any = None,
    es: ESConfig | None = None,
    dim: int = 8,
    seed: int = 0,
    workers: int = 2,
    min_cosine: float = 0.8,
) -> list[str]:
    """Check ``cls`` (built with ``options``, default ``cls.Options()``, and ``es``, default
    256 directions with σ = 0.05):

    - ``init_state`` holds finite arrays, and ``check_state`` takes it back;
    - ``scale`` is a positive float or a positive (d,) array;
    - ``update`` changes none of its inputs, and replayed from the update's scalars by a rebuilt
      estimator (what a worker does) gives the driver's θ and state bit for bit;
    - the state written to .npz and read back (what a checkpoint does) continues bit for bit;
    - on the quadratic f(x) = −‖x − c‖², the step of one update points along the gradient that
      central finite differences give (cosine ≥ ``min_cosine``), with both noise kinds;
    - a short real run gives the same θ and state on ``serial`` and on ``processes`` with
      ``workers`` workers (slim jobs, replicas of θ); ``workers=0`` skips it (a class that
      worker processes cannot import, e.g. one defined in ``__main__``).

    Raises ``ConformanceError`` saying what is wrong, or returns the names of the checks run.
    """
    name = getattr(cls, "name", cls.__name__)
    options = cls.Options() if options is None else options
    es = (es or ESConfig(num_perturbations=256, sigma=0.05)).for_estimator(cls)
    require(cls.members in (1, 2), f"{name}: members must be 1 or 2, got {cls.members!r}")
    estimator = cls(options, es)
    state = _state(estimator, name, dim)
    ran = ["init_state and check_state", "scale"]
    step, sums_state = _some_update(estimator, es, state, dim, seed, name)
    for noise in NOISES:
        _replay(EstimatorSpec(cls, options, es), estimator, sums_state, step, noise, name)
        _checkpoint(estimator, sums_state, step, noise, dim, name)
    ran += ["update pure and replayed bit for bit", "state through .npz continues bit for bit"]
    for noise in NOISES:
        _quadratic(estimator, es, state, dim, seed, noise, min_cosine, name)
    ran += [f"step along the quadratic's gradient (cosine ≥ {min_cosine})"]
    if workers:
        _workers(cls, options, es, workers, name)
        ran.append(f"serial and {workers} worker processes agree bit for bit")
    return ran


def _state(estimator: Estimator, name: str, dim: int) -> dict[str, np.ndarray]:
    state = estimator.init_state(dim)
    require(isinstance(state, dict), f"{name}: init_state() must return a dict of arrays")
    for key, value in state.items():
        arr = np.asarray(value)
        require(
            arr.dtype.kind in "iuf" and bool(np.all(np.isfinite(arr))),
            f"{name}: init_state()[{key!r}] must hold finite numbers",
        )
    back = estimator.check_state({k: np.array(v) for k, v in state.items()}, dim)
    _same(state, back, f"{name}: check_state(init_state()) changed the state")
    scale = np.asarray(estimator.scale(state, 0.05), dtype=np.float64)
    require(
        scale.shape in ((), (dim,))
        and bool(np.all(scale > 0))
        and bool(np.all(np.isfinite(scale))),
        f"{name}: scale() must be a positive float or a positive ({dim},) array, got shape"
        f" {scale.shape}",
    )
    return state


def _rollouts(
    estimator: Estimator,
    es: ESConfig,
    state: Mapping[str, np.ndarray],
    theta: np.ndarray,
    f: Any,
    seeds: np.ndarray,
    noise: NoiseSpec,
) -> tuple[np.ndarray, float | None]:
    scale = estimator.scale(state, es.sigma)
    signs = (1.0, -1.0)[: estimator.members]
    eps = directions.directions(noise, seeds.tolist(), theta.size)
    rewards = np.array([[f(theta + s * scale * e) for s in signs] for e in eps])
    return rewards, (f(theta) if estimator.uses_baseline else None)


def _weights(
    estimator: Estimator,
    rewards: np.ndarray,
    baseline: Any,
    es: ESConfig,
    state: Any,
    seeds: np.ndarray,
    name: str,
) -> Update:
    """The update of ``weights()``, checked as the trainer checks it (``update_of``)."""
    w = estimator.weights(rewards, baseline, es.sigma, state)
    try:
        return update_of(name, w, seeds, 1, es.learning_rate, es.weight_decay)
    except (PluginError, RunError) as exc:
        raise ConformanceError(str(exc)) from None


def _quadratic(
    estimator: Estimator,
    es: ESConfig,
    state: Any,
    dim: int,
    seed: int,
    noise: NoiseSpec,
    min_cosine: float,
    name: str,
) -> None:
    center = np.linspace(-1.0, 1.0, dim)

    def f(x: np.ndarray) -> float:
        d = x - center
        return -float(fixedmath.norm(d) ** 2)

    theta = np.zeros(dim)
    h = 1e-4
    fd = np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in np.eye(dim)])
    seeds = derive_seeds(seed, 9, 0, 0, last=np.arange(es.num_perturbations))
    rewards, baseline = _rollouts(estimator, es, state, theta, f, seeds, noise)
    step = _weights(estimator, rewards, baseline, es, state, seeds, name)
    new_theta, _, _ = apply_update(theta.copy(), estimator, state, step, noise)
    move = new_theta - theta
    cosine = float(fixedmath.dot_rows(move[None, :], fd)[0]) / max(
        fixedmath.norm(move) * fixedmath.norm(fd), 1e-300
    )
    if not cosine >= min_cosine:
        raise ConformanceError(
            f"{name}: on −‖x − c‖² (d = {dim}, {es.num_perturbations} directions, {noise.kind}"
            f" noise) the step's cosine with the finite-difference gradient is {cosine:.3f}"
            f" < {min_cosine}"
        )


def _some_update(
    estimator: Estimator, es: ESConfig, state: Any, dim: int, seed: int, name: str
) -> tuple[Update, dict[str, np.ndarray]]:
    """An update from random returns, applied twice so the state is not the initial one."""
    rng = np.random.default_rng(seed)
    noise = NOISES[0]
    theta = rng.standard_normal(dim)
    for version in (1, 2):
        seeds = derive_seeds(seed, 9, version, 0, last=np.arange(es.num_perturbations))
        rewards = rng.standard_normal((es.num_perturbations, estimator.members))
        baseline = float(rng.standard_normal()) if estimator.uses_baseline else None
        step = _weights(estimator, rewards, baseline, es, state, seeds, name)
        if version == 1:
            theta, _, state = apply_update(theta, estimator, state, step, noise)
    return step, {"theta": theta, **{f"s_{k}": v for k, v in state.items()}}


def _split(both: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    return both["theta"], {k[2:]: v for k, v in both.items() if k.startswith("s_")}


def _replay(
    spec: EstimatorSpec, estimator: Estimator, both: Any, step: Update, noise: NoiseSpec, name: str
) -> None:
    theta, state = _split(both)
    before = copy.deepcopy((theta, state))
    driver = apply_update(theta, estimator, state, step, noise)
    _same(
        {"theta": before[0], **before[1]},
        {"theta": theta, **state},
        f"{name}: update() changed its inputs (θ or the state) in place",
    )
    # a worker's copy: its own arrays, its own estimator built from the spec (what it receives)
    spec2, step2, theta2, state2 = copy.deepcopy((spec, step, theta, state))
    worker = apply_update(theta2, spec2.build(), state2, step2, noise)
    _same(
        {"theta": driver[0], **driver[2]},
        {"theta": worker[0], **worker[2]},
        f"{name}: replayed from the update's scalars ({noise.kind} noise), θ or the state"
        " differs from the driver's",
    )


def _checkpoint(
    estimator: Estimator, both: Any, step: Update, noise: NoiseSpec, dim: int, name: str
) -> None:
    theta, state = _split(both)
    buffer = io.BytesIO()
    arrays: dict[str, Any] = {f"estimator_{k}": np.asarray(v) for k, v in state.items()}
    np.savez(buffer, allow_pickle=False, **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        loaded = {k.removeprefix("estimator_"): data[k] for k in data.files}
    restored = estimator.check_state(loaded, dim)
    a = apply_update(theta, estimator, state, step, noise)
    b = apply_update(theta, estimator, restored, step, noise)
    _same(
        {"theta": a[0], **a[2]},
        {"theta": b[0], **b[2]},
        f"{name}: the state read back from .npz does not continue bit for bit",
    )


def _workers(cls: type[Estimator], options: Any, es: ESConfig, workers: int, name: str) -> None:
    from esenas_core.api.options import unstructure
    from esenas_core.api.plugins import Registries, get_plugin_manager
    from esenas_core.engine.experiment import Experiment
    from esenas_core.engine.trainer import Trainer
    from esenas_core.runs.config import build_config

    registries = Registries(get_plugin_manager())  # its own: the process's stay as they are
    registries["estimator"].entries[name] = Entry("estimator", name, cls, "check_estimator")
    outcomes = []
    for backend in ({"name": "serial"}, {"name": "processes", "workers": workers}):
        data = {
            "seed": 1,
            "iterations": 3,
            "task": {"name": "function", "obs_dim": 5, "act_dim": 1},
            "search_space": {"name": "dense"},
            "controller": {"name": "random"},
            "backend": backend,
            "estimator": {"name": name, **unstructure(options)},
            "es": {"num_perturbations": 16, "exact_evals": 2, "sigma": es.sigma, "obs_norm": False},
        }
        trainer = Trainer(Experiment.build(build_config(data, registries, "check"), registries))
        trainer.train()
        outcomes.append({"theta": trainer.theta, **trainer.state.estimator})
    _same(
        outcomes[0],
        outcomes[1],
        f"{name}: θ or the state after 3 iterations differs between serial and {workers}"
        " worker processes",
    )


def _same(a: Mapping[str, Any], b: Mapping[str, Any], message: str) -> None:
    require(set(a) == set(b), f"{message} (keys {sorted(a)} vs {sorted(b)})")
    for key in a:
        x, y = np.asarray(a[key]), np.asarray(b[key])
        if x.shape != y.shape or x.tobytes() != y.tobytes():
            raise ConformanceError(f"{message} (in {key!r})")


__all__: Sequence[str] = ["check_estimator"]
