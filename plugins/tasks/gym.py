"""``gym``: any gymnasium environment id (Box observations; Box or Discrete actions).

Episodes of one request chunk run in lockstep: up to ``lockstep`` environments step together and
one batched forward pass computes all their actions (finished episodes drop out of the batch).
"""

from __future__ import annotations

import itertools
import operator
import os
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import gymnasium as gym
import numpy as np
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit

from esenas_core import (
    ActionMap,
    ConfigError,
    EpisodeResult,
    RunError,
    Task,
    TaskSpec,
    episode_results,
    hookimpl,
    log_once,
    to_env_actions,
)

from .mujoco_steps import lean_step

MAX_EPISODE_STEPS = 1_000_000  # an episode longer than this would run for hours per rollout
MAX_LOCKSTEP = 4096  # environments stepped together in one worker


@attrs.frozen
class GymOptions:
    """Options of the ``gym`` task."""

    env_id: str = "CartPole-v1"
    env_kwargs: dict[str, Any] = attrs.field(factory=dict)
    max_episode_steps: int = attrs.field(
        default=0, validator=[attrs.validators.ge(0), attrs.validators.le(MAX_EPISODE_STEPS)]
    )
    lockstep: int = attrs.field(
        default=8, validator=[attrs.validators.ge(1), attrs.validators.le(MAX_LOCKSTEP)]
    )


class GymTask(Task):
    """Episodic return of a gymnasium environment."""

    name = "gym"
    Options = GymOptions

    lean_steps = True  # MuJoCo locomotion envs step through mujoco_steps (the same bits)

    def __init__(self, options: GymOptions) -> None:
        super().__init__(options)
        self._envs: list[gym.Env] = []
        self._spec: TaskSpec | None = None

    def _make(self) -> gym.Env:
        _route_mujoco_warnings()
        opts = self.options
        kwargs = dict(opts.env_kwargs)
        if kwargs.get("render_mode") is not None:  # "human" opens a window (aborts headless)
            raise ConfigError(
                f"[task] gym: env_kwargs.render_mode = {kwargs['render_mode']!r}: training does not"
                " render; record a video with `esenas evaluate RUN_DIR --video FILE.gif`"
            )
        if opts.max_episode_steps:
            kwargs["max_episode_steps"] = opts.max_episode_steps
        try:
            env = gym.make(opts.env_id, **kwargs)
        except (gym.error.Error, ImportError, OSError) as exc:  # unknown id, module or file
            raise ConfigError(f"[task] gym: cannot make env_id {opts.env_id!r}: {exc}") from None
        except TypeError as exc:
            raise ConfigError(f"[task] gym: bad env_kwargs for {opts.env_id!r}: {exc}") from None
        if env.spec is None or not env.spec.max_episode_steps:  # an episode might never end
            env.close()
            raise ConfigError(
                f"[task] gym: {opts.env_id!r} has no time limit; set max_episode_steps (at most"
                f" {MAX_EPISODE_STEPS:,})"
            )
        return env

    def spec(self) -> TaskSpec:
        if self._spec is None:
            env = self._make()
            try:
                self._spec = _spec_of(env, self.options.env_id)
            finally:
                env.close()
        return self._spec

    def label(self) -> str:
        return self.options.env_id

    @property
    def batch_size(self) -> int:
        return self.options.lockstep

    def render_episode(self, space, params, architecture, obs_mean, obs_std, seed, steps, every):
        """MuJoCo renders offscreen through EGL (``MUJOCO_GL=egl`` unless set)."""
        os.environ.setdefault("MUJOCO_GL", "egl")
        opts = self.options
        spec = self.spec()
        net = space.network(params[None, :], [architecture]).with_input_normalization(
            obs_mean, obs_std
        )
        try:
            env = gym.make(opts.env_id, render_mode="rgb_array", **opts.env_kwargs)
            obs, _ = env.reset(seed=seed)
            frames = [env.render()]
        except Exception as exc:  # no OpenGL/EGL, or an env without rgb_array rendering
            raise RunError(
                f"cannot render {opts.env_id} headless here: {type(exc).__name__}: {exc}"
            ) from None
        try:
            for t in range(steps):
                action = to_env_actions(net(np.asarray(obs, dtype=np.float64)[None, :]), spec)[0]
                obs, _, terminated, truncated, _ = env.step(action)
                if t % every == 0:
                    frames.append(env.render())
                if terminated or truncated:
                    break
        finally:
            env.close()
        return [np.asarray(f) for f in frames]

    def _env_pool(self, count: int) -> list[gym.Env]:
        while len(self._envs) < count:
            self._envs.append(self._make())
        return self._envs[:count]

    def run_episodes(
        self,
        space: Any,
        params: np.ndarray,
        architectures: Sequence[Any],
        env_seeds: Sequence[int],
        obs_mean: np.ndarray,
        obs_std: np.ndarray,
    ) -> list[EpisodeResult]:
        # ceil(n / lockstep) batches of near-equal size (9 episodes: 5 + 4, not 8 + 1: a lone
        # episode would pay a whole forward pass per step by itself)
        count = len(env_seeds)
        batches = -(-count // self.options.lockstep)
        bounds = [count * b // batches for b in range(batches + 1)]
        results: list[EpisodeResult] = []
        for start, stop in itertools.pairwise(bounds):
            net = space.network(params[start:stop], architectures[start:stop])
            results += self._lockstep(
                net.with_input_normalization(obs_mean, obs_std), env_seeds[start:stop]
            )
        return results

    def _lockstep(self, net: Any, seeds: Sequence[int]) -> list[EpisodeResult]:
        """Step ``len(seeds)`` environments together; one batched forward pass per step."""
        results: Any = None
        for results in self._lockstep_steps(net, seeds):  # noqa: B007 (the last item is the result)
            pass
        return results

    def _lockstep_steps(self, net: Any, seeds: Sequence[int]) -> Iterator[Any]:
        """``_lockstep`` one batched step at a time: yields None after each step, then the list of
        episode results (benchmarks interleave a baseline with it at a fine grain).

        This is the per-env-step hot path, and it runs right after the simulator has evicted the
        CPU caches, where every Python or numpy operation costs several times its usual time.
        So a batched step is a fixed handful of operations whatever the batch size: one forward
        pass, ``map`` calling every env's ``step`` from C, ``zip(*…)`` splitting the results
        into observations / rewards / flags, one array of the observations, and a containment
        test for ended episodes (gymnasium's flags are bools). From the third step on,
        environments are stepped beneath gymnasium's bookkeeping wrappers (see
        ``_beneath_bookkeeping``); the time limit is then applied here, exactly as ``TimeLimit``
        does. Observations and rewards are kept as one list per stretch of steps with the same
        live rows.
        """
        envs = self._env_pool(len(seeds))
        act = ActionMap(self.spec())
        policy = net if act.identity else (lambda x: act(net(x)))
        batch = len(seeds)
        obs = np.array(
            [env.reset(seed=int(s))[0] for env, s in zip(envs, seeds, strict=True)],
            dtype=np.float64,
        )
        inner = [_beneath_bookkeeping(env, self.lean_steps) for env in envs]
        limit = min((lim for _, lim in inner if lim is not None), default=None)
        if limit is None:
            limit = -1  # `t == limit` never holds
        rows, sub, live = list(range(batch)), net, [env.step for env in envs]
        seen: list[np.ndarray] = []
        paid: list[tuple] = []
        stretches = [(np.arange(batch), seen, paid)]
        lengths = [0] * batch
        t = 0
        while True:
            seen.append(obs)
            t += 1
            if t == 3:  # the wrappers' first-steps checks have run: skip them from now on
                live = [inner[row][0] for row in rows]
            new_obs, rewards, terminated, truncated, _ = zip(
                *map(operator.call, live, policy(obs)), strict=True
            )
            paid.append(rewards)
            obs = np.array(new_obs, dtype=np.float64)
            if t == limit:
                ended = list(range(len(rows)))
            elif True in terminated or True in truncated:
                ended = [
                    i for i, done in enumerate(map(operator.or_, terminated, truncated)) if done
                ]
            else:
                yield None
                continue
            for i in ended:
                lengths[rows[i]] = t
            keep = np.setdiff1d(np.arange(len(rows)), ended)
            if keep.size == 0:
                break
            rows, sub, obs = [rows[i] for i in keep], sub.take(keep), obs[keep]
            policy = sub if act.identity else _acting(act, sub)
            live = [live[i] for i in keep]
            seen, paid = [], []
            stretches.append((np.array(rows), seen, paid))
            yield None
        yield _episode_results(lengths, stretches)

    def close(self) -> None:
        for env in self._envs:
            env.close()
        self._envs.clear()


def _acting(act: Any, net: Any) -> Any:
    """The policy ``act(net(obs))``."""
    return lambda obs: act(net(obs))


def _route_mujoco_warnings() -> None:
    """MuJoCo prints its warnings (e.g. "compiler attribute 'settotalmass' is deprecated", on
    every HalfCheetah build) to the terminal and MUJOCO_LOG.TXT; send them to the run's log,
    once per process, instead."""
    global _ROUTED
    if _ROUTED:
        return
    _ROUTED = True
    # Training never renders: without MUJOCO_GL, `import mujoco` loads glfw, whose import runs a
    # Python subprocess per library candidate (slower start; after a Ctrl-C it could print a
    # BrokenPipeError). EGL is also what `esenas evaluate --video` renders through.
    os.environ.setdefault("MUJOCO_GL", "egl")
    try:
        import mujoco
    except Exception:  # not installed, or no usable GL library for the chosen MUJOCO_GL
        return
    mujoco.set_mju_user_warning(lambda message: log_once("mujoco", message))


_ROUTED = False


def _spec_of(env: gym.Env, env_id: str) -> TaskSpec:
    obs_space, act_space = env.observation_space, env.action_space
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise ConfigError(
            f"[task] gym: {env_id} needs a flat Box observation space, got {obs_space}"
        )
    if isinstance(act_space, gym.spaces.Discrete):
        return TaskSpec(obs_dim=obs_space.shape[0], act_dim=int(act_space.n), discrete=True)
    if isinstance(act_space, gym.spaces.Box) and len(act_space.shape) == 1:
        return TaskSpec(
            obs_dim=obs_space.shape[0],
            act_dim=act_space.shape[0],
            action_low=tuple(float(x) for x in act_space.low),
            action_high=tuple(float(x) for x in act_space.high),
        )
    raise ConfigError(f"[task] gym: {env_id} has an unsupported action space {act_space}")


def _beneath_bookkeeping(env: gym.Env, lean: bool = True) -> tuple[Any, int | None]:
    """(``step`` of the env beneath its outer ``TimeLimit``/``OrderEnforcing``/
    ``PassiveEnvChecker`` wrappers, the time limit found among them or None).

    ``gym.make`` adds these three; after an episode's first two steps they do nothing but count
    steps (``TimeLimit``, which the lockstep loop replaces) and forward the call — three Python
    frames per env-step. Any other wrapper stops the peeling, so it still runs. Beneath them, a
    MuJoCo locomotion environment steps leanly (``lean``; ``mujoco_steps``: the same bits).
    """
    limit = None
    while isinstance(env, _BOOKKEEPING):
        if isinstance(env, TimeLimit):  # gym.make's own: its limit is the env spec's
            mine = env.spec.max_episode_steps if env.spec is not None else None
            if mine is None:  # a TimeLimit we cannot read publicly keeps running
                break
            limit = mine if limit is None else min(limit, mine)
        env = env.env
    step = lean_step(env) if lean and env is env.unwrapped else None
    return step or env.step, limit


_BOOKKEEPING = (TimeLimit, OrderEnforcing, PassiveEnvChecker)


def _episode_results(
    lengths: list[int], stretches: list[tuple[np.ndarray, list, list]]
) -> list[EpisodeResult]:
    """Per episode: its return and (count, mean, M2) of the observations its policy saw
    (``episode_results``, shared with batched tasks: the same bits on either path).

    ``stretches`` are (live rows, per step: their observations, their rewards) for each stretch
    of steps with the same live rows. An episode's steps equal the observations its policy saw.
    """
    steps, batch = max(lengths), len(lengths)
    obs_dim = next(seen[0].shape[1] for _, seen, _ in stretches if seen)
    observations, rewards = np.zeros((steps, batch, obs_dim)), np.zeros((steps, batch))
    t = 0
    for rows, seen, paid in stretches:
        if seen:
            observations[t : t + len(seen), rows] = np.stack(seen)
            rewards[t : t + len(seen), rows] = np.array(paid, dtype=np.float64)
            t += len(seen)
    return episode_results(observations, rewards, np.asarray(lengths))


@hookimpl
def esenas_register_tasks(register):
    register(GymTask)
