"""Typed errors of the Kafka client wrappers; each says whether retrying may help."""

from __future__ import annotations

from typing import Any

import confluent_kafka

__all__ = [
    "KafkaClientError",
    "KafkaClosedError",
    "KafkaCommitError",
    "KafkaConfigError",
    "KafkaConsumeError",
    "KafkaDeliveryError",
    "KafkaTopicError",
    "is_retriable",
]

_E = confluent_kafka.KafkaError

# librdkafka's own `retriable()` is False for local timeouts and purges, but for our callers
# (ingress answering 503, a connector retrying a dead-letter produce) "the broker was away" is
# exactly the case where trying again later succeeds.
_RETRIABLE_CODES = frozenset(
    {
        _E._MSG_TIMED_OUT,
        _E._TIMED_OUT,
        _E._TRANSPORT,
        _E._ALL_BROKERS_DOWN,
        _E._QUEUE_FULL,
        _E._PURGE_QUEUE,
        _E._PURGE_INFLIGHT,
        _E.REQUEST_TIMED_OUT,
        _E.NOT_ENOUGH_REPLICAS,
        _E.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        _E.LEADER_NOT_AVAILABLE,
        _E.NOT_LEADER_FOR_PARTITION,
        _E.NETWORK_EXCEPTION,
        _E.REBALANCE_IN_PROGRESS,
        _E.COORDINATOR_LOAD_IN_PROGRESS,
        _E.COORDINATOR_NOT_AVAILABLE,
        _E.NOT_COORDINATOR,
    }
)


def is_retriable(err: confluent_kafka.KafkaError) -> bool:
    """Whether an operation that failed with `err` may succeed when tried again later."""
    if err.fatal():
        return False
    return bool(err.retriable()) or err.code() in _RETRIABLE_CODES


class KafkaClientError(Exception):
    """Base of every error raised by `schemas.kafka`.

    `retriable` tells the caller whether the same operation may succeed later (broker away,
    leader moving); `code` is librdkafka's error name (e.g. ``_MSG_TIMED_OUT``) when known.
    """

    retriable: bool = False

    def __init__(self, message: str, *, code: str | None = None, retriable: bool | None = None):
        super().__init__(message)
        self.code = code
        if retriable is not None:
            self.retriable = retriable

    @classmethod
    def from_kafka_error(cls, err: confluent_kafka.KafkaError, context: str, **kw: Any) -> Any:
        """Build the typed error from librdkafka's `KafkaError`, prefixing `context`."""
        return cls(f"{context}: {err.str()}", code=err.name(), retriable=is_retriable(err), **kw)


class KafkaConfigError(KafkaClientError):
    """A setting is invalid; `path` names the environment variable or field at fault."""

    def __init__(self, message: str, *, path: str):
        super().__init__(f"{path}: {message}", retriable=False)
        self.path = path


class KafkaDeliveryError(KafkaClientError):
    """A record was not acknowledged by the broker.

    After a timeout (``_MSG_TIMED_OUT``) the outcome is unknown: the broker may have written the
    record. Retrying is safe only because consumers deduplicate by event id.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retriable: bool | None = None,
        topic: str | None = None,
        partition: int | None = None,
    ):
        super().__init__(message, code=code, retriable=retriable)
        self.topic = topic
        self.partition = partition


class KafkaClosedError(KafkaClientError):
    """The client was used before `start()` or after `stop()`/`close()`."""


class KafkaConsumeError(KafkaClientError):
    """Fetching records failed in a way the consumer cannot skip (fatal or unknown topic)."""


class KafkaCommitError(KafkaClientError):
    """An offset commit failed; the records will be delivered again after a restart."""


class KafkaTopicError(KafkaClientError):
    """Creating, describing or deleting a topic failed."""
