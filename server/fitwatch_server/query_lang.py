"""The run filter language: tokenizer and parser into a small AST (never SQL text).

    config.optimizer.learning_rate < 0.01 and (tags in ("baseline", "v2") or name ~ "resnet")
    max(val_accuracy) > 0.9 and last(loss) < 0.3

Grammar (keywords are case-insensitive):

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | comparison
    comparison := field OP literal | field ["not"] "in" "(" literal ("," literal)* ")"
    field      := NAME ("." (NAME | STRING))* | AGG "(" (NAME | STRING) ["," NAME] ")"
    OP         := "=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "~" | "!~"
    literal    := NUMBER | STRING | "true" | "false"

`store/search.py` turns the AST into SQLAlchemy expressions; errors carry the position.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from fitwatch.scopes import SCOPES
from fitwatch_server.errors import InvalidFilter

MAX_FILTER_CHARS = 4_000
# Parentheses and `not` nest at most this deep: the parser recurses once per level, and 500
# levels exhausted Python's recursion limit (a 500; issue 8).
MAX_FILTER_DEPTH = 32
# A sort takes at most this many fields (SQLite refuses ORDER BY with more than 64 terms).
MAX_SORT_FIELDS = 16
# Integer literals must fit the databases' 64-bit integers to be bound as parameters.
MAX_INTEGER = 2**63 - 1
AGGREGATES = ("min", "max", "last", "count")
OPERATORS = ("=", "==", "!=", "<", "<=", ">", ">=", "~", "!~")

Literal = float | int | str | bool


@dataclass(frozen=True, slots=True)
class Field:
    """A run attribute (`path == ("name",)`), a JSON path (`config.a.b`) or an aggregate."""

    path: tuple[str, ...]
    aggregate: str | None = None
    scope: str | None = None
    position: int = 0


@dataclass(frozen=True, slots=True)
class Compare:
    field: Field
    op: str
    value: Literal
    position: int


@dataclass(frozen=True, slots=True)
class InList:
    field: Field
    values: tuple[Literal, ...]
    negated: bool
    position: int


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # "and" | "or"
    items: tuple[Node, ...]


Node = Compare | InList | Not | BoolOp


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # NAME, NUMBER, STRING, OP, PUNCT, END
    text: str
    value: Literal
    position: int


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|!~|=|<|>|~)
  | (?P<punct>[(),.])
    """,
    re.VERBOSE,
)
_ESCAPE = re.compile(r"\\(.)")


def _number(raw: str, position: int, text: str) -> float | int:
    if any(c in raw for c in ".eE"):
        number = float(raw)
        if math.isinf(number):
            raise InvalidFilter(
                f"the number {raw} is too large for a 64-bit float; use a smaller one",
                position=position,
                text=text,
            )
        return number
    integer = int(raw)
    if abs(integer) > MAX_INTEGER:
        raise InvalidFilter(
            f"the integer {raw} is outside the 64-bit range (at most {MAX_INTEGER} in size); "
            f"to compare with a float, write it with an exponent, e.g. {float(integer):.0e}",
            position=position,
            text=text,
        )
    return integer


def tokenize(text: str) -> list[Token]:
    if "\x00" in text:
        raise InvalidFilter(
            "a filter or sort must not contain the NUL character (\\u0000)",
            position=text.index("\x00"),
            text=text.replace("\x00", " "),
        )
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise InvalidFilter(
                f"unexpected character {text[position]!r}", position=position, text=text
            )
        kind = match.lastgroup
        raw = match.group()
        if kind == "number":
            tokens.append(Token("NUMBER", raw, _number(raw, position, text), position))
        elif kind == "string":
            tokens.append(Token("STRING", raw, _ESCAPE.sub(r"\1", raw[1:-1]), position))
        elif kind == "name":
            tokens.append(Token("NAME", raw, raw, position))
        elif kind == "op":
            tokens.append(Token("OP", raw, raw, position))
        elif kind == "punct":
            tokens.append(Token("PUNCT", raw, raw, position))
        position = match.end()
    tokens.append(Token("END", "", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def fail(self, message: str, token: Token | None = None) -> InvalidFilter:
        token = token or self.token
        found = "the end of the filter" if token.kind == "END" else repr(token.text)
        return InvalidFilter(f"{message}, found {found}", position=token.position, text=self.text)

    def advance(self) -> Token:
        token = self.token
        self.index += 1
        return token

    def is_keyword(self, word: str) -> bool:
        return self.token.kind == "NAME" and self.token.text.lower() == word

    def expect_punct(self, char: str) -> Token:
        if self.token.kind == "PUNCT" and self.token.text == char:
            return self.advance()
        raise self.fail(f"expected {char!r}")

    def parse(self) -> Node:
        node = self.expr()
        if self.token.kind != "END":
            raise self.fail("expected 'and', 'or' or the end of the filter")
        return node

    def expr(self) -> Node:
        items = [self.and_expr()]
        while self.is_keyword("or"):
            self.advance()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.is_keyword("and"):
            self.advance()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def not_expr(self) -> Node:
        nests = self.is_keyword("not") or (self.token.kind == "PUNCT" and self.token.text == "(")
        if not nests:
            return self.comparison()
        if self.depth >= MAX_FILTER_DEPTH:
            raise self.fail(
                f"parentheses and 'not' nest at most {MAX_FILTER_DEPTH} levels deep; "
                "write the filter flatter"
            )
        self.depth += 1
        try:
            if self.advance().text.lower() == "not":
                return Not(self.not_expr())
            node = self.expr()
            self.expect_punct(")")
            return node
        finally:
            self.depth -= 1

    def field(self) -> Field:
        start = self.token
        if start.kind != "NAME":
            raise self.fail("expected a field such as name, tags, config.<key> or max(<metric>)")
        self.advance()
        lowered = start.text.lower()
        if lowered in AGGREGATES and self.token.kind == "PUNCT" and self.token.text == "(":
            self.advance()
            if self.token.kind not in ("NAME", "STRING"):
                raise self.fail(f"expected a metric key inside {lowered}()")
            key = str(self.advance().value)
            scope = None
            if self.token.kind == "PUNCT" and self.token.text == ",":
                self.advance()
                if self.token.kind != "NAME":
                    raise self.fail(f"expected a scope ({', '.join(SCOPES)})")
                scope = self.advance().text
            self.expect_punct(")")
            return Field((key,), aggregate=lowered, scope=scope, position=start.position)
        path = [start.text]
        while self.token.kind == "PUNCT" and self.token.text == ".":
            self.advance()
            if self.token.kind not in ("NAME", "STRING", "NUMBER"):
                raise self.fail("expected a key after '.'")
            segment = self.advance()
            path.append(segment.text if segment.kind == "NUMBER" else str(segment.value))
        return Field(tuple(path), position=start.position)

    def literal(self) -> Literal:
        token = self.token
        if token.kind in ("NUMBER", "STRING"):
            self.advance()
            return token.value
        if self.is_keyword("true") or self.is_keyword("false"):
            self.advance()
            return token.text.lower() == "true"
        raise self.fail("expected a number, a quoted string, true or false")

    def comparison(self) -> Node:
        field = self.field()
        position = self.token.position
        negated = False
        if self.is_keyword("not"):
            self.advance()
            negated = True
            if not self.is_keyword("in"):
                raise self.fail("expected 'in' after 'not'")
        if self.is_keyword("in"):
            self.advance()
            self.expect_punct("(")
            values = [self.literal()]
            while self.token.kind == "PUNCT" and self.token.text == ",":
                self.advance()
                values.append(self.literal())
            self.expect_punct(")")
            return InList(field, tuple(values), negated, position)
        if self.token.kind != "OP":
            raise self.fail("expected a comparison (=, !=, <, <=, >, >=, ~, !~, in)")
        op = self.advance().text
        return Compare(field, "=" if op == "==" else op, self.literal(), position)


def parse_filter(text: str) -> Node | None:
    """Parse a filter; an empty or blank one means no filter (`None`)."""
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidFilter(
            f"a filter is at most {MAX_FILTER_CHARS} characters; received {len(text)}",
            position=MAX_FILTER_CHARS,
            text=text[:40] + "...",
        )
    if not text.strip():
        return None
    return _Parser(text).parse()


def parse_sort(text: str) -> list[tuple[Field, bool]]:
    """`-created_at,max(val_accuracy)` -> [(field, descending), ...]."""
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidFilter(
            f"a sort is at most {MAX_FILTER_CHARS} characters; received {len(text)}",
            position=MAX_FILTER_CHARS,
            text=text[:40] + "...",
        )
    fields: list[tuple[Field, bool]] = []
    parts = [part for part in _split_top_level(text) if part.strip()]
    if len(parts) > MAX_SORT_FIELDS:
        raise InvalidFilter(
            f"a sort has at most {MAX_SORT_FIELDS} fields; received {len(parts)}",
            position=0,
            text=text[:40] + ("..." if len(text) > 40 else ""),
        )
    for part in parts:
        stripped = part.strip()
        if not stripped:
            continue
        descending = stripped.startswith("-")
        parser = _Parser(stripped.lstrip("-").strip())
        field = parser.field()
        if parser.token.kind != "END":
            raise parser.fail("expected ',' or the end of the sort")
        fields.append((field, descending))
    return fields


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
