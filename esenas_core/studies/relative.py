"""Each variant's final-score IQM relative to the best of the study's ``reference`` variants.

A study that names ``reference = ["dense_linear", "dense_hidden"]`` gets ``relative.csv`` and a
table in results.md: IQM(variant) ÷ max over the references of IQM(reference), with a percentile
bootstrap interval in which every variant's runs are resampled independently and the better
reference is chosen again in each resample (``esenas_core.studies.stats.ratio_to_best``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from esenas_core.studies.spec import Study
from esenas_core.studies.stats import Estimate, iqm, ratio_to_best

COLUMNS = ["variant", "reference", "ratio", "low", "high", "runs"]


def relative(study: Study, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per variant with runs (the references included): its ratio and interval, and
    the reference variant with the best final-score IQM."""
    scores = {
        v.name: [r["final_score"] for r in rows if r["variant"] == v.name] for v in study.variants
    }
    refs = [r for r in study.reference if scores[r]]
    if not refs:
        return []
    finite = {r: [s for s in scores[r] if math.isfinite(s)] for r in refs}
    best = max(refs, key=lambda r: float(iqm(np.array(finite[r]))) if finite[r] else -math.inf)
    out = []
    for name, values in scores.items():
        if not values:
            continue
        e: Estimate = ratio_to_best(
            values, [scores[r] for r in refs], study.bootstrap_seed, f"{name}/reference"
        )
        row = {"variant": name, "reference": best, "ratio": e.value}
        out.append(row | {"low": e.low, "high": e.high, "runs": e.n})
    return out


def write_relative(study: Study, rows: Sequence[dict[str, Any]], out: Path) -> list[str]:
    """Write ``relative.csv`` (when the study names references) and return results.md's lines."""
    table = relative(study, rows)
    if not table:
        (out / "relative.csv").unlink(missing_ok=True)  # from an earlier report with references
        return []
    with (out / "relative.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(table)
    names = ", ".join(study.reference)
    lines = [
        f"## Final-score IQM ÷ the best IQM of the reference variants ({names}) [95 % CI]",
        "",
        "Every variant's runs are resampled independently and the better reference is chosen"
        " again in each resample. Defined only when a reference's runs all end above 0.",
        "",
        "| variant | ÷ best reference | best reference (point estimate) |",
        "| --- | --- | --- |",
    ]
    for row in table:
        value = "—" if math.isnan(row["ratio"]) else f"{row['ratio']:.2f}"
        if not math.isnan(row["low"]):
            value += f" [{row['low']:.2f}, {row['high']:.2f}]"
        lines.append(f"| {row['variant']} | {value} | {row['reference']} |")
    return [*lines, ""]
