"""The scopes a series can have, and which of them carry epochs: the one list.

Read by the SDK (`wire.py`, the Keras callback), the server (`fitwatch_server.schemas`, the
reads and the live path) and the pages (`web/js/wire_facts.js`, generated from this module
by `python -m fitwatch_server.web_facts` and checked by `tests/web/test_wire_codec.py`).
Issue 8 found four lists and six copies of the epochs rule.
"""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """The cadence of a series (docs/keras.md has what each holds)."""

    batch = "batch"  # step = global batch index; Keras's running mean since the epoch began
    batch_derived = "batch_derived"  # as batch; each batch's own value, derived by fitwatch
    epoch = "epoch"  # step = epoch index; equals History.history
    eval = "eval"  # step = the evaluate() call's ordinal
    system = "system"  # step = sample number; process, host, GPU and throughput figures (system_metrics.py)


SCOPES: tuple[str, ...] = tuple(scope.value for scope in Scope)
# Batch points belong to an epoch, and their series carry an `epochs` column; the others
# do not (an epoch point's step *is* the epoch).
EPOCH_SCOPES: frozenset[str] = frozenset({Scope.batch.value, Scope.batch_derived.value})


def carries_epochs(scope: str) -> bool:
    """True for the scopes whose points carry the epoch they belong to."""
    return scope in EPOCH_SCOPES
