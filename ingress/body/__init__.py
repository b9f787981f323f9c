"""Request-body pipeline of the ingress: bounded reading, content decoding, parsing.

Pure and hostile-input-proof: every limit in :class:`BodyLimits` holds before memory is
spent, and every sender-fixable problem is a :class:`BodyError` with a status and a stable
code. Handlers call :func:`read_parsed_body` and answer errors with :func:`error_response`.
"""

from __future__ import annotations

from .encodings import SUPPORTED_ENCODINGS, decode_content_encoding, decode_off_loop
from .errors import BodyError
from .limits import BodyLimits
from .parsing import parse_body
from .pipeline import SERVER_KWARGS, ParsedBody, error_response, read_parsed_body
from .reading import read_wire_body

__all__ = [
    "BodyError",
    "BodyLimits",
    "ParsedBody",
    "SERVER_KWARGS",
    "SUPPORTED_ENCODINGS",
    "decode_content_encoding",
    "decode_off_loop",
    "error_response",
    "parse_body",
    "read_parsed_body",
    "read_wire_body",
]
