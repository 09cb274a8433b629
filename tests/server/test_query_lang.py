"""The filter language parser: precedence, literals, and errors that point at the problem."""

from __future__ import annotations

import pytest

from fitwatch_server.errors import InvalidFilter
from fitwatch_server.query_lang import BoolOp, Compare, Field, InList, Not, parse_filter, parse_sort


def test_and_binds_tighter_than_or():
    node = parse_filter('name = "a" or name = "b" and status = "running"')
    assert isinstance(node, BoolOp) and node.op == "or"
    assert isinstance(node.items[1], BoolOp) and node.items[1].op == "and"


def test_parentheses_and_not():
    node = parse_filter('not (tags in ("a", "b") or name ~ "x")')
    assert isinstance(node, Not)
    assert isinstance(node.item, BoolOp)
    assert isinstance(node.item.items[0], InList)


def test_config_paths_aggregates_and_literals():
    node = parse_filter('config.optimizer.learning_rate < 1e-2 and max(val_accuracy, epoch) >= 0.9')
    assert isinstance(node, BoolOp)
    first, second = node.items
    assert first == Compare(Field(("config", "optimizer", "learning_rate"), position=0), "<", 0.01, 31)
    assert isinstance(second, Compare)
    assert second.field.aggregate == "max" and second.field.scope == "epoch"
    assert parse_filter("config.use_ema = true").value is True  # type: ignore[union-attr]
    assert parse_filter('max("a/b") > 1').field.path == ("a/b",)  # type: ignore[union-attr]


def test_blank_filter_is_no_filter():
    assert parse_filter("   ") is None


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("name = ", 7, "expected a number, a quoted string, true or false"),
        ('name = "a" and', 14, "expected a field"),
        ("name $ 1", 5, "unexpected character '$'"),
        ('(name = "a"', 11, "expected ')'"),
        ('name = "a" name', 11, "expected 'and', 'or' or the end"),
        ("tags not 'x'", 9, "expected 'in' after 'not'"),
    ],
)
def test_errors_carry_the_position(text, position, message):
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(text)
    assert caught.value.position == position
    assert message in caught.value.detail


def test_sort_fields_with_direction():
    fields = parse_sort("-created_at, max(val_accuracy),name")
    assert [(f.path, f.aggregate, d) for f, d in fields] == [
        (("created_at",), None, True),
        (("val_accuracy",), "max", False),
        (("name",), None, False),
    ]
