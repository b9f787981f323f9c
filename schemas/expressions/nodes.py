"""The syntax tree the parser builds and the code generator consumes.

Every node records ``depth`` (height of its subtree) so that the nesting limit is enforced
while parsing, bottom-up, without ever recursing over an unbounded tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Path steps --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Key:
    """``.name`` or ``['name']``: a dict key."""

    name: str


@dataclass(frozen=True, slots=True)
class Index:
    """``[expr]``: a list index (int) or dict key (str), computed at run time unless constant."""

    expr: Node


@dataclass(frozen=True, slots=True)
class Project:
    """``[*]``: apply the remaining steps to every element of a list, dropping nulls."""


@dataclass(frozen=True, slots=True)
class MultiHash:
    """``.{k: expr, …}``: build an object whose values are evaluated relative to the value."""

    pairs: tuple[tuple[str, Node], ...]


Step = Key | Index | Project | MultiHash

# Expressions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Node:
    """Base of expression nodes; ``depth`` is the height of the subtree."""

    depth: int = field(default=1, kw_only=True, compare=False)


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: Any


@dataclass(frozen=True, slots=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ObjectLit(Node):
    pairs: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, slots=True)
class Payload(Node):
    """``$``."""


@dataclass(frozen=True, slots=True)
class Current(Node):
    """``@`` (or a leading ``.`` after a pipe): the value being projected or piped."""


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A bare name: lambda parameter, relative key, variable, step id or payload key."""

    name: str


@dataclass(frozen=True, slots=True)
class Event(Node):
    """``event.field``: the envelope field when set, else the payload field."""

    field_name: str


@dataclass(frozen=True, slots=True)
class Path(Node):
    base: Node
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str  # "-" or "not"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str  # + - * / % == != < <= > >= ??
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Logic(Node):
    op: str  # "and" / "or", n-ary so long chains stay shallow
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class InOp(Node):
    negate: bool
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class LikeOp(Node):
    negate: bool
    insensitive: bool
    left: Node
    pattern: Node


@dataclass(frozen=True, slots=True)
class Ternary(Node):
    cond: Node
    then: Node
    other: Node


@dataclass(frozen=True, slots=True)
class Lambda(Node):
    params: tuple[str, ...]
    body: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]
    column: int = 0  # where the name starts, for compile-time errors


BOOLEAN_NODES = (Logic, InOp, LikeOp)
