"""Every table the worker keeps, declared in one place (state lives in their changelog topics)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from schemas.config import Pipeline


@dataclass(frozen=True, slots=True)
class Tables:
    """The worker's tables."""

    deliveries: Any  # event id → {"destinations": {destination id: status}}


def declare_tables(app: faust.App, pipeline: Pipeline) -> Tables:
    """Declare the tables on `app`; co-partitioned with the topics that feed them."""
    receipts_partitions = pipeline.spec.kafka.receipts_partitions or pipeline.partitions
    deliveries = app.Table(
        "deliveries", default=None, partitions=receipts_partitions,
        key_type=str, key_serializer="raw", value_serializer="json",
        help="delivery status per event and destination, folded from eis.receipts",
    )
    return Tables(deliveries=deliveries)
