"""Ingress settings from the environment (EIS_*)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ingress.body import BodyLimits


@dataclass(frozen=True, slots=True)
class IngressSettings:
    """Limits and neighbours of one ingress process."""

    limits: BodyLimits = field(default_factory=BodyLimits)
    worker_url: str = "http://127.0.0.1:6066"   # where delivery lookups are answered
    max_batch_events: int = 1000
    retry_after_s: int = 5                       # told to senders while Kafka is unreachable
    produce_timeout_s: float = 10.0

    @classmethod
    def from_env(cls) -> IngressSettings:
        """Read EIS_MAX_BODY_BYTES, EIS_MAX_DECODED_BYTES, EIS_WORKER_URL, …"""
        defaults = BodyLimits()
        return cls(
            limits=BodyLimits(
                max_body_bytes=int(os.environ.get("EIS_MAX_BODY_BYTES", defaults.max_body_bytes)),
                max_decoded_bytes=int(os.environ.get("EIS_MAX_DECODED_BYTES", defaults.max_decoded_bytes)),
            ),
            worker_url=os.environ.get("EIS_WORKER_URL", "http://127.0.0.1:6066"),
            max_batch_events=int(os.environ.get("EIS_MAX_BATCH_EVENTS", "1000")),
        )
