"""``check_controller``: the controller contract, checked on small decision spaces."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from esenas_core.api.decisions import Choice, DecisionSpace, Mask, Subset
from esenas_core.api.errors import GenomeError
from esenas_core.api.interfaces import Controller
from esenas_core.checks.common import ConformanceError, require

SPACES = (
    DecisionSpace([Subset(12, 3, label="edges"), Choice(4, 5, label="ops"), Mask(6)]),
    DecisionSpace([Subset(40, 6, label="edges")]),
    DecisionSpace([]),
)


def check_controller(
    cls: type[Controller],
    options: Any = None,
    spaces: Sequence[DecisionSpace] = SPACES,
    seed: int = 0,
    rounds: int = 80,
    batch: int = 32,
) -> list[str]:
    """Check ``cls`` (built with ``options``, default ``cls.Options()``) on each decision space:

    - ``propose(n)`` gives (n, L) integer arrays of valid genomes for n = 0, 1, 7;
    - ``feedback`` takes rewards with NaN and ±inf among them;
    - ``state()`` is JSON-serializable, and a fresh controller (another seed) that restores it
      proposes exactly what the original proposes next, given the same feedback;
    - feedback split into several calls (one genome at a time) is accepted and counted;
    - ``stats()`` gives floats under the same keys every call;
    - on a toy objective (genome values matching a hidden target) a controller that learns
      (overrides ``learn`` or ``feedback``) proposes better genomes than uniform sampling after
      ``rounds`` rounds of ``batch`` proposals (``rounds=0`` skips this check).
    """
    name = getattr(cls, "name", cls.__name__)
    options = cls.Options() if options is None else options
    ran: list[str] = []
    for space in spaces:
        where = f"{name} on {space.describe(np.zeros(space.length, np.int64)).split('=')[0]}"
        _proposals(cls, options, space, seed, where)
        _round_trip(cls, options, space, seed, batch, where)
        _split(cls, options, space, seed, batch, where)
    ran += [
        "propose: count, dtype, valid genomes",
        "feedback with non-finite rewards",
        "state() JSON, restore reproduces the next proposals",
        "feedback in any split",
        "stats() keys and types",
    ]
    toy = next((s for s in spaces if s.length), None)
    if _learns(cls) and toy is not None and rounds:
        _improves(cls, options, toy, seed, rounds, batch, name)
        ran.append("improves on a toy objective")
    return ran


def _propose(c: Controller, n: int, space: DecisionSpace, where: str) -> np.ndarray:
    genomes = c.propose(n)
    require(
        isinstance(genomes, np.ndarray) and genomes.shape == (n, space.length),
        f"{where}: propose({n}) returned {getattr(genomes, 'shape', type(genomes).__name__)},"
        f" not an ({n}, {space.length}) array",
    )
    require(
        np.issubdtype(genomes.dtype, np.integer),
        f"{where}: propose({n}) returned dtype {genomes.dtype}, not integers",
    )
    try:
        space.validate_many(genomes)
    except GenomeError as exc:
        raise ConformanceError(f"{where}: propose({n}) returned an invalid {exc}") from None
    return genomes


def _toy_rewards(space: DecisionSpace, genomes: np.ndarray, seed: int = 12345) -> np.ndarray:
    """How many genome values equal a hidden target's (sets: how many items are shared)."""
    target = space.sample(np.random.default_rng(seed), 1)[0]
    score = np.zeros(len(genomes))
    for group, values, goal in zip(
        space.groups,
        space.split(genomes.T),
        space.split(target),
        strict=True,
    ):
        values = values.T
        if isinstance(group, Subset):
            score += np.isin(values, goal).sum(axis=1)
        else:
            score += (values == goal).sum(axis=1)
    return score


def _feed(c: Controller, genomes: np.ndarray, rewards: np.ndarray, pieces: int = 1) -> None:
    for part in np.array_split(np.arange(len(genomes)), pieces):
        c.feedback(genomes[part], rewards[part])


def _proposals(cls: Any, options: Any, space: DecisionSpace, seed: int, where: str) -> None:
    c = cls(options, space, seed)
    for n in (0, 1, 7):
        _propose(c, n, space, where)
    genomes = _propose(c, 6, space, where)
    rewards = _toy_rewards(space, genomes)
    rewards[:3] = [np.nan, np.inf, -np.inf]
    c.feedback(genomes, rewards)
    _propose(c, 7, space, where)
    first = c.stats()
    second = c.stats()
    require(
        isinstance(first, dict) and set(first) == set(second),
        f"{where}: stats() must return a dict with the same keys every call",
    )
    for key, value in first.items():
        require(
            isinstance(value, float | int) and not isinstance(value, bool),
            f"{where}: stats()[{key!r}] is {type(value).__name__}, not a float",
        )


def _run(c: Controller, space: DecisionSpace, rounds: int, batch: int, where: str) -> list:
    out = []
    for _ in range(rounds):
        genomes = _propose(c, batch, space, where)
        c.feedback(genomes, _toy_rewards(space, genomes))
        out.append(genomes)
    return out


def _round_trip(
    cls: Any, options: Any, space: DecisionSpace, seed: int, batch: int, where: str
) -> None:
    original = cls(options, space, seed)
    _run(original, space, 5, batch, where)
    state = original.state()
    try:
        text = json.dumps(state)
    except (TypeError, ValueError) as exc:
        raise ConformanceError(f"{where}: state() is not JSON-serializable: {exc}") from None
    restored = cls(options, space, seed + 1)
    restored.restore(json.loads(text))
    expected = _run(original, space, 4, batch, where)
    got = _run(restored, space, 4, batch, where)
    require(
        all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True)),
        f"{where}: a controller restored from state() proposes other genomes than the"
        " original (the state must hold everything the next proposals depend on, the RNG too)",
    )


def _split(cls: Any, options: Any, space: DecisionSpace, seed: int, batch: int, where: str) -> None:
    """Feedback split into several calls (one genome at a time, too) is accepted: nothing
    raises, every finite reward is counted, and the proposals that follow stay valid."""
    whole, split = cls(options, space, seed), cls(options, space, seed)
    for _ in range(4):
        a, b = _propose(whole, 2 * batch, space, where), _propose(split, 2 * batch, space, where)
        _feed(whole, a, _toy_rewards(space, a), 1)
        _feed(split, b, _toy_rewards(space, b), len(b))
    counted = [c.stats().get("feedback", 4 * 2 * batch) for c in (whole, split)]  # if counted
    require(
        counted[0] == counted[1] == 4 * 2 * batch,
        f"{where}: feedback in one call and one genome at a time counted {counted[0]} and"
        f" {counted[1]} rewards, not {4 * 2 * batch}",
    )
    _propose(split, batch, space, where)


def _learns(cls: type[Controller]) -> bool:
    return cls.learn is not Controller.learn or cls.feedback is not Controller.feedback


def _improves(
    cls: Any, options: Any, space: DecisionSpace, seed: int, rounds: int, batch: int, name: str
) -> None:
    c = cls(options, space, seed)
    history = _run(c, space, rounds, batch, name)
    late = np.concatenate([_toy_rewards(space, g) for g in history[-max(1, rounds // 5) :]])
    uniform = _toy_rewards(space, space.sample(np.random.default_rng(seed + 7), 4000))
    margin = 3 * uniform.std() / np.sqrt(len(late))
    require(
        late.mean() > uniform.mean() + margin,
        f"{name}: after {rounds} rounds of {batch} proposals on a toy objective its proposals"
        f" score {late.mean():.2f} on average, no better than uniform sampling"
        f" ({uniform.mean():.2f}); a controller that learns should improve on it",
    )
