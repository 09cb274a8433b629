"""The package version, in one place (imported by `__init__` and the HTTP client)."""

from __future__ import annotations

__version__ = "0.1.0"
