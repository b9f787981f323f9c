"""Kafka record header names, defined once (never spelled elsewhere)."""

from __future__ import annotations

CODEC = "eis-codec"                  # json | avro-v1; absent means JSON written by a direct producer
EVENT_ID = "eis-event-id"
ROUTE = "eis-route"
DESTINATION = "eis-destination"
IDEMPOTENCY_KEY = "eis-idempotency-key"
REDRIVE_COUNT = "eis-redrive-count"
