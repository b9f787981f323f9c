"""Compile syntax trees to Python source and then to functions: the evaluation hot path.

Only this module writes code, and only from the syntax tree: every user literal enters the
generated text through ``repr()`` of a Python str/int/float/bool/None (always a literal) or
as a named constant in the function's globals; names in the generated code are ours
(``P`` payload, ``E`` envelope, ``S`` steps, ``V`` variables, ``_t3`` temporaries, ``_l4``
lambda parameters). The globals hold only our helpers and ``__builtins__`` is empty, so no
input can reach attributes, builtins, imports or files.

Paths compile to one flat ``and`` chain of ``isinstance`` guards with walrus temporaries,
e.g. ``$.a.b`` → ``(_t1.get('b') if isinstance(P, dict) and isinstance(_t1 := P.get('a'),
dict) else None)``: as fast as a careful hand-written ``.get`` chain, and flat, so long paths
do not run into Python's nesting limits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

from . import like as like_mod
from . import nodes as n
from . import runtime as rt
from .context import ENVELOPE_FIELDS
from .errors import ExpressionError, ExpressionSyntaxError
from .functions import lookup, suggest
from .limits import MAX_STRING_LENGTH, WORK_BUDGET

_HELPERS: dict[str, Any] = {
    "__builtins__": {},
    "isinstance": isinstance, "type": type, "len": len, "dict": dict, "list": list, "str": str,
    "_NUM": rt.NUM, "_BUDGET": WORK_BUDGET, "_MAXSTR": MAX_STRING_LENGTH,
    "_eq": rt.eq, "_ne": rt.ne, "_lt": rt.lt, "_le": rt.le, "_gt": rt.gt, "_ge": rt.ge,
    "_add": rt.add, "_sub": rt.sub, "_mul": rt.mul, "_div": rt.div, "_mod": rt.mod,
    "_neg": rt.neg, "_in": rt.contains, "_index": rt.index, "_proj": rt.project,
    "_text": rt.to_text, "_tlong": rt.template_too_long,
    "_like": like_mod.like, "_likeg": like_mod.like_general,
    "_ExprErr": ExpressionError, "_Exc": Exception, "_located": rt.located, "_wrap": rt.wrap,
}
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


def _children(node: n.Node) -> Iterator[n.Node]:
    """Sub-expressions in the same scope (not lambda bodies or multiselect values)."""
    if isinstance(node, n.Path):
        yield node.base
        yield from (s.expr for s in node.steps if isinstance(s, n.Index))
    elif isinstance(node, n.Unary):
        yield node.operand
    elif isinstance(node, (n.Binary, n.InOp)):
        yield from (node.left, node.right)
    elif isinstance(node, n.LikeOp):
        yield from (node.left, node.pattern)
    elif isinstance(node, n.Logic):
        yield from node.operands
    elif isinstance(node, n.Ternary):
        yield from (node.cond, node.then, node.other)
    elif isinstance(node, n.Call):
        yield from (a for a in node.args if not isinstance(a, n.Lambda))
    elif isinstance(node, n.ListLit):
        yield from node.items
    elif isinstance(node, n.ObjectLit):
        yield from (v for _, v in node.pairs)


def _hoistable(node: n.Node) -> bool:
    # Pure, root-based lookups only: evaluating them early can neither fail nor be observed.
    if isinstance(node, n.Name):
        return True
    if isinstance(node, n.Path) and isinstance(node.base, (n.Name, n.Payload)):
        return all(
            isinstance(s, n.Key)
            or (isinstance(s, n.Index) and isinstance(s.expr, n.Literal) and type(s.expr.value) is int)
            for s in node.steps
        )
    return False


class Gen:
    """Generates the Python source of one or more functions sharing constants and hoists."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.consts: dict[str, Any] = {}
        self.counter = 0
        self.uses: set[str] = set()
        self.scopes: list[dict[str, str]] = []
        self.current: str | None = None
        self.relative = False
        self.repeated: set[n.Node] = set()
        self.hoisted: dict[n.Node, str] = {}
        self.hoist_lines: list[str] = []

    # Bookkeeping -----------------------------------------------------------------------------
    def tmp(self, prefix: str = "_t") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def const(self, value: Any, name: str | None = None) -> str:
        name = name or f"_k{len(self.consts)}"
        self.consts[name] = value
        return name

    def lit(self, v: Any) -> str:
        """A Python literal for a JSON scalar, or a named constant."""
        if v is None or type(v) is bool:
            return repr(v)
        if (type(v) is int and v.bit_length() < 64) or (type(v) is float and math.isfinite(v)):
            return f"({v!r})" if v < 0 else repr(v)
        if type(v) is str and len(v) <= 512:
            return repr(v)
        return self.const(v)

    def count_repeats(self, roots: list[n.Node]) -> None:
        """Find root lookups used more than once; they are computed once per evaluation."""
        seen: set[n.Node] = set()
        stack = list(roots)
        while stack:
            node = stack.pop()
            if _hoistable(node):
                if node in seen:
                    self.repeated.add(node)
                seen.add(node)
                if isinstance(node, n.Path):
                    continue
            stack.extend(_children(node))

    def error(self, message: str, column: int) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(message, source=self.source, column=max(column, 1))

    # Expressions -----------------------------------------------------------------------------
    def truth(self, node: n.Node) -> str:
        code = self.expr(node)
        return code if is_bool(node) else f"({code} is True)"

    def expr(self, node: n.Node) -> str:
        if not self.scopes and not self.relative and node in self.repeated:
            var = self.hoisted.get(node)
            if var is None:
                var = self.tmp("_h")
                self.hoist_lines.append(f"{var} = {self._expr(node)}")
                self.hoisted[node] = var
            return var
        return self._expr(node)

    def _expr(self, node: n.Node) -> str:
        method: Callable[[Any], str] = getattr(self, "x_" + type(node).__name__)
        return method(node)

    def x_Literal(self, node: n.Literal) -> str:
        return self.lit(node.value)

    def x_ListLit(self, node: n.ListLit) -> str:
        return "[" + ", ".join(self.expr(i) for i in node.items) + "]"

    def x_ObjectLit(self, node: n.ObjectLit) -> str:
        return "{" + ", ".join(f"{self.lit(k)}: {self.expr(v)}" for k, v in node.pairs) + "}"

    def x_Payload(self, node: n.Payload) -> str:
        self.uses.add("P")
        return "P"

    def x_Current(self, node: n.Current) -> str:
        if self.current is not None:
            return self.current
        self.uses.add("P")
        return "P"

    def x_Name(self, node: n.Name) -> str:
        for scope in reversed(self.scopes):
            if node.name in scope:
                return scope[node.name]
        k = self.lit(node.name)
        if self.relative and self.current is not None:
            cur = self.current
            return f"({cur}.get({k}) if isinstance({cur}, dict) else None)"
        self.uses.update("PSV")
        return (
            f"(V[{k}] if V is not None and {k} in V else S[{k}] if S is not None and {k} in S "
            f"else P.get({k}) if isinstance(P, dict) else None)"
        )

    def event(self, field: str) -> str:
        k = self.lit(field)
        self.uses.add("P")
        payload = f"(P.get({k}) if isinstance(P, dict) else None)"
        if field not in ENVELOPE_FIELDS:
            return payload
        self.uses.add("E")
        t = self.tmp()
        return f"({t} if E is not None and ({t} := E.get({k})) is not None else {payload[1:-1]})"

    def x_Path(self, node: n.Path) -> str:
        base, steps = node.base, node.steps
        in_scope = isinstance(base, n.Name) and any(base.name in s for s in self.scopes)
        if (
            isinstance(base, n.Name) and base.name == "event" and not in_scope
            and not self.relative and steps and isinstance(steps[0], n.Key)
        ):
            return self.chain(self.event(steps[0].name), steps[1:])
        return self.chain(self.expr(base), steps)

    def chain(self, code: str, steps: tuple[n.Step, ...]) -> str:
        """Apply path steps; ``[*]`` and ``.{…}`` split the chain into nested functions."""
        start = 0
        for j, step in enumerate(steps):
            if isinstance(step, n.Project):
                code = self.simple(code, steps[start:j])
                self.uses.add("B")
                rest = steps[j + 1 :]
                if not rest:
                    return f"_proj(_B, {code}, None)"
                v = self.tmp("_e")
                return f"_proj(_B, {code}, lambda {v}: {self.chain(v, rest)})"
            if isinstance(step, n.MultiHash):
                code = self.simple(code, steps[start:j])
                v = self.tmp("_e")
                saved = (self.current, self.relative)
                self.current, self.relative = v, True
                items = ", ".join(f"{self.lit(k)}: {self.expr(val)}" for k, val in step.pairs)
                self.current, self.relative = saved
                code = f"(None if ({v} := {code}) is None else {{{items}}})"
                start = j + 1
        return self.simple(code, steps[start:])

    def simple(self, code: str, steps: tuple[n.Step, ...]) -> str:
        """Key / index steps as one flat guarded chain."""
        if not steps:
            return code
        t = self.tmp()
        conds: list[str] = []
        for step in steps:
            holder = code if code.isidentifier() else t
            bind = code if code.isidentifier() else f"({t} := {code})"
            if isinstance(step, n.Key):
                conds.append(f"isinstance({bind}, dict)")
                code = f"{holder}.get({self.lit(step.name)})"
            elif isinstance(step, n.Index) and isinstance(step.expr, n.Literal) and type(
                step.expr.value
            ) is int:
                i = step.expr.value
                size = f"len({holder}) > {i}" if i >= 0 else f"len({holder}) >= {-i}"
                conds.append(f"type({bind}) is list and {size}")
                code = f"{holder}[{self.lit(i)}]"
            else:
                assert isinstance(step, n.Index)
                conds.append(f"{bind} is not None")
                code = f"_index({holder}, {self.expr(step.expr)})"
        return f"({code} if {' and '.join(conds)} else None)"

    # Operators -------------------------------------------------------------------------------
    def x_Unary(self, node: n.Unary) -> str:
        if node.op == "not":
            code = self.expr(node.operand)
            return f"(not {code})" if is_bool(node.operand) else f"({code} is not True)"
        t = self.tmp()
        return f"(-{t} if type({t} := {self.expr(node.operand)}) in _NUM else None)"

    def x_Logic(self, node: n.Logic) -> str:
        return "(" + f" {node.op} ".join(self.truth(o) for o in node.operands) + ")"

    def x_Ternary(self, node: n.Ternary) -> str:
        return f"({self.expr(node.then)} if {self.truth(node.cond)} else {self.expr(node.other)})"

    def x_Binary(self, node: n.Binary) -> str:
        op, left, right = node.op, node.left, node.right
        if op == "??":
            t = self.tmp()
            return f"({t} if ({t} := {self.expr(left)}) is not None else {self.expr(right)})"
        if op in ("==", "!="):
            return self.equality(op == "!=", left, right)
        if op in _ORDER:
            return self.ordering(op, left, right)
        return self.arithmetic(op, left, right)

    def equality(self, negate: bool, left: n.Node, right: n.Node) -> str:
        if isinstance(left, n.Literal) and not isinstance(right, n.Literal):
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
            t, v = self.tmp(), right.value
            kind = "in _NUM" if type(v) in rt.NUM else "is str"
            return f"(type({t} := {self.expr(left)}) {kind} and {t} {op} {self.lit(v)})"
        return f"{_ORDER[op]}({self.expr(left)}, {self.expr(right)})"

    def arithmetic(self, op: str, left: n.Node, right: n.Node) -> str:
        lit_right = isinstance(right, n.Literal) and type(right.value) in rt.NUM
        # Inline only outside lambdas: repeated in a loop, even `x * 2` could grow without bound.
        if lit_right and not self.scopes and not isinstance(left, n.Literal):
            v = right.value
            if op in "/%" and v == 0:
                return "None"
            t = self.tmp()
            return f"({t} {op} {self.lit(v)} if type({t} := {self.expr(left)}) in _NUM else None)"
        helper = _ARITH[op]
        if op == "+":
            self.uses.add("B")
            return f"_add(_B, {self.expr(left)}, {self.expr(right)})"
        return f"{helper}({self.expr(left)}, {self.expr(right)})"

    def x_InOp(self, node: n.InOp) -> str:
        right = node.right
        if (
            isinstance(right, n.ListLit) and right.items
            and all(isinstance(i, n.Literal) and type(i.value) is str for i in right.items)
        ):
            values = self.const(frozenset(i.value for i in right.items))  # type: ignore[attr-defined]
            t = self.tmp()
            code = f"(type({t} := {self.expr(node.left)}) is str and {t} in {values})"
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
        t = self.tmp()
        if plan.simple and not node.insensitive:
            parts = [self.lit(p) for p in plan.literal_parts()]
            raw = plan.literal_parts()
            is_str = f"type({t} := {x}) is str"
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

    # Calls -----------------------------------------------------------------------------------
    def x_Call(self, node: n.Call) -> str:
        fs = lookup(node.name)
        if fs is None:
            close = suggest(node.name)
            hint = f" (did you mean: {', '.join(close)}?)" if close else ""
            raise self.error(f"unknown function {node.name!r}{hint}", node.column)
        count = len(node.args)
        if count < fs.min_args or (fs.max_args is not None and count > fs.max_args):
            want = (
                str(fs.min_args) if fs.min_args == fs.max_args
                else f"at least {fs.min_args}" if fs.max_args is None
                else f"{fs.min_args} to {fs.max_args}"
            )
            raise self.error(f"{node.name}() takes {want} arguments, got {count}", node.column)
        lambdas = dict(fs.lambdas)
        args: list[str] = []
        for i, arg in enumerate(node.args):
            if i in lambdas:
                if not isinstance(arg, n.Lambda) or len(arg.params) != lambdas[i]:
                    shape = "x => …" if lambdas[i] == 1 else "(acc, x) => …"
                    raise self.error(
                        f"argument {i + 1} of {node.name}() must be a lambda {shape}", node.column
                    )
                args.append(self.lambda_(arg))
            elif isinstance(arg, n.Lambda):
                raise self.error(f"{node.name}() takes no lambda as argument {i + 1}", node.column)
            else:
                args.append(self.expr(arg))
        fname = self.const(fs.impl, f"_f_{node.name}")
        if fs.budget:
            self.uses.add("B")
            args.insert(0, "_B")
        return f"{fname}({', '.join(args)})"

    def lambda_(self, node: n.Lambda) -> str:
        names = {p: self.tmp("_l") for p in node.params}
        self.scopes.append(names)
        try:
            body = self.expr(node.body)
        finally:
            self.scopes.pop()
        return f"(lambda {', '.join(names.values())}: {body})"

    # Assembly --------------------------------------------------------------------------------
    def function(self, name: str, body: list[str], returns: str) -> str:
        """The source of ``def name(ctx)``, with root loads, hoists and the error handler."""
        lines = [f"def {name}(ctx):", "    try:"]
        loads = {"P": "ctx.payload", "E": "ctx.envelope", "S": "ctx.steps", "V": "ctx.variables"}
        lines += [f"        {k} = {v}" for k, v in loads.items() if k in self.uses]
        if "B" in self.uses:
            lines.append("        _B = [_BUDGET]")
        lines += [f"        {line}" for line in self.hoist_lines + body]
        lines.append(f"        return {returns}")
        lines += [
            "    except _ExprErr as _x:",
            "        raise _located(_x, _SRC) from None",
            "    except _Exc as _x:",
            "        raise _wrap(_x, _SRC) from _x",
        ]
        return "\n".join(lines)

    def build(self, sources: list[str], extra_globals: dict[str, Any] | None = None) -> dict[str, Any]:
        """Compile the function sources and return the namespace holding them."""
        namespace = {**_HELPERS, **self.consts, "_SRC": self.source, **(extra_globals or {})}
        text = "\n\n".join(sources)
        try:
            code = compile(text, "<expression>", "exec")
        except (SyntaxError, RecursionError, MemoryError, ValueError, OverflowError):
            # Python's own nesting limits; our MAX_NESTING normally stops this earlier.
            raise ExpressionSyntaxError(
                "expression is too complex to compile", source=self.source, column=1
            ) from None
        exec(code, namespace)  # noqa: S102 - code generated from our syntax tree only, see module doc
        return namespace
