"""Default run names that people can tell apart in a sweep: `adam-lr3e-3-7`, `brisk-otter-12`.

A run without a name used to show the start of its hex id, and a sweep of ten runs read as
ten random strings (issue 10). With an optimizer and a learning rate known (the Keras
callback), the name says them; otherwise it is an adjective and a noun. The number at the
end tells apart runs whose settings are the same; it is random, not a counter, because
runs start in many processes at once and a name need not be unique (the id is).
"""

from __future__ import annotations

import math
import random

ADJECTIVES = tuple(
    (
        "amber bold brisk calm clever crisp eager fair gentle glad keen lively lucid mellow "
        "nimble proud quick quiet rapid steady sunny swift tidy vivid warm wise"
    ).split()
)
NOUNS = tuple(
    (
        "badger beacon cedar comet falcon fern harbor heron lynx maple meadow otter pebble pine "
        "quartz raven river robin sparrow summit tiger tulip walrus willow wren zephyr"
    ).split()
)
MAX_SUFFIX = 99


def learning_rate_text(lr: float) -> str:
    """0.003 -> "3e-3", 0.01 -> "1e-2", 0.00025 -> "2.5e-4": short, and sorts by decade."""
    mantissa, exponent = f"{lr:.1e}".split("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


def memorable_name(
    *,
    optimizer: str | None = None,
    learning_rate: float | None = None,
    rng: random.Random | None = None,
) -> str:
    """`adam-lr3e-3-7` when the optimizer and its learning rate are known, else `brisk-otter-12`."""
    pick = rng or random.Random()
    suffix = pick.randint(1, MAX_SUFFIX)
    if (
        optimizer
        and learning_rate is not None
        and math.isfinite(learning_rate)
        and learning_rate > 0
    ):
        return f"{optimizer.lower()}-lr{learning_rate_text(learning_rate)}-{suffix}"
    return f"{pick.choice(ADJECTIVES)}-{pick.choice(NOUNS)}-{suffix}"
