"""The one error type of the body pipeline: a user-fixable problem with an HTTP status."""

from __future__ import annotations

import orjson

__all__ = ["BodyError", "shorten"]


class BodyError(Exception):
    """A request body the ingress refuses, with the status and stable code to answer.

    ``status`` is 400 (malformed), 413 (too large/too many) or 415 (unsupported media
    type, content encoding or charset). ``code`` is a stable machine string; ``detail`` is
    for humans and may change. Everything here is the sender's to fix: server faults are
    never a ``BodyError``.
    """

    __slots__ = ("status", "code", "detail")

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail

    def to_json(self) -> bytes:
        """The HTTP error body, ``{"code": …, "detail": …}`` (STYLE.md §6)."""
        return orjson.dumps({"code": self.code, "detail": self.detail})

    def __repr__(self) -> str:
        return f"BodyError({self.status}, {self.code!r}, {self.detail!r})"


def shorten(value: str, limit: int = 60) -> str:
    """Quote a sender-supplied value for a detail message, cut so errors stay small."""
    return repr(value if len(value) <= limit else value[:limit] + "…")
