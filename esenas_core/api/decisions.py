"""Declarative decision spaces and numpy genomes.

An architecture is encoded as a *genome*: a flat ``int64`` array that concatenates the values of a
few decision groups. Sampling, validating and mutating genomes costs microseconds, which is why the
per-rollout path never touches PyGlove DNAs (see docs/concepts.md).

Groups:
- ``Subset(n, k)``: k distinct items of range(n); a set, stored sorted.
- ``Choice(n, count)``: ``count`` independent choices, each in range(n).
- ``Mask(n)``: n booleans (0/1).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import attrs
import numpy as np

from esenas_core.api.errors import GenomeError


def _positive(_inst: object, attribute: attrs.Attribute, value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value}")


@attrs.frozen
class Subset:
    """Choose ``k`` distinct items among ``n``; order does not matter (values kept sorted)."""

    n: int = attrs.field(validator=_positive)
    k: int = attrs.field(validator=_positive)
    label: str = "subset"

    def __attrs_post_init__(self) -> None:
        if self.k > self.n:
            raise ValueError(f"Subset {self.label!r}: k={self.k} is larger than n={self.n}")

    @property
    def length(self) -> int:
        return self.k

    def sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` uniform k-subsets, sorted; batched (no per-genome Python).

        k ≤ n/4: k independent draws per row, repeated values drawn again until the row is
        distinct — the set of the first k distinct values of an i.i.d. uniform sequence, uniform
        over k-subsets by symmetry. Larger k: the k smallest of n uniform keys."""
        if 4 * self.k > self.n:
            keys = rng.random((count, self.n))
            picks = np.argpartition(keys, self.k - 1, axis=1)[:, : self.k]
            return np.sort(picks, axis=1).astype(np.int64, copy=False)
        out = np.sort(rng.integers(self.n, size=(count, self.k)), axis=1)
        while True:
            repeated = np.zeros(out.shape, dtype=bool)
            repeated[:, 1:] = out[:, 1:] == out[:, :-1]
            if not repeated.any():
                return out
            out[repeated] = rng.integers(self.n, size=int(repeated.sum()))
            out.sort(axis=1)

    def validate(self, values: np.ndarray) -> None:
        if values.ndim == 1:  # one genome (decode): Python on the list is ~4x faster than numpy
            items = values.tolist()
            low, high = (min(items), max(items)) if items else (0, 0)
            unsorted = items != sorted(set(items))  # not strictly increasing
        else:  # rows of genomes (validate_many)
            low, high = values.min(initial=0), values.max(initial=0)
            unsorted = bool(np.any(np.diff(values) <= 0))
        if low < 0 or high >= self.n:
            raise GenomeError(f"{self.label}: values must lie in [0, {self.n})")
        if unsorted:
            raise GenomeError(f"{self.label}: values must be distinct and sorted")

    def to_pyglove(self):
        """``pg.sublist_of(k, range(n), distinct, sorted)``: its DNA numbers are the genome's."""
        import pyglove as pg

        return pg.sublist_of(
            self.k, list(range(self.n)), choices_distinct=True, choices_sorted=True
        )

    def mutate(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Swap one chosen item for one unchosen item (identity when k == n)."""
        if self.k == self.n:
            return values.copy()
        # Rejection sampling is O(1) expected while k is far below n; fall back when it is not.
        for _ in range(32):
            new = int(rng.integers(self.n))
            at = int(np.searchsorted(values, new))
            if at == self.k or values[at] != new:
                break
        else:
            chosen = np.zeros(self.n, dtype=bool)
            chosen[values] = True
            new = int(rng.choice(np.flatnonzero(~chosen)))
        out = values.copy()
        out[rng.integers(self.k)] = new
        return np.sort(out)

    def mutate_many(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``mutate`` of every row of ``values`` (m, k), batched."""
        out = values.copy()
        m = out.shape[0]
        if self.k == self.n or m == 0:
            return out
        new = np.asarray(rng.integers(self.n, size=m))
        for _ in range(32):  # rejection: redraw rows whose new item is already chosen
            taken = (out == new[:, None]).any(axis=1)
            if not taken.any():
                break
            new[taken] = rng.integers(self.n, size=int(taken.sum()))
        else:
            for row in np.flatnonzero((out == new[:, None]).any(axis=1)):
                free = np.setdiff1d(np.arange(self.n), out[row], assume_unique=True)
                new[row] = rng.choice(free)
        out[np.arange(m), rng.integers(self.k, size=m)] = new
        out.sort(axis=1)
        return out


@attrs.frozen
class Choice:
    """``count`` independent categorical choices, each among ``n`` options."""

    n: int = attrs.field(validator=_positive)
    count: int = attrs.field(default=1, validator=_positive)
    label: str = "choice"

    @property
    def length(self) -> int:
        return self.count

    def sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        return rng.integers(self.n, size=(count, self.count))

    def validate(self, values: np.ndarray) -> None:
        if values.min(initial=0) < 0 or values.max(initial=0) >= self.n:
            raise GenomeError(f"{self.label}: values must lie in [0, {self.n})")

    def to_pyglove(self):
        """``count`` × ``pg.one_of(range(n))``."""
        import pyglove as pg

        return pg.List([pg.one_of(list(range(self.n))) for _ in range(self.count)])

    def mutate(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Re-draw one position to a different option (identity when n == 1)."""
        out = values.copy()
        if self.n > 1:
            pos = rng.integers(self.count)
            out[pos] = (out[pos] + rng.integers(1, self.n)) % self.n
        return out

    def mutate_many(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``mutate`` of every row of ``values`` (m, count), batched."""
        out = values.copy()
        m = out.shape[0]
        if self.n > 1 and m:
            rows, pos = np.arange(m), rng.integers(self.count, size=m)
            out[rows, pos] = (out[rows, pos] + rng.integers(1, self.n, size=m)) % self.n
        return out


@attrs.frozen
class Mask:
    """``n`` independent booleans stored as 0/1."""

    n: int = attrs.field(validator=_positive)
    label: str = "mask"

    @property
    def length(self) -> int:
        return self.n

    def sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        return rng.integers(2, size=(count, self.n))

    def validate(self, values: np.ndarray) -> None:
        if np.any((values != 0) & (values != 1)):
            raise GenomeError(f"{self.label}: values must be 0 or 1")

    def to_pyglove(self):
        """``n`` × ``pg.one_of([0, 1])``."""
        import pyglove as pg

        return pg.List([pg.one_of([0, 1]) for _ in range(self.n)])

    def mutate(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Flip one bit."""
        out = values.copy()
        pos = rng.integers(self.n)
        out[pos] = 1 - out[pos]
        return out

    def mutate_many(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``mutate`` of every row of ``values`` (m, n), batched."""
        out = values.copy()
        rows, pos = np.arange(out.shape[0]), rng.integers(self.n, size=out.shape[0])
        out[rows, pos] = 1 - out[rows, pos]
        return out


Group = Subset | Choice | Mask


@attrs.frozen
class DecisionSpace:
    """An ordered tuple of decision groups; a genome is their values concatenated."""

    groups: tuple[Group, ...] = attrs.field(converter=lambda groups: tuple(groups))

    @property
    def length(self) -> int:
        return sum(g.length for g in self.groups)

    @property
    def offsets(self) -> tuple[int, ...]:
        return (0, *itertools.accumulate(g.length for g in self.groups))

    def sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` uniformly random genomes as an ``(count, length)`` int64 array."""
        parts = [g.sample(rng, count) for g in self.groups]
        if not parts:
            return np.zeros((count, 0), dtype=np.int64)
        return np.concatenate(parts, axis=1).astype(np.int64, copy=False)

    def split(self, genome: np.ndarray) -> list[np.ndarray]:
        """The values of each group, in order."""
        off = self.offsets
        return [genome[off[i] : off[i + 1]] for i in range(len(self.groups))]

    def validate(self, genome: Sequence[int] | np.ndarray) -> np.ndarray:
        """Return ``genome`` as int64 array, or raise ``GenomeError`` saying what is wrong."""
        arr = np.asarray(genome)
        if arr.ndim != 1 or arr.shape[0] != self.length:
            raise GenomeError(
                f"genome must be a flat array of length {self.length}, got {arr.shape}"
            )
        if arr.size and arr.dtype.kind not in "iu":
            raise GenomeError(f"genome must hold integers, got dtype {arr.dtype}")
        arr = arr.astype(np.int64, copy=False)
        for group, values in zip(self.groups, self.split(arr), strict=True):
            group.validate(values)
        return arr

    def validate_many(self, genomes: np.ndarray) -> np.ndarray:
        """``genomes`` (m, length) as an int64 array, or ``GenomeError`` naming the first bad
        row and what is wrong with it; vectorized over rows (a few µs per genome)."""
        arr = np.asarray(genomes)
        if arr.ndim != 2 or arr.shape[1] != self.length:
            raise GenomeError(f"genomes must be an (n, {self.length}) array, got shape {arr.shape}")
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise GenomeError(f"genomes must hold integers, got dtype {arr.dtype}")
        arr = arr.astype(np.int64, copy=False)
        off = self.offsets
        for i, group in enumerate(self.groups):
            block = arr[:, off[i] : off[i + 1]]
            try:
                group.validate(block)  # every check works row-wise on a 2-D block
            except GenomeError:
                for row, values in enumerate(block):
                    try:
                        group.validate(values)
                    except GenomeError as exc:
                        raise GenomeError(f"genome {row} {arr[row].tolist()}: {exc}") from None
                raise
        return arr

    def describe(self, genome: np.ndarray) -> str:
        """Each group's label and values (``edges=[0, 4, 9]; ops=[1, 0]``)."""
        return (
            "; ".join(
                f"{g.label}={values.tolist()}"
                for g, values in zip(self.groups, self.split(np.asarray(genome)), strict=True)
            )
            or "(no choices)"
        )

    def to_pyglove(self):
        """The space as a PyGlove hyper value (``pg.List`` of the groups').

        ``pg.DNA.to_numbers()`` of a DNA of ``pg.dna_spec(space.to_pyglove())`` is exactly a
        genome, and ``pg.DNA.from_numbers(genome, spec)`` the inverse (see
        esenas_core.networks.pyglove_bridge).
        Building the spec costs seconds to minutes on RL-sized spaces (docs/concepts.md).
        """
        import pyglove as pg

        return pg.List([g.to_pyglove() for g in self.groups])

    def mutate(self, genome: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Mutate one group, chosen with probability proportional to its length."""
        if not self.groups:
            return genome.copy()
        if len(self.groups) == 1:
            return self.groups[0].mutate(genome, rng).astype(np.int64, copy=False)
        cumulative = np.cumsum([g.length for g in self.groups])
        which = int(np.searchsorted(cumulative, rng.integers(cumulative[-1]), side="right"))
        parts = self.split(genome)
        parts[which] = self.groups[which].mutate(parts[which], rng)
        return np.concatenate(parts).astype(np.int64, copy=False)

    def mutate_many(self, genomes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Mutate every row of ``genomes`` (m, length) once, like ``mutate``, batched: each row
        mutates one group, chosen with probability proportional to its length."""
        genomes = np.asarray(genomes, dtype=np.int64)
        out = genomes.copy()
        if not self.groups or out.shape[0] == 0:
            return out
        cumulative = np.cumsum([g.length for g in self.groups])
        which = np.searchsorted(cumulative, rng.integers(cumulative[-1], size=len(out)), "right")
        off = self.offsets
        for i, group in enumerate(self.groups):
            rows = np.flatnonzero(which == i)
            if rows.size:
                block = out[rows, off[i] : off[i + 1]]
                out[rows, off[i] : off[i + 1]] = group.mutate_many(block, rng)
        return out
