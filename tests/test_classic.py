"""The ``classic`` task and the batched-task loop (``VectorTask``): every step equals
gymnasium's, a run equals the same run on ``gym``, results do not depend on batching."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from classic_reference import plan, reference
from conftest import TESTS_DIR, cli_env, esenas, make_trainer, small_config, untimed
from esenas_plugins.tasks.classic_envs import ENVS

from esenas_core import TaskSpec, VectorEnv, fixedmath
from esenas_core.api.records import RolloutResult
from esenas_core.api.vector import rollout

ENV_IDS = sorted(ENVS)


def _numpy_is_the_c_library() -> bool:
    """Whether numpy's float64 sin / cos / scalar ``**`` equal the C library's on this CPU
    (they do not where numpy dispatches them to AVX-512 code)."""
    x = np.random.default_rng(0).uniform(-20.0, 20.0, 20_000)
    scalars = np.array([np.float64(v) ** 2 for v in x[:2000]])
    return (
        np.array_equal(np.sin(x), fixedmath.sin(x))
        and np.array_equal(np.cos(x), fixedmath.cos(x))
        and np.array_equal(scalars, fixedmath.power(x[:2000], 2.0))
    )


def _reference(env_id: str, episodes: int, seed: int, tmp_path) -> dict[str, np.ndarray]:
    if _numpy_is_the_c_library():
        return reference(env_id, episodes, seed)
    # numpy's AVX-512 code gives gymnasium other last bits: run it on numpy's baseline code
    from test_determinism import _numpy_dispatch_groups

    out = tmp_path / f"{env_id}.npz"
    subprocess.run(
        [sys.executable, str(TESTS_DIR / "classic_reference.py"), env_id, str(episodes),
         str(seed), str(out)],
        check=True, timeout=600, env=cli_env(NPY_DISABLE_CPU_FEATURES=_numpy_dispatch_groups()),
    )  # fmt: skip
    with np.load(out, allow_pickle=False) as data:
        return dict(data)


def _batched(env_id: str, episodes: int, seed: int) -> dict[str, np.ndarray]:
    """The same episodes on ``classic``'s arrays (all stepped together to the time limit)."""
    seeds, actions = plan(env_id, episodes, seed)
    env = ENVS[env_id]()
    steps = gym.spec(env_id).max_episode_steps
    state = env.reset(seeds)
    out = {
        "obs": np.full((episodes, steps + 1, env.spec().obs_dim), np.nan),
        "rewards": np.zeros((episodes, steps)),
        "terminated": np.zeros((episodes, steps), dtype=bool),
    }
    out["obs"][:, 0] = env.observe(state)
    with np.errstate(all="ignore"):
        for t in range(steps):
            state, reward, terminated = env.step(state, actions[:, t])
            out["obs"][:, t + 1] = env.observe(state)
            out["rewards"][:, t], out["terminated"][:, t] = reward, terminated
    return out


def _assert_same_steps(env_id: str, episodes: int, seed: int, tmp_path) -> None:
    ref = _reference(env_id, episodes, seed, tmp_path)
    ours = _batched(env_id, episodes, seed)
    steps = gym.spec(env_id).max_episode_steps
    for e, length in enumerate(ref["lengths"]):
        where = f"{env_id} episode {e}"
        np.testing.assert_array_equal(
            ours["obs"][e, : length + 1], ref["obs"][e, : length + 1], where
        )
        np.testing.assert_array_equal(
            ours["rewards"][e, :length], ref["rewards"][e, :length], where
        )
        np.testing.assert_array_equal(
            ours["terminated"][e, :length], ref["terminated"][e, :length], where
        )
        truncated = np.arange(1, length + 1) == steps  # the time limit, as gymnasium's TimeLimit
        np.testing.assert_array_equal(truncated, ref["truncated"][e, :length], where)
        assert ref["terminated"][e, length - 1] or length == steps, where


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_step_equals_gymnasium(env_id: str, tmp_path) -> None:
    _assert_same_steps(env_id, 60, seed=11, tmp_path=tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_step_of_a_thousand_episodes_equals_gymnasium(env_id: str, tmp_path) -> None:
    _assert_same_steps(env_id, 1000, seed=2026, tmp_path=tmp_path)


def _train(registries, **sections):

    trainer = make_trainer(registries, small_config(**sections))
    trainer.train()
    rows = untimed(trainer.history)
    return trainer.theta, rows


@pytest.mark.parametrize(("env_id", "space"), [
    ("Pendulum-v1", {"name": "edges", "edges": {"hidden": [8], "k": 20}}),
    ("CartPole-v1", {"name": "ops", "ops": {"hidden": [6]}}),
    ("MountainCarContinuous-v0", {"name": "dense", "dense": {"hidden": [4]}}),
])  # fmt: skip
def test_a_run_on_classic_equals_the_same_run_on_gym(
    registries, env_id: str, space, tmp_path
) -> None:
    common = {"iterations": 2, "search_space": space}
    gym_task = {"name": "gym", "gym": {"env_id": env_id}}
    classic_task = {"name": "classic", "classic": {"env_id": env_id}}
    if not _numpy_is_the_c_library():  # gymnasium on numpy's baseline code, in a subprocess
        from test_determinism import _digests, _numpy_dispatch_groups

        groups = _numpy_dispatch_groups()
        reference = _digests([small_config(task=gym_task, **common)], tmp_path,
                             NPY_DISABLE_CPU_FEATURES=groups)  # fmt: skip
        assert _digests([small_config(task=classic_task, **common)], tmp_path) == reference
        return
    theta_gym, rows_gym = _train(registries, task=gym_task, **common)
    theta, rows = _train(registries, task=classic_task, **common)
    np.testing.assert_array_equal(theta, theta_gym)
    assert rows == rows_gym


def test_results_do_not_depend_on_the_batch_size(registries) -> None:
    runs = [
        _train(registries, task={"name": "classic", "classic": {"env_id": "Acrobot-v1",
               "max_episode_steps": 80, "batch": batch}}, iterations=2)
        for batch in (3, 4096)
    ]  # fmt: skip
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


@pytest.mark.slow
def test_processes_and_dask_backends_give_the_serial_bits(registries) -> None:
    task = {"name": "classic", "classic": {"env_id": "CartPole-v1", "batch": 5}}
    serial = _train(registries, task=task, iterations=2)
    for backend in ({"name": "processes", "workers": 2}, {"name": "dask", "workers": 2}):
        other = _train(registries, task=task, iterations=2, backend=backend)
        np.testing.assert_array_equal(other[0], serial[0])
        assert other[1] == serial[1], backend


def test_an_env_id_classic_lacks_is_one_line_naming_the_ones_it_has(tmp_path) -> None:
    import tomli_w

    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(small_config(task={"name": "classic", "env_id": "Hopper-v5"})))
    out = esenas("run", str(path), "--run-dir", str(tmp_path / "r"))
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "Pendulum-v1" in out.stderr and "`gym`" in out.stderr
    assert not (tmp_path / "r").exists()


def test_a_batch_the_machine_cannot_hold_is_refused_before_anything_starts(tmp_path) -> None:
    import tomli_w

    task = {"name": "classic", "env_id": "Acrobot-v1", "batch": 1 << 20,
            "max_episode_steps": 1_000_000}  # fmt: skip
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(small_config(task=task)))
    out = esenas("run", str(path), "--run-dir", str(tmp_path / "r"))
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "GiB" in out.stderr and "batch" in out.stderr
    assert not (tmp_path / "r").exists()


class _Blowup(VectorEnv):
    """x ← 2x + a from x₀ = seed: odd seeds reach inf (then NaN) in a few steps; an episode
    ends when x > 10⁶ unless its seed is a multiple of 3 (those run to the time limit)."""

    max_episode_steps = 40

    def __init__(self) -> None:
        self.row_steps = 0

    def spec(self) -> TaskSpec:
        return TaskSpec(2, 1, action_low=(-1.0,), action_high=(1.0,))

    def reset(self, seeds: np.ndarray) -> dict:
        return {"x": seeds.astype(np.float64), "odd": seeds % 2 == 1, "long": seeds % 3 == 0}

    def observe(self, state: dict) -> np.ndarray:
        x = state["x"]
        return np.stack([np.where(state["odd"], x * 1e300, x), np.ones_like(x)], axis=1)

    def step(self, state: dict, actions: np.ndarray):
        self.row_steps += len(state["x"])
        x = 2 * state["x"] + actions[:, 0]
        done = (x > 1e6) & ~state["long"]
        return {**state, "x": x}, -np.abs(x) * 1e-6, done


class _Linear:
    """B linear policies ``tanh(obs · w)``."""

    def __init__(self, w: np.ndarray) -> None:
        self.w = w

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return np.tanh(np.sum(obs * self.w, axis=1, keepdims=True))

    def take(self, rows: np.ndarray) -> _Linear:
        return _Linear(self.w[rows])


def test_nonfinite_observations_fail_their_episode_only_and_batching_changes_no_bit() -> None:
    seeds = np.arange(1, 25)
    w = np.random.default_rng(0).normal(size=(len(seeds), 2)) * 1e-3
    env = _Blowup()
    together = rollout(env, _Linear(w), seeds)
    alone = [rollout(_Blowup(), _Linear(w[i : i + 1]), seeds[i : i + 1])[0] for i in range(24)]
    for i, (a, b) in enumerate(zip(together, alone, strict=True)):
        ok = RolloutResult(index=i, episode=a).ok
        assert ok == (seeds[i] % 2 == 0), i
        assert (a.reward, a.steps) == (b.reward, b.steps) or not ok
        np.testing.assert_array_equal(a.obs_mean, b.obs_mean)
        np.testing.assert_array_equal(a.obs_m2, b.obs_m2)
    # episodes that end early are dropped from the arrays: at most twice the steps they take
    assert env.row_steps <= 2 * sum(r.steps for r in together)
