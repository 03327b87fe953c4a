"""≥ 200 mutated and damaged configs through the real command line (see ``fuzz_cli.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz_cli import fuzz

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only


def test_mutated_configs_via_the_cli_exit_cleanly_and_leave_nothing(tmp_path: Path) -> None:
    outcomes = fuzz(cases=210, seed=0, out=tmp_path)
    problems = [o for o in outcomes if o["problem"]]
    assert not problems, problems[:5]
    codes = {o["rc"] for o in outcomes}
    assert 2 in codes and 0 in codes  # both paths are exercised
