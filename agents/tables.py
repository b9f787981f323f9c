"""Every table the worker keeps, declared in one place (state lives in their changelog topics)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from schemas.config import Pipeline


@dataclass(frozen=True, slots=True)
class Tables:
    """The worker's tables."""

    deliveries: Any  # event id (bytes) → orjson of {"destinations": {destination id: status}}


def declare_tables(app: faust.App, pipeline: Pipeline) -> Tables:
    """Declare the tables on `app`; co-partitioned with the topics that feed them."""
    receipts_partitions = pipeline.spec.kafka.receipts_partitions or pipeline.partitions
    deliveries = app.Table(
        "deliveries", default=None, partitions=receipts_partitions,
        # bytes both ways (the app's raw serializers): keys are event ids as the receipts topic
        # keys them, values orjson-encoded status — faster than Faust's json codec
        key_type=bytes, value_type=bytes,
        help="delivery status per event and destination, folded from eis.receipts",
    )
    return Tables(deliveries=deliveries)
