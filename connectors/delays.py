"""Delay tiers for unordered destinations: a failed event is handed to a retry topic
(`eis.retry.<destination>.<tier>`) so its partition keeps flowing; the attempt count, the
first attempt's time and error, where it came from and when it is due travel in headers.

The runner consumes the tiers in the destination's own group: a tier lane waits until its
head record is due (records of one tier share a backoff ceiling, so they are due in about
the order they arrived), then attempts it like any event.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import Message

from schemas.kafka.consumer import record_headers

# Connector-internal headers: written and read only by connectors/ (stripped before an event is
# dead-lettered or delivered, so they never reach operators or receivers).
ATTEMPTS = "eis-retry-attempts"
FIRST_ATTEMPT_AT = "eis-retry-first-attempt-at"
FIRST_ERROR = "eis-retry-first-error"
NOT_BEFORE = "eis-retry-not-before"
ORIGIN = "eis-retry-origin"          # topic/partition/offset of the record on the destination topic
RETRY_HEADERS = frozenset({ATTEMPTS, FIRST_ATTEMPT_AT, FIRST_ERROR, NOT_BEFORE, ORIGIN})
MAX_ERROR_HEADER = 500


@dataclass(frozen=True, slots=True)
class RetryState:
    """What earlier attempts left on a record (all zero/None for a first delivery)."""

    attempts: int = 0
    first_attempt_at: int | None = None
    first_error: str | None = None
    not_before: int = 0
    origin: tuple[str, int, int] | None = None

    @classmethod
    def of(cls, message: Message) -> RetryState:
        """Read the retry headers of `message` (a record straight from the destination topic
        has none)."""
        found = {k: v.decode("utf-8", "replace") for k, v in record_headers(message) if k in RETRY_HEADERS and v}
        if not found:
            return cls()
        origin = None
        if ORIGIN in found:
            topic, partition, offset = found[ORIGIN].rsplit("/", 2)
            origin = (topic, int(partition), int(offset))
        first_at = found.get(FIRST_ATTEMPT_AT)
        return cls(int(found.get(ATTEMPTS, "0")), int(first_at) if first_at else None,
                   found.get(FIRST_ERROR), int(found.get(NOT_BEFORE, "0")), origin)

    def origin_of(self, message: Message) -> tuple[str, int, int]:
        """Where the event first arrived: the destination topic's record."""
        return self.origin or (message.topic() or "", message.partition() or 0, message.offset() or 0)


def original_headers(message: Message) -> list[tuple[str, bytes]]:
    """The record's headers without the connector-internal retry headers."""
    return [(k, v) for k, v in record_headers(message) if k not in RETRY_HEADERS]


def retry_headers(message: Message, state: RetryState, attempts: int, first_attempt_at: int,
                  first_error: str | None, not_before: int) -> list[tuple[str, bytes]]:
    """Headers of the hand-off record: the original ones plus the retry state."""
    topic, partition, offset = state.origin_of(message)
    headers = original_headers(message)
    headers += [
        (ATTEMPTS, str(attempts).encode()),
        (FIRST_ATTEMPT_AT, str(first_attempt_at).encode()),
        (NOT_BEFORE, str(not_before).encode()),
        (ORIGIN, f"{topic}/{partition}/{offset}".encode()),
    ]
    if first_error:
        headers.append((FIRST_ERROR, first_error[:MAX_ERROR_HEADER].encode()))
    return headers
