"""MLflow's search filter strings parsed into a small AST (no SQL here).

A filter is never pasted into SQL: it is tokenised and parsed into ``Comparison`` nodes joined by
``BoolOp`` nodes, and the compilers (``trace_search.py``, ``experiments.py``) map each node onto
SQL fragments from their allow-lists, binding every user value as a parameter.

Grammar (MLflow ``SearchTraceUtils``, plus ``OR`` and parentheses as an annotrace extension):

    filter     := or_expr
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := term ("AND" term)*
    term       := "(" or_expr ")" | comparison
    comparison := identifier op value | identifier ["NOT"] "IN" "(" value ("," value)* ")"
                | identifier "IS" ["NOT"] "NULL"
    identifier := segment ("." segment)*        segment := name | `backticked name`
    op         := = | != | <> | < | <= | > | >= | LIKE | ILIKE | RLIKE
    value      := 'string' | "string" | number
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from annotrace.collector.errors import InvalidParameter

Value = str | float
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "RLIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL")

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<ident>(?:[A-Za-z_][\w\-]*|`[^`]*`)(?:\.(?:[A-Za-z_0-9][\w\-]*|`[^`]*`))*)
  | (?P<op>!=|<>|<=|>=|==|=|<|>)
  | (?P<punct>[(),])
""",
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "RLIKE"}


@dataclass(frozen=True, slots=True)
class Comparison:
    """``<entity>.<key> <op> <value>``; entity is the prefix as written, lower-cased ("" if none)."""

    entity: str
    key: str
    op: str
    value: Value | tuple[Value, ...] | None
    text: str  # the identifier as written, for error messages


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: Literal["AND", "OR"]
    items: tuple[Node, ...]


Node = Comparison | BoolOp


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # string, number, ident, keyword, op, punct, end
    text: str
    pos: int


def parse(text: str, field: str = "filter") -> Node | None:
    """The AST of ``text`` (None for an empty filter); InvalidParameter naming ``field`` otherwise."""
    tokens = _tokenize(text, field)
    if len(tokens) == 1:
        return None
    parser = _Parser(text, tokens, field)
    node = parser.or_expr()
    if parser.peek.kind != "end":
        parser.fail("expected AND, OR or the end of the filter")
    return node


def _tokenize(text: str, field: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise InvalidParameter(
                f"Invalid clause(s) in {field} string: unexpected character {text[pos]!r} at position {pos} of {text!r}"
            )
        kind = match.lastgroup or ""
        if kind != "ws":
            value = match.group()
            if kind == "ident" and value.upper() in _KEYWORDS:
                kind, value = "keyword", value.upper()
            tokens.append(_Token(kind, value, pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, tokens: list[_Token], field: str) -> None:
        self.text, self.tokens, self.field, self.index = text, tokens, field, 0

    @property
    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, reason: str) -> None:
        token = self.peek
        where = f"at position {token.pos}" if token.kind != "end" else "at the end"
        raise InvalidParameter(f"Invalid clause(s) in {self.field} string {self.text!r}: {reason} {where}")

    def is_keyword(self, word: str) -> bool:
        return self.peek.kind == "keyword" and self.peek.text == word

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.is_keyword("OR"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def and_expr(self) -> Node:
        items = [self.term()]
        while self.is_keyword("AND"):
            self.take()
            items.append(self.term())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def term(self) -> Node:
        if self.peek.kind == "punct" and self.peek.text == "(":
            self.take()
            node = self.or_expr()
            if not (self.peek.kind == "punct" and self.peek.text == ")"):
                self.fail("expected ')'")
            self.take()
            return node
        return self.comparison()

    def comparison(self) -> Comparison:
        if self.peek.kind != "ident":
            self.fail("expected an identifier such as tags.`my.key` or trace.status")
        ident = self.take()
        entity, key = _split(ident.text)
        token = self.peek
        if token.kind == "op":
            self.take()
            op = {"<>": "!=", "==": "="}.get(token.text, token.text)
            return Comparison(entity, key, op, self.value(), ident.text)
        if token.kind == "keyword" and token.text in ("LIKE", "ILIKE", "RLIKE"):
            self.take()
            return Comparison(entity, key, token.text, self.value(), ident.text)
        if token.kind == "keyword" and token.text == "IS":
            self.take()
            negated = self.is_keyword("NOT")
            if negated:
                self.take()
            if not self.is_keyword("NULL"):
                self.fail("expected NULL")
            self.take()
            return Comparison(entity, key, "IS NOT NULL" if negated else "IS NULL", None, ident.text)
        if token.kind == "keyword" and token.text in ("IN", "NOT"):
            self.take()
            if token.text == "NOT":
                if not self.is_keyword("IN"):
                    self.fail("expected IN")
                self.take()
            return Comparison(entity, key, "NOT IN" if token.text == "NOT" else "IN", self.value_list(), ident.text)
        self.fail(f"expected a comparison operator after {ident.text!r}")
        raise AssertionError  # fail() raises

    def value(self) -> Value:
        token = self.peek
        if token.kind == "string":
            self.take()
            return _unquote(token.text)
        if token.kind == "number":
            self.take()
            return float(token.text)
        self.fail("expected a quoted string or a number")
        raise AssertionError

    def value_list(self) -> tuple[Value, ...]:
        if not (self.peek.kind == "punct" and self.peek.text == "("):
            self.fail("expected '(' after IN")
        self.take()
        values = [self.value()]
        while self.peek.kind == "punct" and self.peek.text == ",":
            self.take()
            values.append(self.value())
        if not (self.peek.kind == "punct" and self.peek.text == ")"):
            self.fail("expected ',' or ')' in the IN list")
        self.take()
        return tuple(values)


def _split(identifier: str) -> tuple[str, str]:
    """``tag.`mlflow.traceName``` -> ("tag", "mlflow.traceName"); ``status`` -> ("", "status")."""
    segments = [s[1:-1] if s.startswith("`") else s for s in re.findall(r"`[^`]*`|[^.`]+", identifier)]
    if len(segments) == 1:
        return "", segments[0]
    return segments[0].lower(), ".".join(segments[1:])


def _unquote(text: str) -> str:
    quote = text[0]
    body = text[1:-1].replace(quote * 2, quote)
    return re.sub(r"\\(.)", r"\1", body)
