"""The destination-state contract: a destination a 410 Gone disabled, until an operator enables it.

Records live in the compacted `<prefix>.destination-state` topic (one partition, key =
destination id, value = JSON `{state, reason, event_id, status, at}`). Connectors write
`disabled` when a destination answers 410 and tail the topic to stop or resume delivering;
the admin API and `eis destinations enable` write `enabled`. Shared by ingress, connectors and
ops, so it lives here and imports none of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import orjson

from schemas.errors import DecodeError
from schemas.kafka.admin import TopicSpec

State = Literal["enabled", "disabled"]
STATES: tuple[State, ...] = ("enabled", "disabled")

# Reading "to the end": the dev broker's high watermark may trail the last batch (KAFKA-NOTES),
# so a reader writes this record and reads until it sees it. One key: compaction keeps one.
FENCE_KEY = b"__eis_fence__"

# Why an operator's `enable` record says it was written (the `reason` field).
ENABLED_BY_OPERATOR = "enabled by an operator"


def now_ms() -> int:
    """Wall-clock epoch milliseconds."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class DestinationState:
    """The latest state of one destination. `event_id` and `status` name the event and the
    answer that disabled it (None for an `enabled` record)."""

    state: State
    reason: str
    at: int
    event_id: str | None = None
    status: int | None = None

    @property
    def disabled(self) -> bool:
        """True while the connectors hold the destination's events."""
        return self.state == "disabled"

    @classmethod
    def gone(cls, event_id: str, status: int, error: str) -> DestinationState:
        """The record a connector writes when the destination answered `status` (410) to `event_id`."""
        return cls("disabled", error, now_ms(), event_id, status)

    @classmethod
    def enabled(cls, reason: str = ENABLED_BY_OPERATOR) -> DestinationState:
        """The record an operator's `enable` writes."""
        return cls("enabled", reason, now_ms())

    def encode(self) -> bytes:
        """JSON for the destination-state topic."""
        return orjson.dumps(self)

    @classmethod
    def decode(cls, value: bytes) -> DestinationState:
        """Decode a record value; DecodeError (saying what is wrong) for anything else."""
        try:
            record = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise DecodeError(f"not a destination-state record: {exc}") from exc
        if not isinstance(record, dict):
            raise DecodeError("not a destination-state record: expected a JSON object")
        state = record.get("state")
        if state not in STATES:
            raise DecodeError(f"destination-state record: state {state!r} is not one of {', '.join(STATES)}")
        at, status = record.get("at"), record.get("status")
        if not isinstance(at, int) or isinstance(at, bool):
            raise DecodeError("destination-state record: `at` must be epoch milliseconds (an integer)")
        if status is not None and (not isinstance(status, int) or isinstance(status, bool)):
            raise DecodeError("destination-state record: `status` must be an integer or null")
        reason, event_id = record.get("reason") or "", record.get("event_id")
        if not isinstance(reason, str) or (event_id is not None and not isinstance(event_id, str)):
            raise DecodeError("destination-state record: `reason` and `event_id` must be strings")
        return cls(state, reason, at, event_id, status)

    def describe(self, destination: str) -> dict[str, object]:
        """The state as the admin API shows it (camelCase, like the other admin answers)."""
        return {"destination": destination, "state": self.state, "reason": self.reason,
                "eventId": self.event_id, "status": self.status, "at": self.at}


# A destination without a record has never been disabled.
NEVER_DISABLED = DestinationState("enabled", "", 0)


def destination_state_topic(name: str, replication_factor: int) -> TopicSpec:
    """The topic's spec: one partition (every reader needs every record, in write order) and
    compacted (only each destination's latest state matters, so it is kept for ever)."""
    return TopicSpec(name, 1, replication_factor, {"cleanup.policy": "compact"})
