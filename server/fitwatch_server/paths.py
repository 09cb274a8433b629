"""Where the shipped folders live: inside the wheel, or at the repo root in a checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent.parent


def shipped_dir(name: str) -> Path:
    """`web` or `migrations`: the wheel puts them in the package; a checkout has them at the root."""
    for candidate in (PACKAGE_DIR / name, REPO_ROOT / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"fitwatch_server cannot find its {name!r} folder (looked in {PACKAGE_DIR} and {REPO_ROOT}); "
        "reinstall with: pip install 'fitwatch[server]'"
    )
