"""One test per promise of docs/expressions.md: name resolution and value semantics."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.expressions import Context, compile_expression, compile_mapping, compile_template


def ev(source: str, payload: Any = None, **kw: Any) -> Any:
    return compile_expression(source).evaluate(Context(payload=payload, **kw))


def test_dollar_is_the_payload() -> None:
    assert ev("$", {"a": 1}) == {"a": 1}
    assert ev("$.a.b", {"a": {"b": 2}}) == 2


def test_event_field_prefers_envelope_then_payload() -> None:
    assert ev("event.type", {"type": "p"}, envelope={"type": "e"}) == "e"
    assert ev("event.type", {"type": "p"}, envelope={"type": None}) == "p"
    assert ev("event.type", {"type": "p"}) == "p"


def test_event_non_envelope_field_reads_payload() -> None:
    assert (
        ev("event.ref", {"ref": "refs/heads/main"}, envelope={"type": "push"}) == "refs/heads/main"
    )
    assert ev("event.repository.name", {"repository": {"name": "api"}}) == "api"


def test_bare_names_resolve_variables_then_steps_then_payload() -> None:
    assert ev("x", {"x": "payload"}, variables={"x": "var"}, steps={"x": "step"}) == "var"
    assert ev("x", {"x": "payload"}, steps={"x": "step"}) == "step"
    assert ev("x", {"x": "payload"}, variables={"y": 1}) == "payload"


def test_hyphenated_names_are_step_references() -> None:
    steps = {"fraud-check": {"response": {"score": 0.3}}}
    assert ev("fraud-check.response.score", {}, steps=steps) == 0.3


def test_subtraction_needs_spaces() -> None:
    assert ev("a - b", {"a": 5, "b": 2, "a-b": "key"}) == 3
    assert ev("a-b", {"a": 5, "b": 2, "a-b": "key"}) == "key"
    assert ev("$.headers.x-request-id", {"headers": {"x-request-id": "r1"}}) == "r1"


def test_missing_path_is_null() -> None:
    assert ev("$.a.b.c", {}) is None
    assert ev("$.a.b.c", {"a": 1}) is None
    assert ev("$.a[3]", {"a": [1]}) is None
    assert ev("$.a[0]", {"a": "string"}) is None
    assert ev("nothing.here", None) is None


def test_indexes_wildcards_and_quoted_keys() -> None:
    data = {"items": [{"sku": "a"}, {"sku": "b"}, {"x": 1}], "odd key": 7}
    assert ev("$.items[0].sku", data) == "a"
    assert ev("$.items[-1]", data) == {"x": 1}
    assert ev("$.items[*].sku", data) == ["a", "b"]
    assert ev("$['odd key']", data) == 7
    assert ev("$.items[$.i].sku", {**data, "i": 1}) == "b"


def test_pipe_ends_a_projection() -> None:
    data = {"a": [{"b": [1, 2]}, {"b": [3]}]}
    assert ev("$.a[*].b[0]", data) == [1, 3]
    assert ev("$.a[*].b | [0]", data) == [1, 2]
    assert ev("($.a[*].b)[1]", data) == [3]


def test_pipe_calls_function_with_value_first() -> None:
    assert ev("$.ref | split('/') | .[-1]", {"ref": "refs/heads/main"}) == "main"
    assert ev("$.name | upper", {"name": "ann"}) == "ANN"


def test_mismatched_comparisons_are_false() -> None:
    assert ev("'5' > 3") is False
    assert ev("$.x > 1", {"x": None}) is False
    assert ev("$.x == '1'", {"x": 1}) is False
    assert ev("$.x != '1'", {"x": 1}) is True


def test_int_float_numeric_equality() -> None:
    assert ev("$.x == 1.0", {"x": 1}) is True
    assert ev("$.x == $.y", {"x": 2, "y": 2.0}) is True


def test_bool_is_not_a_number() -> None:
    assert ev("$.x == 1", {"x": True}) is False
    assert ev("$.x > 0", {"x": True}) is False
    assert ev("$.x + 1", {"x": True}) is None
    assert ev("$.x == $.y", {"x": [1], "y": [True]}) is False


def test_arithmetic_on_non_numbers_is_null() -> None:
    assert ev("$.a * 2", {"a": "x"}) is None
    assert ev("$.a - $.b", {"a": 1, "b": None}) is None


def test_plus_concatenates_strings() -> None:
    assert ev("$.a + '-' + $.b", {"a": "x", "b": "y"}) == "x-y"
    assert ev("$.a + 1", {"a": "x"}) is None


def test_division_by_zero_is_null() -> None:
    assert ev("$.a / 0", {"a": 1}) is None
    assert ev("$.a / $.b", {"a": 1, "b": 0}) is None
    assert ev("$.a % $.b", {"a": 1, "b": 0}) is None
    assert (
        ev(
            "eventsFailed / eventsIngested > 0.05",
            variables={"eventsFailed": 1, "eventsIngested": 0},
        )
        is False
    )


def test_logic_operands_are_strict_booleans() -> None:
    assert ev("$.a AND true", {"a": 1}) is False
    assert ev("$.a OR true", {"a": 1}) is True
    assert ev("NOT $.a", {"a": "yes"}) is True
    assert ev("$.a ? 'y' : 'n'", {"a": 1}) == "n"


def test_keywords_are_case_insensitive_and_have_symbols() -> None:
    assert ev("true and not false or false") is True
    assert ev("true && !false || false") is True
    assert ev("TRUE AND NOT FALSE") is True


def test_in_and_not_in() -> None:
    assert ev("$.t IN ['a', 'b']", {"t": "a"}) is True
    assert ev("$.t NOT IN ['a', 'b']", {"t": "c"}) is True
    assert ev("1 IN [1.0, 2]") is True
    assert ev("true IN [1]") is False
    assert ev("'ell' IN 'hello'") is True
    assert ev("'k' IN {k: 1}") is True
    assert ev("$.t IN ['a']", {"t": ["a"]}) is False


def test_like_is_sql_like() -> None:
    assert ev("'payment.succeeded' LIKE '%succeeded'") is True
    assert ev("'abc' LIKE 'a_c'") is True
    assert ev("'abc' LIKE 'A%'") is False
    assert ev("'abc' ILIKE 'A%'") is True
    assert ev("'abc' NOT LIKE 'x%'") is True
    assert ev("'50%' LIKE '50\\%'") is True
    assert ev("$.x LIKE '%'", {"x": 5}) is False


def test_coalesce_operator() -> None:
    assert ev("$.a ?? 'd'", {}) == "d"
    assert ev("$.a ?? 'd'", {"a": 0}) == 0
    assert ev("$.a ?? 0 > 5", {"a": 9}) is True


def test_literals() -> None:
    assert ev("[1, 'two', 3.5e1, true, null]") == [1, "two", 35.0, True, None]
    assert ev("{a: 1, 'b c': [2]}") == {"a": 1, "b c": [2]}
    assert ev("'it\\'s' + \"\\n\"") == "it's\n"
    assert ev("-(1 + 2) * 3 % 4") == 3  # % takes the sign of the divisor


def test_lambdas_map_filter_reduce() -> None:
    data = {"items": [{"price": 2}, {"price": 5}]}
    assert ev("map($.items, x => x.price * 2)", data) == [4, 10]
    assert ev("filter($.items, x => x.price > 3)", data) == [{"price": 5}]
    assert ev("reduce($.items, 0, (acc, x) => acc + x.price)", data) == 7


def test_lambda_parameter_shadows_names() -> None:
    assert ev("map([1, 2], x => x)", {"x": "payload"}) == [1, 2]


def test_multiselect_values_are_relative_to_element() -> None:
    data = {"rows": [{"a": 1, "b": 2}], "a": "root"}
    assert ev("$.rows[*].{a: a, sum: a + b, root: $.a, me: @.b}", data) == [
        {"a": 1, "sum": 3, "root": "root", "me": 2}
    ]


def test_matches_is_true_only_for_true() -> None:
    assert compile_expression("$.a").matches(Context({"a": True})) is True
    assert compile_expression("$.a").matches(Context({"a": 1})) is False
    assert compile_expression("$.a").matches(Context({"a": "true"})) is False


def test_compiled_expression_exposes_source() -> None:
    assert compile_expression("$.a == 1").source == "$.a == 1"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("s", "s"),
        (10, "10"),
        (10.0, "10.0"),
        (99.99, "99.99"),
        (True, "true"),
        (False, "false"),
        ({"a": [1, None]}, '{"a":[1,null]}'),
    ],
)
def test_template_rendering_of_values(value: Any, text: str) -> None:
    assert compile_template("{{ $.v }}").render(Context({"v": value})) == text


def test_template_dollar_brace_and_escapes() -> None:
    t = compile_template("a ${x} \\{{x}} {{ {k: 'v}'}.k }}")
    assert t.render(Context({"x": 1})) == "a 1 {{x}} v}"
    assert not t.is_constant


def test_template_is_constant_without_placeholders() -> None:
    t = compile_template("plain text 100%")
    assert t.is_constant and t.render(Context(None)) == "plain text 100%"


def test_mapping_literal_rule() -> None:
    m = compile_mapping(
        {
            "env": "staging",
            "e": "=lower($.name)",
            "q": "'x'",
            "p": "($.n + 1)",
            "f": "upper($.name)",
            "n": 3,
            "b": False,
            "z": None,
            "l": ["$.n", "lit"],
            "sentence": "Hello (world)",
        }
    )
    assert m.apply(Context({"name": "Ann", "n": 1})) == {
        "env": "staging",
        "e": "ann",
        "q": "x",
        "p": 2,
        "f": "ANN",
        "n": 3,
        "b": False,
        "z": None,
        "l": [1, "lit"],
        "sentence": "Hello (world)",
    }


def test_mapping_runtime_error_names_the_field() -> None:
    from schemas.expressions import ExpressionEvaluationError

    m = compile_mapping({"a": {"b": "regex_match($.s, '(')"}, "ok": "$.s"})
    with pytest.raises(ExpressionEvaluationError) as info:
        m.apply(Context({"s": "x"}))
    assert info.value.path == "a.b"
