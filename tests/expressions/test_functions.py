"""Every function's documented example, plus the behaviours the examples do not show."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from schemas.expressions import Context, ExpressionEvaluationError, compile_expression
from schemas.expressions.functions import NO_RESULT, all_functions

DOCS = Path(__file__).resolve().parents[2] / "docs" / "expressions.md"
SPECS = list(all_functions().values())


def ev(source: str, payload: Any = None) -> Any:
    return compile_expression(source).evaluate(Context(payload=payload))


@pytest.mark.parametrize("fs", SPECS, ids=[f.name for f in SPECS])
def test_function_example(fs: Any) -> None:
    value = ev(fs.example)
    if fs.result is NO_RESULT:
        assert isinstance(value, str) and value
    else:
        assert value == fs.result and type(value) is type(fs.result)


@pytest.mark.parametrize("fs", SPECS, ids=[f.name for f in SPECS])
def test_function_is_documented(fs: Any) -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert f"| `{fs.name}` |" in text, f"{fs.name} missing from docs/expressions.md"


def test_functions_return_null_for_null_input() -> None:
    for name in ("lower", "upper", "trim", "length", "first", "keys", "to_date", "floor"):
        assert ev(f"{name}($.missing)", {}) is None, name


def test_pipe_form_equals_call_form() -> None:
    assert ev("$.s | truncate(3)", {"s": "abcdef"}) == ev("truncate($.s, 3)", {"s": "abcdef"})


def test_round_is_half_away_from_zero() -> None:
    assert ev("round(2.5)") == 3 and ev("round(-2.5)") == -3 and ev("round(1.005, 2)") == 1.01


def test_min_max_accept_list_or_arguments() -> None:
    assert ev("min(3, 1)") == 1 and ev("max([3, 'x', 7])") == 7 and ev("min([])") is None


def test_dates_accept_epoch_seconds_and_millis() -> None:
    assert ev("to_date(1700000000000)") == ev("to_date(1700000000)") == "2023-11-14T22:13:20Z"
    assert ev("to_epoch_millis('2023-11-14T22:13:20Z')") == 1700000000000
    assert ev("to_date('not a date')") is None
    assert ev("to_date('2024-03-01T10:00:00')") == "2024-03-01T10:00:00Z"


def test_now_and_uuid_shapes() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", ev("now()"))
    assert re.fullmatch(r"[0-9a-f-]{36}", ev("uuid()"))


def test_flatten_and_expand_objects_round_trip() -> None:
    obj = {"a": {"b": 1, "c": {"d": [1, 2]}}, "e": None}
    flat = ev("flatten($)", obj)
    assert flat == {"a.b": 1, "a.c.d": [1, 2], "e": None}
    assert ev("expand(flatten($))", obj) == obj


def test_sort_is_total_over_mixed_types() -> None:
    assert ev("sort([3, 'b', null, 1, 'a', true])") == [1, 3, "a", "b", None, True]


def test_unique_keeps_bool_and_numbers_apart() -> None:
    assert ev("unique([1, true, 1.0, 'x', {a: 1}, {a: 1}])") == [1, True, "x", {"a": 1}]


def test_regex_functions() -> None:
    assert ev("regex_extract('a-12-b', '(?P<n>\\\\d+)', 'n')") == "12"
    assert ev("regex_replace('john smith', '(\\\\w+) (\\\\w+)', '\\\\2 \\\\1')") == "smith john"
    assert ev("regex_match($.x, 'a')", {}) is False
    with pytest.raises(ExpressionEvaluationError, match="invalid regex"):
        ev("regex_match('a', '(')")


def test_format_placeholders() -> None:
    assert ev("format('{1}-{0} {{x}}', 'a', 'b')") == "b-a {x}"
    with pytest.raises(ExpressionEvaluationError):
        ev("format('{}{}', 1)")


def test_percentiles_for_metric_conditions() -> None:
    ctx = Context(payload=None, variables={"lat": [100, 200, 300, 400, 500]})
    assert compile_expression("p50(lat)").evaluate(ctx) == 300
    assert compile_expression("p95(lat) > 450").matches(ctx) is True
    assert compile_expression("p99([])").evaluate(ctx) is None


def test_format_date_in_time_zone() -> None:
    assert ev("format_date(0, '%H:%M %Z', 'America/New_York')") == "19:00 EST"


def test_coalesce_and_default() -> None:
    assert ev("coalesce($.a, $.b, 'z')", {"b": 0}) == 0
    assert ev("default($.a, 'd')", {}) == "d"
