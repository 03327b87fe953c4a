"""``pyglove``: run any PyGlove ``DNAGenerator`` on esenas genomes.

Supported generators (``generator`` option; keyword options pass through ``kwargs``):
``regularized_evolution``, ``hill_climb``, ``neat``, ``nsga2`` (multi-objective: accepts reward
vectors) from ``pg.evolution`` with a seeded ``Uniform`` mutator, and ``random``
(``pg.geno.Random``).

Genome ↔ DNA: the DNA numbers of ``pg.dna_spec(decisions.to_pyglove())`` are exactly a genome.
Feedback goes to the very DNA objects that were proposed (a DNA rebuilt from numbers lacks the
metadata evolution needs). PyGlove's cost grows with the number of decision points (≈ ms per DNA,
seconds-to-minutes to build a spec for RL-sized spaces; docs/controllers.md has measurements), so
this adapter suits small and medium spaces; the built-in controllers are µs per genome.

State is the log of proposals and feedback; ``restore`` rebuilds the seeded generator and replays
it, so a restored controller proposes exactly what the original would next.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
import numpy as np

from esenas_core import (
    ConfigError,
    Controller,
    DecisionSpace,
    FeedbackCounter,
    RunError,
    dna_spec,
    dna_to_genome,
    hookimpl,
)

GENERATORS = ("regularized_evolution", "hill_climb", "neat", "nsga2", "random")


@attrs.frozen
class PyGloveOptions:
    """Options of the ``pyglove`` controller."""

    generator: Literal["regularized_evolution", "hill_climb", "neat", "nsga2", "random"] = (
        "regularized_evolution"
    )
    kwargs: dict[str, Any] = attrs.field(factory=dict)


def make_generator(name: str, kwargs: Mapping[str, Any], seed: int) -> Any:
    import pyglove as pg

    try:
        if name == "random":
            return pg.geno.Random(seed=seed, **kwargs)
        factory = getattr(pg.evolution, name)
        return factory(mutator=pg.evolution.mutators.Uniform(seed=seed), seed=seed, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[controller] pyglove: {name}({dict(kwargs)}): {exc}") from None


class PyGloveController(Controller):
    """Adapter: PyGlove DNAGenerator ↔ esenas genomes."""

    name = "pyglove"
    Options = PyGloveOptions
    accepts_vectors = True  # nsga2 needs them; the others take the first objective

    def __init__(self, options: PyGloveOptions, decisions: DecisionSpace, seed: int) -> None:
        super().__init__(options, decisions, seed)

        self.seed = int(seed) % (2**31)
        self.spec = dna_spec(decisions)
        self._start()

    def _start(self) -> None:
        self.generator = make_generator(self.options.generator, self.options.kwargs, self.seed)
        self.generator.setup(self.spec)
        self.pending: dict[bytes, list[Any]] = {}
        self.log: list[Any] = []
        self.counter = FeedbackCounter()  # the replayed log counts feedback again

    def propose(self, n: int) -> np.ndarray:
        out = np.empty((n, self.decisions.length), dtype=np.int64)
        if not self.decisions.length:  # nothing to choose (e.g. ``dense``): PyGlove has no DNA
            self.log.append(["propose", n])
            return out
        for i in range(n):
            try:
                dna = self.generator.propose()
            except Exception as exc:  # PyGlove internals: report which generator and why
                raise RunError(
                    f"pyglove {self.options.generator} failed to propose:"
                    f" {type(exc).__name__}: {exc}"
                ) from exc
            out[i] = dna_to_genome(dna)
            self.pending.setdefault(out[i].tobytes(), []).append(dna)
        self.log.append(["propose", n])
        return out

    def learn(self, genomes: np.ndarray, rewards: np.ndarray) -> None:
        self.log.append(["feedback", genomes.tolist(), rewards.tolist()])
        multi = self.options.generator == "nsga2"
        for genome, reward in zip(genomes, rewards, strict=True):
            queue = self.pending.get(genome.tobytes())
            if not queue:
                continue  # not proposed by this generator (e.g. a foreign genome): nothing to tell
            dna = queue.pop(0)
            value = np.atleast_1d(reward)
            self.generator.feedback(
                dna, tuple(float(v) for v in value) if multi else float(value[0])
            )

    def state(self) -> dict[str, Any]:  # the generator is rebuilt by replaying the log
        return {"seed": self.seed, "log": self.log}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.seed = int(state["seed"])
        self._start()
        for event in state["log"]:
            if event[0] == "propose":
                self.propose(int(event[1]))
            else:
                self.feedback(
                    np.array(event[1], dtype=np.int64).reshape(len(event[1]), -1),
                    np.array(event[2], dtype=np.float64),
                )

    def algorithm_stats(self) -> dict[str, float]:
        return {"pending": float(sum(map(len, self.pending.values())))}


@hookimpl
def esenas_register_controllers(register):
    register(PyGloveController)
