"""Default run names: optimizer and learning rate, or an adjective and a noun, and a number."""

from __future__ import annotations

import random
import re

import pytest

from fitwatch.names import ADJECTIVES, NOUNS, learning_rate_text, memorable_name


@pytest.mark.parametrize(
    ("lr", "text"),
    [(0.003, "3e-3"), (0.01, "1e-2"), (0.00025, "2.5e-4"), (1.0, "1e0"), (0.1, "1e-1")],
)
def test_learning_rates_are_written_short(lr: float, text: str) -> None:
    assert learning_rate_text(lr) == text


def test_names_say_the_optimizer_and_learning_rate() -> None:
    name = memorable_name(optimizer="Adam", learning_rate=0.003, rng=random.Random(1))
    assert re.fullmatch(r"adam-lr3e-3-\d{1,2}", name)


@pytest.mark.parametrize("lr", [None, float("nan"), 0.0, -1.0])
def test_without_a_usable_learning_rate_a_name_is_an_adjective_and_a_noun(lr: float | None) -> None:
    adjective, noun, number = memorable_name(optimizer="SGD", learning_rate=lr).split("-")
    assert adjective in ADJECTIVES and noun in NOUNS and 1 <= int(number) <= 99


def test_a_sweep_gets_names_that_differ() -> None:
    rng = random.Random(0)
    assert len({memorable_name(rng=rng) for _ in range(20)}) > 15
