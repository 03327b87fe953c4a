"""Studies from Python: run one from a dict (the keys of a study file) or a file, and load any
finished study's results as records or pandas DataFrames.

    from esenas_core.search import run_study, load_study_results

    results = run_study({"name": "lr", "base": "examples/default.toml", "seeds": [0, 1],
                         "grid": {"es.learning_rate": [0.01, 0.05]}}, out="studies/lr")
    results.variants            # results.csv as records (IQM, CIs, …)
    results.dataframe("runs")   # runs.csv as a DataFrame (pandas installed)
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from esenas_core.api.errors import ConfigError, EsenasError, RunError
from esenas_core.studies.spec import Study, load_study, study_from_dict

TABLES = {
    "runs": "runs.csv",
    "variants": "results.csv",
    "improvements": "improvement.csv",
    "pareto": "pareto.csv",
    "relative": "relative.csv",
}


def _value(text: str) -> Any:
    """A CSV cell as int, float or str (``nan`` stays a float NaN)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: _value(v) for k, v in row.items()} for row in csv.DictReader(fh)]


@attrs.frozen
class StudyResults:
    """A study folder's tables as records: ``runs`` (one per variant and seed), ``variants``
    (the summary per variant, with CIs), ``improvements`` (P(A > B)), ``pareto``, ``relative``
    (final-score IQM ÷ the best reference variant's, when the study names ``reference``)."""

    folder: Path
    runs: list[dict[str, Any]]
    variants: list[dict[str, Any]]
    improvements: list[dict[str, Any]]
    pareto: list[dict[str, Any]]
    relative: list[dict[str, Any]] = attrs.field(factory=list)
    failed: tuple[str, ...] = ()

    def dataframe(self, table: str = "runs") -> Any:
        """One table as a pandas DataFrame (``pandas`` must be installed)."""
        if table not in TABLES:
            raise ConfigError(f"table: expected one of {', '.join(TABLES)}, got {table!r}")
        try:
            import pandas as pd
        except ImportError:
            raise EsenasError(
                "dataframe(): pandas is not installed (pip install pandas); the records are in"
                f" .{table}"
            ) from None
        return pd.DataFrame.from_records(getattr(self, table))

    def variant(self, name: str) -> dict[str, Any]:
        """The summary row of one variant."""
        for row in self.variants:
            if row["variant"] == name:
                return row
        known = ", ".join(str(r["variant"]) for r in self.variants)
        raise KeyError(f"no variant {name!r} in {self.folder} (variants: {known})")


def load_study_results(folder: str | Path) -> StudyResults:
    """The tables of a study folder that ``esenas ablate`` or ``run_study`` wrote."""
    folder = Path(folder)
    if not (folder / "runs.csv").exists():
        raise RunError(f"{folder}: no runs.csv (not a study folder, or no run has finished)")
    runs, variants, improvements, pareto, relative = (_records(folder / f) for f in TABLES.values())
    return StudyResults(folder, runs, variants, improvements, pareto, relative)


def as_study(spec: str | Path | Mapping[str, Any] | Study, base_dir: str | Path = ".") -> Study:
    """A ``Study`` from a study file's path, a dict with its keys, or a ``Study``."""
    if isinstance(spec, Study):
        return spec
    if isinstance(spec, str | Path):
        return load_study(spec)
    if isinstance(spec, Mapping):
        return study_from_dict(spec, "study (dict)", Path(base_dir))
    raise ConfigError(f"study: expected a path, a dict or a Study, got {type(spec).__name__}")


def run_study(
    spec: str | Path | Mapping[str, Any] | Study,
    out: str | Path | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    rerun_changed: bool = False,
    log: Callable[[str], None] = print,
    base_dir: str | Path = ".",
) -> StudyResults:
    """Run every (variant, seed) of ``spec`` into ``out`` (default ``studies/<name>``), as
    ``esenas ablate`` does (finished runs with the same config are reused), and return the
    results. Failed runs are listed in ``failed``; the tables hold the finished ones."""
    from esenas_core.studies.driver import run_study as drive

    study = as_study(spec, base_dir)
    folder = Path(out) if out is not None else Path("studies") / study.name
    failed = drive(
        study, folder, log=log, workers=workers, scheduler=scheduler, rerun_changed=rerun_changed
    )
    results = load_study_results(folder)
    return attrs.evolve(results, failed=tuple(failed))
