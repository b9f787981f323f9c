"""Every expression of the spec's example configurations, evaluated on sample events."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.expressions import (
    Context,
    compile_expression,
    compile_mapping,
    compile_template,
    is_expression_string,
)
from schemas.expressions.expression import expression_text

from . import spec_cases as sc

CONDITION_ROWS = [
    pytest.param(src, ctx, want, id=f"{' '.join(src.split())[:60]}#{i}")
    for src, cases in sc.CONDITIONS
    for i, (ctx, want) in enumerate(cases)
]


@pytest.mark.parametrize(("source", "ctx", "expected"), CONDITION_ROWS)
def test_spec_condition(source: str, ctx: Context, expected: bool) -> None:
    assert compile_expression(source).matches(ctx) is expected


@pytest.mark.parametrize(
    ("name", "mapping", "ctx", "expected"), sc.MAPPINGS, ids=[m[0] for m in sc.MAPPINGS]
)
def test_spec_mapping(name: str, mapping: Any, ctx: Context, expected: Any) -> None:
    assert compile_mapping(mapping).apply(ctx) == expected


@pytest.mark.parametrize(("source", "ctx", "expected"), sc.VALUES, ids=[v[0] for v in sc.VALUES])
def test_spec_value_expression(source: str, ctx: Context, expected: Any) -> None:
    assert is_expression_string(source)
    assert compile_expression(expression_text(source)).evaluate(ctx) == expected
    assert compile_mapping({"v": source}).apply(ctx) == {"v": expected}


@pytest.mark.parametrize("text", sc.LITERALS)
def test_spec_literal_strings_stay_literal(text: str) -> None:
    assert not is_expression_string(text)
    assert compile_mapping({"v": text}).apply(Context(payload={})) == {"v": text}


@pytest.mark.parametrize(
    ("source", "ctx", "expected"),
    sc.TEMPLATES,
    ids=[t[0].split("\n")[0][:40] for t in sc.TEMPLATES],
)
def test_spec_template(source: str, ctx: Context, expected: str) -> None:
    assert compile_template(source).render(ctx) == expected


def test_spec_mapping_output_is_new_each_call() -> None:
    name, mapping, ctx, _ = sc.MAPPINGS[4]
    compiled = compile_mapping(mapping)
    first = compiled.apply(ctx)
    first["order"]["items"].append("x")
    assert compiled.apply(ctx)["order"]["items"] != first["order"]["items"]
