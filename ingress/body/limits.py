"""Size and shape limits for request bodies, one frozen record per endpoint."""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["BodyLimits"]


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """How much of a request body the ingress accepts, and how deep/wide it may be.

    Every limit turns into a :class:`~ingress.body.errors.BodyError` when passed; none is
    advisory. Memory use while reading and decoding stays within about twice
    ``max_decoded_bytes`` (decompressed chunks, then one join).
    """

    #: Bytes on the wire (before Content-Encoding decoding) -> 413 ``body_too_large``.
    max_body_bytes: int = 1 * 1024 * 1024
    #: Bytes after gzip/deflate/br decoding -> 413 ``decoded_body_too_large``.
    max_decoded_bytes: int = 10 * 1024 * 1024
    #: Nesting of JSON arrays/objects (and XML elements) -> 400 ``json_too_deep``/``xml_too_deep``.
    #: orjson refuses anything past 1024 on its own, so values above that have no effect.
    max_json_depth: int = 64
    #: Fields in an application/x-www-form-urlencoded body -> 413 ``too_many_form_fields``.
    max_form_fields: int = 1000
    #: Parts in a multipart/form-data body -> 413 ``too_many_multipart_parts``.
    max_multipart_parts: int = 100

    def __post_init__(self) -> None:
        # A zero or negative limit would refuse everything (or nothing, for depth 0 with
        # orjson's own cap): a config mistake, so fail at startup, not per request.
        for f in fields(self):
            if getattr(self, f.name) < 1:
                raise ValueError(f"BodyLimits.{f.name} must be >= 1")
