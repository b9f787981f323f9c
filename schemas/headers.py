"""Kafka record header names, defined once (never spelled elsewhere)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

HeaderValue = bytes | str | None

CODEC = "eis-codec"                  # json | avro-v1; absent means JSON written by a direct producer
EVENT_ID = "eis-event-id"
ROUTE = "eis-route"
DESTINATION = "eis-destination"
IDEMPOTENCY_KEY = "eis-idempotency-key"
REDRIVE_COUNT = "eis-redrive-count"


def header_value(headers: Mapping[str, HeaderValue] | Iterable[tuple[str, HeaderValue]] | None,
                 name: str) -> str | None:
    """The first non-empty value of header `name`, as text; None when absent.

    One reader for every client's shape: Faust hands a dict or a list of pairs, librdkafka a
    list of pairs whose value may be None."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    for key, value in pairs:
        if key == name and value:
            return value.decode() if isinstance(value, bytes) else value
    return None
