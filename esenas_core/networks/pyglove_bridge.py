"""Genome ↔ PyGlove DNA conversion (PyGlove is imported lazily: workers never need it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from esenas_core.api.decisions import DecisionSpace


def dna_spec(decisions: DecisionSpace) -> Any:
    """The PyGlove DNA spec of a decision space."""
    import pyglove as pg

    return pg.dna_spec(decisions.to_pyglove())


def genome_to_dna(genome: np.ndarray, spec: Any) -> Any:
    import pyglove as pg

    return pg.DNA.from_numbers([int(x) for x in genome], spec)


def dna_to_genome(dna: Any) -> np.ndarray:
    return np.asarray(dna.to_numbers(), dtype=np.int64)
