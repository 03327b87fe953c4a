"""Writing a benchmark's machine-readable result (shared by the scripts in bench/)."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np


def write_result(result: dict[str, Any], out: str) -> None:
    """Add machine and date, write ``out`` as JSON, print it."""
    result = {
        **result,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
