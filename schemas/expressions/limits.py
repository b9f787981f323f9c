"""Safety limits of the expression language, and the small checks that enforce them.

Tenants submit expressions the operator did not write, so every source of unbounded work or
memory has a cap here. The numbers are deliberately generous for real routing/transform use.
"""

from __future__ import annotations

from typing import Any

from .errors import ExpressionLimitError

MAX_SOURCE_LENGTH = 64 * 1024  # characters of expression / template source
MAX_NESTING = 100  # brackets in the source, and depth of the syntax tree
MAX_STRING_LENGTH = 1024 * 1024  # characters of any string an expression produces
MAX_LIST_LENGTH = 100_000  # elements of any list an expression produces
MAX_INT_BITS = 4096  # integers produced by arithmetic (2**4096 is plenty)
WORK_BUDGET = 20_000_000  # work units (elements / characters) per evaluation
MAX_REGEX_LENGTH = 1000  # characters of a regular expression pattern
# Python's backtracking `re` is only used when google-re2 is not installed; even with the
# nested-quantifier guard, patterns like \w+\s+\w+x are quadratic, so its input is kept short.
MAX_REGEX_INPUT_BACKTRACKING = 4096
MAX_REGEX_INPUT_RE2 = MAX_STRING_LENGTH
MAX_MAPPING_DEPTH = 50  # nesting of dicts/lists in a mapping


def check_str(value: str) -> str:
    """Return ``value`` or raise when it is longer than MAX_STRING_LENGTH."""
    if len(value) > MAX_STRING_LENGTH:
        raise ExpressionLimitError(
            f"string result of {len(value)} characters exceeds the limit of {MAX_STRING_LENGTH}"
        )
    return value


def check_list(value: list[Any]) -> list[Any]:
    """Return ``value`` or raise when it has more than MAX_LIST_LENGTH elements."""
    if len(value) > MAX_LIST_LENGTH:
        raise ExpressionLimitError(
            f"list result of {len(value)} elements exceeds the limit of {MAX_LIST_LENGTH}"
        )
    return value


def check_int(value: int) -> int:
    """Return ``value`` or raise when it has more than MAX_INT_BITS bits."""
    if value.bit_length() > MAX_INT_BITS:
        raise ExpressionLimitError(f"integer result exceeds {MAX_INT_BITS} bits")
    return value


def new_budget() -> list[int]:
    """A fresh work budget for one evaluation (a one-element list so helpers can decrement it)."""
    return [WORK_BUDGET]


def charge(budget: list[int], units: int) -> None:
    """Spend ``units`` of the evaluation's work budget; raise when it is exhausted."""
    budget[0] -= units
    if budget[0] < 0:
        raise ExpressionLimitError(f"evaluation exceeded its work budget of {WORK_BUDGET} units")
