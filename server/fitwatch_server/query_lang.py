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

import re
from dataclasses import dataclass

from fitwatch_server.errors import InvalidFilter

MAX_FILTER_CHARS = 4_000
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


def tokenize(text: str) -> list[Token]:
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
            number: float | int = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(Token("NUMBER", raw, number, position))
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
        if self.is_keyword("not"):
            self.advance()
            return Not(self.not_expr())
        if self.token.kind == "PUNCT" and self.token.text == "(":
            self.advance()
            node = self.expr()
            self.expect_punct(")")
            return node
        return self.comparison()

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
                    raise self.fail("expected a scope (batch, batch_derived, epoch, eval, system)")
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
    fields: list[tuple[Field, bool]] = []
    for part in _split_top_level(text):
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
