"""The time the study statistics add to ``esenas ablate``: 10 variants × 10 seeds.

    python bench/ablation_stats.py [--variants 10] [--seeds 10] [--iterations 100]
                                   [--out bench/results/ablation_stats.json]

Times, on a synthetic score table (no runs needed): the per-variant estimates (mean, median, IQM of
final score, best score and episodes to the threshold, each with a 10,000-resample bootstrap CI),
P(A > B) with its CI for every pair of variants, and the IQM curve bands (2,000 resamples per
iteration) that ``curves.png`` draws. Plotting and file writing are not included.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _results import write_result

from esenas_core.studies.report import improvements, variant_stats
from esenas_core.studies.spec import Study, Variant
from esenas_core.studies.stats import curve_band


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--out", default="bench/results/ablation_stats.json")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    variants = tuple(Variant(f"v{i}", {}) for i in range(args.variants))
    study = Study("bench", {}, tuple(range(args.seeds)), variants, 300.0, "bench")
    rows = [
        {
            "variant": v.name,
            "seed": s,
            "final_score": float(rng.normal(300 + 10 * i, 40)),
            "best_score": float(rng.normal(350 + 10 * i, 40)),
            "episodes_to_threshold": float(rng.integers(200, 2000))
            if rng.random() < 0.7
            else np.nan,
        }
        for i, v in enumerate(variants)
        for s in study.seeds
    ]
    curves = rng.normal(0, 10, size=(args.variants, args.seeds, args.iterations)).cumsum(axis=2)
    from scipy.stats import bootstrap  # noqa: F401  (import time is not the statistics' time)

    t0 = time.perf_counter()
    variant_stats(study, rows)
    t1 = time.perf_counter()
    improvements(study, rows)
    t2 = time.perf_counter()
    for i, v in enumerate(variants):
        curve_band(curves[i], 0, v.name)
    t3 = time.perf_counter()
    write_result(
        {
            "variants": args.variants,
            "seeds": args.seeds,
            "iterations": args.iterations,
            "seconds_variant_estimates": t1 - t0,
            "seconds_improvement_pairs": t2 - t1,
            "seconds_curve_bands": t3 - t2,
            "seconds_total": t3 - t0,
            "target_seconds": 2.0,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
