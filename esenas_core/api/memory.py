"""This machine's physical memory, for refusing sizes it cannot hold before anything allocates."""

from __future__ import annotations

import os

BYTES_PER_PARAMETER = 8 * 5  # float64 θ, the optimizer's two moments, the gradient, the update


def physical_memory() -> int | None:
    """Bytes of physical memory, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        try:
            import psutil

            return int(psutil.virtual_memory().total)
        except Exception:
            return None


def over_half(need: int) -> int | None:
    """This machine's memory in bytes when ``need`` bytes exceed half of it; None when they fit
    (or the platform does not say)."""
    total = physical_memory()
    return total if total and need > total // 2 else None
