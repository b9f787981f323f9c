"""The EIS expression language: conditions, mappings, templates, keys and alert conditions.

Compile once (``compile_expression`` / ``compile_template`` / ``compile_mapping``), evaluate per
event with a ``Context``. Reference: docs/expressions.md.
"""

from __future__ import annotations

from .context import Context
from .errors import (
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionLimitError,
    ExpressionSyntaxError,
)
from .expression import Expression, compile_expression, is_expression_string
from .mapping import Mapping, compile_mapping
from .templates import Template, compile_template

CompiledMapping = Mapping

__all__ = [
    "Context",
    "Expression",
    "Template",
    "Mapping",
    "CompiledMapping",
    "compile_expression",
    "compile_template",
    "compile_mapping",
    "is_expression_string",
    "ExpressionError",
    "ExpressionSyntaxError",
    "ExpressionLimitError",
    "ExpressionEvaluationError",
]
