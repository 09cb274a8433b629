"""The HTTP layer: routers, dependencies and the one place that maps domain errors to HTTP."""
