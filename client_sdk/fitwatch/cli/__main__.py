"""`python -m fitwatch.cli`: the same as the `fitwatch` command."""

from __future__ import annotations

from fitwatch.cli import main

raise SystemExit(main())
