"""Property tests (hypothesis) of the language's invariants."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.expressions import Context, compile_expression, compile_template

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(["a", "b", "c", "__class__", "x-y", "0", "type"])
steps = st.one_of(
    keys.map(lambda k: f".{k}" if k[0].isalpha() or k[0] == "_" else f"['{k}']"),
    st.integers(-3, 3).map(lambda i: f"[{i}]"),
    st.just("[*]"),
)


@settings(max_examples=300, deadline=None)
@given(path=st.lists(steps, min_size=1, max_size=6), payload=json_values)
def test_random_paths_never_raise(path: list[str], payload: Any) -> None:
    for root in ("$", "event", "data"):
        expr = compile_expression(root + "".join(path))
        expr.evaluate(Context(payload=payload, envelope={"type": "t"}))
        assert expr.matches(Context(payload=payload)) in (True, False)


def like_regex(pattern: str) -> re.Pattern[str]:
    """An independent translation of LIKE to a regex (backslash escapes % _ \\)."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_\\":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


like_text = st.text(alphabet="ab%_\\.", max_size=10)


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet="ab%_.\n", max_size=12), pattern=like_text)
def test_like_agrees_with_regex_translation(text: str, pattern: str) -> None:
    expected = like_regex(pattern).fullmatch(text) is not None
    ctx = Context(payload={"t": text, "p": pattern})
    assert compile_expression("$.t LIKE $.p").evaluate(ctx) is expected
    literal = pattern.replace("\\", "\\\\").replace("'", "\\'")
    assert compile_expression(f"$.t LIKE '{literal}'").evaluate(ctx) is expected


booleans_or_junk = st.one_of(st.booleans(), st.none(), st.integers(0, 2), st.text(max_size=2))


@given(a=booleans_or_junk, b=booleans_or_junk)
def test_and_is_not_or_of_nots(a: Any, b: Any) -> None:
    ctx = Context(payload={"a": a, "b": b})
    left = compile_expression("$.a AND $.b").evaluate(ctx)
    right = compile_expression("NOT (NOT $.a OR NOT $.b)").evaluate(ctx)
    assert left is right


@given(text=st.text(max_size=200).filter(lambda s: "{{" not in s and "${" not in s))
def test_template_without_placeholders_is_identity(text: str) -> None:
    template = compile_template(text)
    assert template.is_constant
    assert template.render(Context(payload={"x": 1})) == text


@settings(max_examples=200, deadline=None)
@given(a=json_values, b=json_values)
def test_equality_is_symmetric_and_ne_is_its_negation(a: Any, b: Any) -> None:
    ctx = Context(payload={"a": a, "b": b})
    eq = compile_expression("$.a == $.b").evaluate(ctx)
    assert eq is compile_expression("$.b == $.a").evaluate(ctx)
    assert compile_expression("$.a != $.b").evaluate(ctx) is (not eq)


source_chars = st.text(
    alphabet="$.@[]{}()*'\",|?:!=<>-+/%&ab_xy019 \nANDORNOTINLIKEtruenull=>", max_size=40
)


@settings(max_examples=1500, deadline=None)
@given(text=source_chars, payload=json_values)
def test_arbitrary_text_compiles_or_fails_with_syntax_error(text: str, payload: Any) -> None:
    from schemas.expressions import ExpressionError, ExpressionSyntaxError

    try:
        expr = compile_expression(text)
    except ExpressionSyntaxError as err:
        assert err.column >= 1
        return
    try:
        expr.evaluate(Context(payload=payload, variables={"a": 1}, steps={"b": 2}))
    except ExpressionError:
        pass
