"""XML bodies to JSON-shaped dicts, with DTDs (hence entity bombs and XXE) refused outright."""

from __future__ import annotations

from typing import Any
from xml.parsers import expat

from .errors import BodyError
from .limits import BodyLimits
from .media import first_byte

__all__ = ["parse_xml"]

# Why not defusedxml: it sets these same expat handlers, but by default still allows DTDs
# without entities; webhooks never need a DTD, so refusing any DOCTYPE is both simpler and
# stricter, and costs no dependency. Without a DTD no entity can be declared, so neither
# "billion laughs" expansion nor external entities (XXE) can occur.


def _refuse_dtd(*_args: object) -> int:   # typed as expat's handlers are: it never returns
    raise BodyError(
        400, "invalid_xml", "XML with a DOCTYPE or entity declaration is not accepted"
    )


class _Builder:
    """expat callbacks that build xmltodict-style values on an explicit stack (no recursion).

    ``<a x="1"><b>t</b><b/></a>`` becomes ``{"a": {"@x": "1", "b": ["t", None]}}``: an
    element with only text is its text, an empty one is None, otherwise a dict with ``@attr``
    keys, child tags (a list when repeated) and ``#text``. XML names cannot start with
    ``@`` or ``#``, so these keys never clash with child tags.
    """

    __slots__ = ("stack", "root", "max_depth")

    def __init__(self, max_depth: int) -> None:
        # Each frame: [tag, node dict, text parts].
        self.stack: list[tuple[str, dict[str, Any], list[str]]] = []
        self.root: dict[str, Any] | None = None
        self.max_depth = max_depth

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if len(self.stack) >= self.max_depth:
            raise BodyError(
                400, "xml_too_deep", f"XML nests deeper than {self.max_depth} elements"
            )
        node = {"@" + k: v for k, v in attrs.items()} if attrs else {}
        self.stack.append((tag, node, []))

    def text(self, data: str) -> None:
        if self.stack:
            self.stack[-1][2].append(data)

    def end(self, _tag: str) -> None:
        tag, node, parts = self.stack.pop()
        text = "".join(parts).strip() if parts else ""
        value: Any
        if node:
            if text:
                node["#text"] = text
            value = node
        else:
            value = text or None
        if not self.stack:
            self.root = {tag: value}
            return
        siblings = self.stack[-1][1]
        if tag not in siblings:
            siblings[tag] = value
        elif isinstance(existing := siblings[tag], list):
            existing.append(value)  # values are never lists except from repetition
        else:
            siblings[tag] = [existing, value]


def parse_xml(data: bytes, charset: str | None, limits: BodyLimits) -> dict[str, Any]:
    """Parse an XML body into ``{root_tag: value}``; 400 ``invalid_xml`` on any fault.

    A declared charset overrides the document's own encoding declaration (RFC 7303 §3.2).
    """
    if first_byte(data) in (b"{", b"["):
        raise BodyError(
            400, "content_type_mismatch", "Content-Type declares XML but the body looks like JSON"
        )
    builder = _Builder(limits.max_json_depth)
    try:
        parser = expat.ParserCreate(encoding=charset)
    except (ValueError, LookupError):
        raise BodyError(400, "invalid_xml", "unusable charset for XML") from None
    parser.buffer_text = True  # one text callback per run, not per line
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.UnparsedEntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.text
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise BodyError(
            400,
            "invalid_xml",
            f"invalid XML at line {exc.lineno}, column {exc.offset}: "
            f"{expat.ErrorString(exc.code)}",
        ) from None
    except (ValueError, LookupError) as exc:  # e.g. an encoding expat cannot use
        raise BodyError(400, "invalid_xml", f"invalid XML: {exc}") from None
    if builder.root is None:  # unreachable for a well-formed document; be explicit
        raise BodyError(400, "invalid_xml", "invalid XML: no root element")
    return builder.root
