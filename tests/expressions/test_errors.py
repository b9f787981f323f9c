"""Syntax errors name the column and what was expected; compile-time checks of functions."""

from __future__ import annotations

import pytest

from schemas.expressions import (
    ExpressionError,
    ExpressionSyntaxError,
    compile_expression,
    compile_mapping,
    compile_template,
)


def syntax_error(source: str) -> ExpressionSyntaxError:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_expression(source)
    return info.value


def test_syntax_error_names_column_and_expected() -> None:
    err = syntax_error("lower($.a AND)")
    assert err.column == 14
    assert "')'" in (err.expected or []) or "name" in (err.expected or [])
    assert str(err).startswith("column 14: expected one of ")
    assert "got ')'" in str(err)


def test_syntax_error_unclosed_call_expects_paren_or_comma() -> None:
    err = syntax_error("concat($.a $.b)")
    assert err.column == 12
    assert {"')'", "','"} <= set(err.expected or [])
    assert "got '$'" in str(err)


def test_syntax_error_at_end_of_input() -> None:
    err = syntax_error("$.a ==")
    assert err.column == 7 and "end of input" in str(err)


def test_syntax_error_reports_line_in_multiline_source() -> None:
    err = syntax_error("event.type == 'push' AND\n  event.ref ==")
    assert err.line == 2 and str(err).startswith("line 2, column 15:")


def test_syntax_error_is_an_expression_error_with_source() -> None:
    err = syntax_error("(")
    assert isinstance(err, ExpressionError) and err.source == "("


def test_unterminated_string_is_named() -> None:
    assert "unterminated string" in str(syntax_error("$.a == 'abc"))


def test_unknown_function_is_a_compile_error_with_suggestions() -> None:
    err = syntax_error("$.a | lowr")
    assert "unknown function 'lowr'" in str(err) and "lower" in str(err)
    assert err.column == 7


def test_arity_is_checked_at_compile_time() -> None:
    assert "truncate() takes 2 to 3 arguments, got 1" in str(syntax_error("truncate($.a)"))
    assert "lower() takes 1 arguments, got 2" in str(syntax_error("lower($.a, 1)"))


def test_lambda_positions_are_checked_at_compile_time() -> None:
    assert "must be a lambda" in str(syntax_error("map($.a, 1)"))
    assert "takes no lambda" in str(syntax_error("lower(x => x)"))
    assert "must be a lambda (acc, x)" in str(syntax_error("reduce($.a, 0, x => x)"))


def test_empty_expression_is_a_syntax_error() -> None:
    assert "empty" in str(syntax_error("   "))


def test_mapping_error_carries_path() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_mapping({"alert": {"threshold": "$.data.celsius > ? 'high'"}})
    assert info.value.path == "alert.threshold"
    assert str(info.value).startswith("at alert.threshold: column 18:")


def test_mapping_error_path_in_lists() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_mapping({"fields": [{"t": "$.a"}, {"h": "nope("}]})
    assert info.value.path == "fields[1].h"


def test_template_error_column_is_in_the_template() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_template("Hello {{ $.a + }} !")
    assert info.value.column == 16
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_template("Hello {{ $.a ")
    assert "unterminated placeholder" in str(info.value) and info.value.column == 7


def test_error_str_format_matches_contract() -> None:
    err = ExpressionSyntaxError(
        "expected one of ')', ',' — got 'AND'",
        source="f(a AND",
        column=12,
        expected=["')'", "','"],
        path="x.y",
    )
    assert str(err) == "at x.y: column 12: expected one of ')', ',' — got 'AND'"
