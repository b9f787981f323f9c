"""The function registry: name → FunctionSpec, looked up when an expression is compiled.

Like faust's lazy stores map, the registry names the modules that define functions and imports
them on first use; each module lists its functions in a ``FUNCTIONS`` tuple (no registration
by import side effect).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["FunctionSpec", "spec", "lookup", "all_functions", "suggest", "NO_RESULT"]

_MODULES = (
    "schemas.expressions.functions.strings",
    "schemas.expressions.functions.numbers",
    "schemas.expressions.functions.conversion",
    "schemas.expressions.functions.dates",
    "schemas.expressions.functions.arrays",
    "schemas.expressions.functions.objects",
    "schemas.expressions.functions.misc",
)

NO_RESULT = object()  # an example whose result varies (now(), uuid()): tests check the type only


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One function of the language.

    ``lambdas`` maps argument positions that take a lambda to the lambda's parameter count;
    ``budget`` means the implementation takes the evaluation's work budget as first argument
    (its cost grows with its input). ``example`` and ``result`` are checked by the test suite
    and rendered into docs/expressions.md.
    """

    name: str
    impl: Callable[..., Any]
    min_args: int
    max_args: int | None
    doc: str
    example: str
    result: Any
    lambdas: tuple[tuple[int, int], ...] = ()
    budget: bool = False
    category: str = ""


def spec(
    name: str,
    impl: Callable[..., Any],
    args: tuple[int, int | None],
    doc: str,
    example: str,
    result: Any,
    *,
    lambdas: tuple[tuple[int, int], ...] = (),
    budget: bool = False,
) -> FunctionSpec:
    """Shorthand used by the function modules to declare a FunctionSpec."""
    return FunctionSpec(name, impl, args[0], args[1], doc, example, result, lambdas, budget)


@lru_cache(maxsize=1)
def all_functions() -> dict[str, FunctionSpec]:
    """Every function by name, in documentation order."""
    table: dict[str, FunctionSpec] = {}
    for module_name in _MODULES:
        module = importlib.import_module(module_name)
        category = module_name.rsplit(".", 1)[1]
        for fs in module.FUNCTIONS:
            if fs.name in table:
                raise RuntimeError(f"function {fs.name} defined twice")
            table[fs.name] = FunctionSpec(
                fs.name,
                fs.impl,
                fs.min_args,
                fs.max_args,
                fs.doc,
                fs.example,
                fs.result,
                fs.lambdas,
                fs.budget,
                category,
            )
    return table


def lookup(name: str) -> FunctionSpec | None:
    """The function called ``name`` (case-sensitive), or None."""
    return all_functions().get(name)


def suggest(name: str) -> list[str]:
    """Close names for an unknown function, for the error message."""
    return difflib.get_close_matches(name, list(all_functions()), n=3, cutoff=0.6)
