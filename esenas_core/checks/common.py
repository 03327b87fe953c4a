"""What the conformance checkers share."""

from __future__ import annotations


class ConformanceError(AssertionError):
    """A plugin breaks the interface contract."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ConformanceError(message)
