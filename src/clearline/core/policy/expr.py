"""The policy expression language: a tokenizer and a recursive-descent parser.

Conditions in a policy are written as short expressions, e.g.::

    dpd_now >= 30 and (inquiries_30d >= 6 or utilisation > 0.9)

Grammar (lowest precedence first; keywords are lower case)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | cmp
    cmp     := sum [ CMP sum | "is" ["not"] "null" | ["not"] "in" "[" lit ("," lit)* "]" ]
    sum     := prod (("+" | "-") prod)*
    prod    := unary (("*" | "/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | STRING | "true" | "false" | NAME | "(" expr ")"
    CMP     := "<" | "<=" | ">" | ">=" | "==" | "!="

Text is parsed once, at load, into a small tree of frozen dataclasses and type-checked
against the feature kinds (:mod:`clearline.core.policy.fields`); nothing is ever
``eval``-ed. Evaluation over whole columns lives in :mod:`clearline.core.policy.evaluate`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as _dc_field

Kind = str  # "number" | "bool" | "string"
Literal_ = bool | int | float | str

CMP_OPS = ("<", "<=", ">", ">=", "==", "!=")
KEYWORDS = ("and", "or", "not", "in", "is", "null", "true", "false")


class ExprError(ValueError):
    """A bad expression; ``column`` is the 1-based character position of the problem."""

    def __init__(self, message: str, column: int | None = None) -> None:
        where = f"column {column}: " if column is not None else ""
        super().__init__(f"{where}{message}")
        self.column = column


# --- the tree -----------------------------------------------------------------------


@dataclass(frozen=True)
class Lit:
    value: Literal_


@dataclass(frozen=True)
class Field:
    name: str
    pos: int = _dc_field(default=0, compare=False)  # where it was written, for errors


@dataclass(frozen=True)
class Neg:
    arg: Node


@dataclass(frozen=True)
class Arith:
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Cmp:
    op: str  # one of CMP_OPS
    left: Node
    right: Node


@dataclass(frozen=True)
class IsNull:
    arg: Node
    negated: bool


@dataclass(frozen=True)
class In:
    arg: Node
    values: tuple[Literal_, ...]
    negated: bool


@dataclass(frozen=True)
class Not:
    arg: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    args: tuple[Node, ...]


Node = Lit | Field | Neg | Arith | Cmp | IsNull | In | Not | BoolOp


# --- tokens -------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
    | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\)|\[|\]|,)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # num | str | name | kw | op | end
    text: str
    pos: int  # 1-based column


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; anything else (``=``, ``;``, ``__``...) is refused."""
    out: list[Token] = []
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            out.append(Token("end", "", i + 1))
            return out
        m = _TOKEN.match(text, i)
        if m is None or m.end() == i:
            raise ExprError(f"unexpected character {text[i]!r}", i + 1)
        group = m.lastgroup or "op"
        tok = m.group(group)
        kind = "kw" if group == "name" and tok in KEYWORDS else group
        out.append(Token(kind, tok, m.start(group) + 1))
        i = m.end()


# --- parser -------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def accept(self, text: str) -> bool:
        tok = self.peek()
        if tok.kind in ("op", "kw") and tok.text == text:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            tok = self.peek()
            got = "end of expression" if tok.kind == "end" else repr(tok.text)
            raise ExprError(f"expected {text!r}, got {got}", tok.pos)

    def parse(self) -> Node:
        node = self.or_()
        tok = self.peek()
        if tok.kind != "end":
            raise ExprError(f"unexpected {tok.text!r} after a complete expression", tok.pos)
        return node

    def _chain(self, op: str, sub: str) -> Node:
        parts = [getattr(self, sub)()]
        while self.accept(op):
            parts.append(getattr(self, sub)())
        return parts[0] if len(parts) == 1 else BoolOp(op, tuple(parts))

    def or_(self) -> Node:
        return self._chain("or", "and_")

    def and_(self) -> Node:
        return self._chain("and", "not_")

    def not_(self) -> Node:
        if self.accept("not"):
            return Not(self.not_())
        return self.cmp()

    def cmp(self) -> Node:
        left = self.sum()
        tok = self.peek()
        if tok.kind == "op" and tok.text in CMP_OPS:
            self.take()
            node: Node = Cmp(tok.text, left, self.sum())
        elif self.accept("is"):
            negated = self.accept("not")
            self.expect("null")
            node = IsNull(left, negated)
        elif tok.kind == "kw" and tok.text in ("in", "not"):
            negated = self.accept("not")
            self.expect("in")
            node = In(left, self.literal_list(), negated)
        else:
            return left
        nxt = self.peek()
        if nxt.kind == "op" and nxt.text in CMP_OPS:
            raise ExprError("comparisons do not chain; join them with 'and'", nxt.pos)
        return node

    def literal_list(self) -> tuple[Literal_, ...]:
        self.expect("[")
        values = [self.literal()]
        while self.accept(","):
            values.append(self.literal())
        self.expect("]")
        return tuple(values)

    def literal(self) -> Literal_:
        sign = -1 if self.accept("-") else 1
        tok = self.take()
        if tok.kind == "num":
            return sign * _number(tok.text)
        if sign == 1 and tok.kind == "str":
            return _unquote(tok.text)
        if sign == 1 and tok.kind == "kw" and tok.text in ("true", "false"):
            return tok.text == "true"
        raise ExprError(f"expected a number, string, true or false, got {tok.text!r}", tok.pos)

    def sum(self) -> Node:
        node = self.prod()
        while (tok := self.peek()).kind == "op" and tok.text in ("+", "-"):
            self.take()
            node = Arith(tok.text, node, self.prod())
        return node

    def prod(self) -> Node:
        node = self.unary()
        while (tok := self.peek()).kind == "op" and tok.text in ("*", "/"):
            self.take()
            node = Arith(tok.text, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("-"):
            return Neg(self.unary())
        return self.atom()

    def atom(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            return Lit(_number(tok.text))
        if tok.kind == "str":
            return Lit(_unquote(tok.text))
        if tok.kind == "name":
            return Field(tok.text, tok.pos)
        if tok.kind == "kw" and tok.text in ("true", "false"):
            return Lit(tok.text == "true")
        if tok.kind == "op" and tok.text == "(":
            node = self.or_()
            self.expect(")")
            return node
        got = "end of expression" if tok.kind == "end" else repr(tok.text)
        raise ExprError(f"expected a value, a feature or '(', got {got}", tok.pos)


def _number(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


# --- type checking ------------------------------------------------------------------


def _lit_kind(v: Literal_) -> Kind:
    if isinstance(v, bool):
        return "bool"
    return "string" if isinstance(v, str) else "number"


def check(node: Node, fields: Mapping[str, Kind]) -> Kind:
    """The kind of ``node``; raises :class:`ExprError` on unknown names or type errors."""
    if isinstance(node, Lit):
        return _lit_kind(node.value)
    if isinstance(node, Field):
        kind = fields.get(node.name)
        if kind is None:
            near = difflib.get_close_matches(node.name, list(fields), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ExprError(f"unknown feature {node.name!r}{hint}", node.pos or None)
        return kind
    if isinstance(node, Neg):
        _want(node.arg, fields, "number", "'-'")
        return "number"
    if isinstance(node, Arith):
        _want(node.left, fields, "number", repr(node.op))
        _want(node.right, fields, "number", repr(node.op))
        return "number"
    if isinstance(node, Cmp):
        lk, rk = check(node.left, fields), check(node.right, fields)
        if node.op in ("==", "!="):
            if lk != rk:
                raise ExprError(f"cannot compare {lk} with {rk} using {node.op!r}")
        else:
            if lk != "number" or rk != "number":
                raise ExprError(f"{node.op!r} compares numbers, not {lk} with {rk}")
        return "bool"
    if isinstance(node, IsNull):
        check(node.arg, fields)
        return "bool"
    if isinstance(node, In):
        kind = check(node.arg, fields)
        bad = [v for v in node.values if _lit_kind(v) != kind]
        if bad:
            raise ExprError(f"'in' list holds {bad[0]!r}, not a {kind} like the left side")
        return "bool"
    if isinstance(node, Not):
        _want(node.arg, fields, "bool", "'not'")
        return "bool"
    for arg in node.args:
        _want(arg, fields, "bool", repr(node.op))
    return "bool"


def _want(node: Node, fields: Mapping[str, Kind], kind: Kind, what: str) -> None:
    got = check(node, fields)
    if got != kind:
        raise ExprError(f"{what} needs a {kind}, got a {got}")


def parse(text: str, fields: Mapping[str, Kind]) -> Node:
    """Parse and type-check a condition; it must be true/false-valued."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("empty expression")
    node = _Parser(text).parse()
    kind = check(node, fields)
    if kind != "bool":
        raise ExprError(f"a condition must be true or false, but this is a {kind}")
    return node


def field_names(node: Node) -> set[str]:
    """Every feature the expression reads."""
    if isinstance(node, Field):
        return {node.name}
    if isinstance(node, Lit):
        return set()
    if isinstance(node, Neg | Not | IsNull | In):
        return field_names(node.arg)
    if isinstance(node, Arith | Cmp):
        return field_names(node.left) | field_names(node.right)
    return set().union(*(field_names(a) for a in node.args))
