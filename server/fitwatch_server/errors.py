"""Domain errors raised by the store; they know nothing of HTTP (`api/errors.py` maps them).

    FitwatchError
    ├── NotFound           an unknown run or series
    ├── InvalidInput       input that passed the schema but is still wrong
    │   └── InvalidFilter  a run filter or sort that does not parse (carries the position)
    └── PayloadTooLarge    a request body over `Settings.max_body_bytes`
"""

from __future__ import annotations


class FitwatchError(Exception):
    """Base class: `detail` says what to fix."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(FitwatchError):
    pass


class InvalidInput(FitwatchError):
    pass


class InvalidFilter(InvalidInput):
    def __init__(self, detail: str, *, position: int, text: str) -> None:
        pointer = f"\n  {text}\n  {' ' * position}^"
        super().__init__(f"{detail} (at position {position}){pointer}")
        self.position = position


class PayloadTooLarge(FitwatchError):
    pass
