"""Errors raised by the expression language: syntax, limit and evaluation errors."""

from __future__ import annotations

__all__ = [
    "ExpressionError",
    "ExpressionSyntaxError",
    "ExpressionLimitError",
    "ExpressionEvaluationError",
]


class ExpressionError(Exception):
    """Base class of every error the expression language raises.

    ``source`` is the expression (or template) text the error belongs to; it is filled in by
    the compiled function's error handler when a runtime helper raised without knowing it.
    ``path`` locates the error inside a mapping (``alert.threshold``) when there is one.
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.path: str | None = None  # set for errors located inside a mapping

    def __str__(self) -> str:
        return self.message


class ExpressionSyntaxError(ExpressionError):
    """The text is not a valid expression, template or mapping (raised by ``compile_*`` only).

    ``column`` and ``line`` are 1-based and point into ``source``; ``expected`` lists what the
    parser would have accepted there (display forms such as ``')'`` or ``name``); ``path`` is the
    location inside a mapping (``alert.threshold``) when the error comes from ``compile_mapping``.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str,
        column: int,
        expected: list[str] | None = None,
        path: str | None = None,
        line: int = 1,
    ) -> None:
        super().__init__(message, source=source)
        self.column = column
        self.line = line
        self.expected = expected
        self.path = path

    def __str__(self) -> str:
        where = (
            f"column {self.column}" if self.line == 1 else f"line {self.line}, column {self.column}"
        )
        prefix = f"at {self.path}: " if self.path else ""
        return f"{prefix}{where}: {self.message}"

    def at_path(self, path: str) -> ExpressionSyntaxError:
        """Return a copy of this error located at ``path`` inside a mapping."""
        return ExpressionSyntaxError(
            self.message,
            source=self.source or "",
            column=self.column,
            expected=self.expected,
            path=path,
            line=self.line,
        )


class ExpressionLimitError(ExpressionError):
    """A safety limit was exceeded (string or list size, work budget, regex input, nesting)."""


class ExpressionEvaluationError(ExpressionError):
    """Evaluation failed for a reason other than a limit (bad argument to a function, …)."""
