"""Hostile input: every case fails fast with a clear ExpressionError, never a crash."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from schemas.expressions import (
    Context,
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionLimitError,
    ExpressionSyntaxError,
    compile_expression,
    compile_mapping,
    compile_template,
)
from schemas.expressions.functions import regex


@contextmanager
def fast(seconds: float = 1.0) -> Iterator[None]:
    start = time.perf_counter()
    yield
    assert time.perf_counter() - start < seconds


def ev(source: str, payload: object = None) -> object:
    return compile_expression(source).evaluate(Context(payload=payload))


@pytest.mark.parametrize(
    "source",
    [
        "$.__class__",
        "$.__dict__",
        "event.__class__.__mro__",
        "$['__class__']",
        "$.__class__.__subclasses__",
        "__import__",
        "__builtins__",
        "$.a.__globals__",
    ],
)
def test_python_attributes_are_just_missing_keys(source: str) -> None:
    assert ev(source, {"a": {"b": 1}}) is None


def test_tuple_attribute_syntax_is_rejected() -> None:
    with pytest.raises(ExpressionSyntaxError):
        compile_expression("().__class__")


def test_unknown_functions_like_eval_do_not_exist() -> None:
    for name in ("eval", "exec", "open", "__import__", "getattr", "type"):
        with pytest.raises(ExpressionSyntaxError, match="unknown function"):
            compile_expression(f"{name}('1')")


def test_string_literal_is_never_code() -> None:
    src = "'\\'); import os; os.system(\\'x\\') #'"
    assert isinstance(ev(src), str)


def test_ten_thousand_nested_parentheses() -> None:
    with fast(), pytest.raises(ExpressionSyntaxError, match="nest deeper than 100"):
        compile_expression("(" * 10_000 + "1" + ")" * 10_000)


def test_deep_unary_chain_without_brackets() -> None:
    with fast(), pytest.raises(ExpressionSyntaxError, match="nests deeper"):
        compile_expression("- " * 5_000 + "$.a")
    with fast(), pytest.raises(ExpressionSyntaxError, match="nests deeper"):
        compile_expression("NOT " * 5_000 + "true")


def test_long_flat_chains_compile() -> None:
    src = " OR ".join(f"$.a == {i}" for i in range(2_000))
    assert compile_expression(src).matches(Context({"a": 1999})) is True
    assert ev("$" + ".a" * 3_000, {}) is None


def test_nesting_at_the_limit_compiles_and_runs() -> None:
    assert ev("(" * 99 + "1" + ")" * 99) == 1
    assert ev("abs(" * 95 + "-1" + ")" * 95) == 1


def test_ten_megabyte_string_literal() -> None:
    with fast(), pytest.raises(ExpressionSyntaxError, match="limit is 65536"):
        compile_expression("'" + "a" * 10_000_000 + "'")
    with fast(), pytest.raises(ExpressionSyntaxError, match="limit is 65536"):
        compile_template("x" * 10_000_000)


def test_catastrophic_regex_fails_fast() -> None:
    expr = compile_expression("regex_match($.s, '(a+)+$')")
    with fast(), pytest.raises(ExpressionEvaluationError, match="nested quantifiers"):
        expr.evaluate(Context({"s": "a" * 50_000 + "!"}))


def test_runtime_regex_pattern_is_guarded_too() -> None:
    expr = compile_expression("regex_match($.s, $.p)")
    with fast(), pytest.raises(ExpressionEvaluationError, match="alternation"):
        expr.evaluate(Context({"s": "a" * 5_000, "p": "^(a|aa)*$"}))


def test_regex_input_is_capped() -> None:
    expr = compile_expression("regex_match($.s, '\\\\w+\\\\s+\\\\w+x')")
    text = "a" * (regex.MAX_INPUT + 1)
    with fast(2.0), pytest.raises(ExpressionLimitError, match="regex input"):
        expr.evaluate(Context({"s": text}))


def test_hostile_like_pattern_is_linear() -> None:
    expr = compile_expression("$.s LIKE $.p")
    with fast():
        assert expr.evaluate(Context({"s": "a" * 200_000, "p": "%a%a%a%a%a%a%b"})) is False


def test_template_recursion_is_impossible() -> None:
    t = compile_template("Hello {{ $.name }}")
    out = t.render(Context({"name": "{{ $.secret }} ${ $.secret }"}))
    assert out == "Hello {{ $.secret }} ${ $.secret }"


def test_string_growth_is_capped() -> None:
    with fast(), pytest.raises(ExpressionLimitError):
        ev("reduce(range(100000), 'x', (acc, i) => acc + acc)")
    with fast(), pytest.raises(ExpressionLimitError):
        ev("pad('x', 100000000)")
    with fast(), pytest.raises(ExpressionLimitError):
        ev("replace($.s, 'a', $.s)", {"s": "a" * 10_000})


def test_list_growth_is_capped() -> None:
    with fast(), pytest.raises(ExpressionLimitError):
        ev("split($.s, ',')", {"s": "," * 200_000})
    with fast(), pytest.raises(ExpressionLimitError):
        ev("flatten(map(range(1000), i => range(1000)))")


def test_nested_loops_exhaust_the_work_budget() -> None:
    with fast(5.0), pytest.raises(ExpressionLimitError, match="work budget"):
        ev("map(range(100000), i => map(range(100000), j => i))")


def test_integer_growth_is_capped() -> None:
    with fast(), pytest.raises(ExpressionLimitError):
        ev("reduce(range(100), 2, (acc, i) => acc * acc)")


def test_huge_render_of_shared_structure_is_refused() -> None:
    with fast(), pytest.raises(ExpressionLimitError):
        ev("to_string(map(range(50000), i => $.big))", {"big": list(range(1000))})


def test_bad_time_zone_names_never_touch_files() -> None:
    for tz in ("../../etc/passwd", "/etc/localtime", "Nowhere/Land"):
        with pytest.raises(ExpressionEvaluationError):
            compile_expression("format_date(0, '%Y', $.tz)").evaluate(Context({"tz": tz}))


def test_format_has_no_attribute_access() -> None:
    with pytest.raises(ExpressionEvaluationError):
        ev("format('{0.__class__}', 1)")


def test_deeply_nested_mapping_is_rejected() -> None:
    obj: dict[str, object] = {}
    node = obj
    for _ in range(10_000):
        node["a"] = {}
        node = node["a"]  # type: ignore[assignment]
    with fast(), pytest.raises(ExpressionSyntaxError, match="mapping nests deeper"):
        compile_mapping(obj)


def test_deeply_nested_payload_equality_does_not_recurse() -> None:
    a: list[object] = []
    b: list[object] = []
    x, y = a, b
    for _ in range(50_000):
        x.append([])
        y.append([])
        x, y = x[0], y[0]  # type: ignore[assignment]
    assert compile_expression("$.a == $.b").evaluate(Context({"a": a, "b": b})) is True


def test_errors_carry_source() -> None:
    with pytest.raises(ExpressionError) as info:
        ev("regex_match('x', '(a+)+')")
    assert info.value.source == "regex_match('x', '(a+)+')"
