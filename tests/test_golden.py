"""The same config and seed give bitwise the same θ, metrics and controller state as recorded
(tests/golden.py says how the record was made)."""

from __future__ import annotations

import json

from golden import GOLDEN, run


def test_the_golden_run_is_unchanged() -> None:
    recorded = json.loads(GOLDEN.read_text())
    now = json.loads(json.dumps(run()))
    assert now["metrics"] == recorded["metrics"]
    assert now["theta"] == recorded["theta"]
    assert now["controller"] == recorded["controller"]
