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
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from . import like
from . import nodes as n
from . import runtime as rt
from .context import ENVELOPE_FIELDS
from .errors import ExpressionError, ExpressionSyntaxError
from .functions import lookup, suggest
from .limits import MAX_STRING_LENGTH, WORK_BUDGET
from .operators import OperatorsMixin, is_bool

_HELPERS: dict[str, Any] = {
    "__builtins__": {},
    "isinstance": isinstance,
    "type": type,
    "len": len,
    "dict": dict,
    "list": list,
    "str": str,
    "_NUM": rt.NUM,
    "_BUDGET": WORK_BUDGET,
    "_MAXSTR": MAX_STRING_LENGTH,
    "_eq": rt.eq,
    "_ne": rt.ne,
    "_lt": rt.lt,
    "_le": rt.le,
    "_gt": rt.gt,
    "_ge": rt.ge,
    "_add": rt.add,
    "_sub": rt.sub,
    "_mul": rt.mul,
    "_div": rt.div,
    "_mod": rt.mod,
    "_neg": rt.neg,
    "_in": rt.contains,
    "_index": rt.index,
    "_proj": rt.project,
    "_text": rt.to_text,
    "_tlong": rt.template_too_long,
    "_like": like.like,
    "_likeg": like.like_general,
    "_ExprErr": ExpressionError,
    "_Exc": Exception,
    "_located": rt.located,
    "_wrap": rt.wrap,
}


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
            or (
                isinstance(s, n.Index)
                and isinstance(s.expr, n.Literal)
                and type(s.expr.value) is int
            )
            for s in node.steps
        )
    return False


def _prefixes(node: n.Node) -> Iterator[n.Node]:
    """The node and its shorter root lookups, longest first (`event.x` keeps its first key)."""
    yield node
    if not isinstance(node, n.Path):
        return
    base = node.base
    least = (
        1
        if isinstance(base, n.Payload) or (isinstance(base, n.Name) and base.name == "event")
        else 0
    )
    for k in range(len(node.steps) - 1, least - 1, -1):
        yield n.Path(base, node.steps[:k]) if k else base


class Gen(OperatorsMixin):
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
        self.shared_payload = False
        self.hoisted: dict[n.Node, str] = {}
        self.hoist_lines: list[str] = []

    # Bookkeeping -----------------------------------------------------------------------------
    def tmp(self, prefix: str = "_t") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def bind(self, code: str) -> tuple[str, str]:
        """(expression that evaluates ``code`` once, name that holds its value afterwards)."""
        if code.isidentifier():
            return code, code
        t = self.tmp()
        return f"({t} := {code})", t

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
        """Find root lookups (and shared path prefixes) used more than once.

        They are computed once per evaluation: ``$.data.object.id`` and ``$.data.object.amount``
        share ``$.data.object``, as a hand-written function would share a local variable.
        A prefix is kept only where usages branch off it, not where one longer prefix always
        follows it.
        """
        counts: dict[n.Node, int] = {}
        names = 0
        longer: dict[n.Node, set[n.Node]] = {}
        stack = list(roots)
        while stack:
            node = stack.pop()
            if _hoistable(node):
                base = node.base if isinstance(node, n.Path) else node
                names += isinstance(base, n.Name) and base.name != "event"
                prev: n.Node | None = None
                for prefix in reversed(list(_prefixes(node))):
                    counts[prefix] = counts.get(prefix, 0) + 1
                    if prev is not None:
                        longer.setdefault(prev, set()).add(prefix)
                    prev = prefix
                if isinstance(node, n.Path):
                    continue
            stack.extend(_children(node))
        # With several bare names, test "no variables, no steps, dict payload" once up front.
        self.shared_payload = names >= 2
        for node, count in counts.items():
            if count >= 2 and all(counts[x] < count for x in longer.get(node, ())):
                self.repeated.add(node)

    def error(self, message: str, column: int) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(message, source=self.source, column=max(column, 1))

    # Expressions -----------------------------------------------------------------------------
    def truth(self, node: n.Node) -> str:
        if isinstance(node, n.Literal):
            return repr(node.value is True)
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
        full = (
            f"V[{k}] if V is not None and {k} in V else S[{k}] if S is not None and {k} in S "
            f"else P.get({k}) if isinstance(P, dict) else None"
        )
        if self.shared_payload:
            self.uses.add("D")
            return f"(_pd.get({k}) if _pd is not None else {full})"
        return f"({full})"

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
        if self.repeated and not self.scopes and not self.relative and _hoistable(node):
            for prefix in list(_prefixes(node))[1:]:
                if prefix in self.repeated and isinstance(prefix, n.Path):
                    return self.chain(self.expr(prefix), steps[len(prefix.steps) :])
        in_scope = isinstance(base, n.Name) and any(base.name in s for s in self.scopes)
        if (
            isinstance(base, n.Name)
            and base.name == "event"
            and not in_scope
            and not self.relative
            and steps
            and isinstance(steps[0], n.Key)
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
                v = code if code.isidentifier() else self.tmp("_e")
                saved = (self.current, self.relative)
                self.current, self.relative = v, True
                items = ", ".join(f"{self.lit(k)}: {self.expr(val)}" for k, val in step.pairs)
                self.current, self.relative = saved
                bound = v if v == code else f"({v} := {code})"
                code = f"(None if {bound} is None else {{{items}}})"
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
            elif (
                isinstance(step, n.Index)
                and isinstance(step.expr, n.Literal)
                and type(step.expr.value) is int
            ):
                i = step.expr.value
                size = f"len({holder}) > {i}" if i >= 0 else f"len({holder}) >= {-i}"
                conds.append(f"type({bind}) is list and {size}")
                code = f"{holder}[{self.lit(i)}]"
            else:
                assert isinstance(step, n.Index)
                conds.append(f"{bind} is not None")
                code = f"_index({holder}, {self.expr(step.expr)})"
        return f"({code} if {' and '.join(conds)} else None)"

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
                str(fs.min_args)
                if fs.min_args == fs.max_args
                else f"at least {fs.min_args}"
                if fs.max_args is None
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
        if "D" in self.uses:  # the common case of bare names: no variables/steps to consult
            lines.append(
                "        _pd = P if V is None and S is None and isinstance(P, dict) else None"
            )
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

    def build(
        self, sources: list[str], extra_globals: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Compile the function sources and return the namespace holding them."""
        namespace = {**_HELPERS, **self.consts, "_SRC": self.source, **(extra_globals or {})}
        text = "\n\n".join(sources)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SyntaxWarning)  # e.g. `'a' is None` after folding
                code = compile(text, "<expression>", "exec")
        except (SyntaxError, RecursionError, MemoryError, ValueError, OverflowError):
            # Python's own nesting limits; our MAX_NESTING normally stops this earlier.
            raise ExpressionSyntaxError(
                "expression is too complex to compile", source=self.source, column=1
            ) from None
        exec(code, namespace)  # noqa: S102 - code generated from our syntax tree only, see module doc
        return namespace
