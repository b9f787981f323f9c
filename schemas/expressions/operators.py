"""Code generation for operators (mixed into codegen.Gen): comparisons, arithmetic, logic.

Comparisons with a literal compile to plain Python operators where Python's own semantics
already match ours (``x == 'push'`` is type-strict for strings), and to type-guarded inline
code or a runtime helper otherwise (bool is not a number, mismatched types compare false).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import like as like_mod
from . import nodes as n
from . import runtime as rt
from .limits import WORK_BUDGET

_ORDER = {"<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ARITH = {"+": "_add", "-": "_sub", "*": "_mul", "/": "_div", "%": "_mod"}
_COMPARE = {"==", "!=", "<", "<=", ">", ">="}


def is_bool(node: n.Node) -> bool:
    """Whether the node always evaluates to a bool (so conditions need no ``is True``)."""
    if isinstance(node, n.Literal):
        return type(node.value) is bool
    if isinstance(node, n.Binary):
        return node.op in _COMPARE
    if isinstance(node, n.Unary):
        return node.op == "not"
    return isinstance(node, (n.Logic, n.InOp, n.LikeOp))


class OperatorsMixin:
    """Operator nodes; relies on Gen's ``expr``, ``truth``, ``bind``, ``lit`` and ``const``."""

    if TYPE_CHECKING:
        uses: set[str]
        scopes: list[dict[str, str]]

        def expr(self, node: n.Node) -> str: ...
        def truth(self, node: n.Node) -> str: ...
        def bind(self, code: str) -> tuple[str, str]: ...
        def lit(self, v: Any) -> str: ...
        def const(self, value: Any, name: str | None = None) -> str: ...

    def x_Unary(self, node: n.Unary) -> str:
        if node.op == "not":
            code = self.expr(node.operand)
            return f"(not {code})" if is_bool(node.operand) else f"({code} is not True)"
        b, t = self.bind(self.expr(node.operand))
        return f"(-{t} if type({b}) in _NUM else None)"

    def x_Logic(self, node: n.Logic) -> str:
        return "(" + f" {node.op} ".join(self.truth(o) for o in node.operands) + ")"

    def x_Ternary(self, node: n.Ternary) -> str:
        return f"({self.expr(node.then)} if {self.truth(node.cond)} else {self.expr(node.other)})"

    def x_Binary(self, node: n.Binary) -> str:
        op, left, right = node.op, node.left, node.right
        if op == "??":
            b, t = self.bind(self.expr(left))
            return f"({t} if {b} is not None else {self.expr(right)})"
        if op in ("==", "!="):
            return self.equality(op == "!=", left, right)
        if op in _ORDER:
            return self.ordering(op, left, right)
        return self.arithmetic(op, left, right)

    def equality(self, negate: bool, left: n.Node, right: n.Node) -> str:
        if isinstance(left, n.Literal) and isinstance(right, n.Literal):
            return repr(rt.eq([WORK_BUDGET], left.value, right.value) is not negate)
        if isinstance(left, n.Literal):
            left, right = right, left
        if isinstance(right, n.Literal):
            v, x = right.value, self.expr(left)
            # Python's == is already type-strict for these literals (bool aside, handled by `is`).
            if v is None or type(v) is bool:
                return f"({x} is {'not ' if negate else ''}{v!r})"
            if type(v) is str or (type(v) in rt.NUM and v not in (0, 1)):
                return f"({x} {'!=' if negate else '=='} {self.lit(v)})"
        self.uses.add("B")
        helper = "_ne" if negate else "_eq"
        return f"{helper}(_B, {self.expr(left)}, {self.expr(right)})"

    def ordering(self, op: str, left: n.Node, right: n.Node) -> str:
        if isinstance(left, n.Literal) and not isinstance(right, n.Literal):
            left, right, op = right, left, _FLIP[op]
        if isinstance(right, n.Literal) and type(right.value) in (int, float, str):
            v = right.value
            b, t = self.bind(self.expr(left))
            kind = "in _NUM" if type(v) in rt.NUM else "is str"
            return f"(type({b}) {kind} and {t} {op} {self.lit(v)})"
        return f"{_ORDER[op]}({self.expr(left)}, {self.expr(right)})"

    def arithmetic(self, op: str, left: n.Node, right: n.Node) -> str:
        lit_right = isinstance(right, n.Literal) and type(right.value) in rt.NUM
        # Inline only outside lambdas: repeated in a loop, even `x * 2` could grow without bound.
        if lit_right and not self.scopes and not isinstance(left, n.Literal):
            assert isinstance(right, n.Literal)
            v = right.value
            if op in "/%" and v == 0:
                return "None"
            b, t = self.bind(self.expr(left))
            return f"({t} {op} {self.lit(v)} if type({b}) in _NUM else None)"
        helper = _ARITH[op]
        if op == "+":
            self.uses.add("B")
            return f"_add(_B, {self.expr(left)}, {self.expr(right)})"
        return f"{helper}({self.expr(left)}, {self.expr(right)})"

    def x_InOp(self, node: n.InOp) -> str:
        right = node.right
        if (
            isinstance(right, n.ListLit)
            and right.items
            and all(isinstance(i, n.Literal) and type(i.value) is str for i in right.items)
        ):
            strings = [i.value for i in right.items]  # type: ignore[attr-defined]
            if len(strings) <= 8 and all(len(x) <= 512 for x in strings):
                # A tuple of str constants: `in` compares with ==, which is type-strict for str.
                code = f"({self.expr(node.left)} in ({', '.join(map(repr, strings))},))"
            else:
                values = self.const(frozenset(strings))
                b, t = self.bind(self.expr(node.left))
                code = f"(type({b}) is str and {t} in {values})"
        else:
            self.uses.add("B")
            code = f"_in(_B, {self.expr(node.left)}, {self.expr(right)})"
        return f"(not {code})" if node.negate else code

    def x_LikeOp(self, node: n.LikeOp) -> str:
        code = self.like(node)
        return f"(not {code})" if node.negate else code

    def like(self, node: n.LikeOp) -> str:
        x = self.expr(node.left)
        if not (isinstance(node.pattern, n.Literal) and type(node.pattern.value) is str):
            self.uses.add("B")
            return f"_like(_B, {x}, {self.expr(node.pattern)}, {node.insensitive!r})"
        plan = like_mod.LikePattern(node.pattern.value, node.insensitive)
        if plan.simple and not node.insensitive:
            parts = [self.lit(p) for p in plan.literal_parts()]
            raw = plan.literal_parts()
            b, t = self.bind(x)
            is_str = f"type({b}) is str"
            if len(raw) == 1:
                return f"({x} == {parts[0]})"
            if len(raw) == 2:
                checks = [is_str]
                if raw[0] and raw[1]:
                    checks.append(f"len({t}) >= {len(raw[0]) + len(raw[1])}")
                if raw[0]:
                    checks.append(f"{t}.startswith({parts[0]})")
                if raw[1]:
                    checks.append(f"{t}.endswith({parts[1]})")
                return "(" + " and ".join(checks) + ")"
            if len(raw) == 3 and not raw[0] and not raw[2]:
                return f"({is_str} and {parts[1]} in {t})"
        self.uses.add("B")
        return f"_likeg(_B, {self.const(plan)}, {x})"
