"""Topic administration: create what is missing, describe, delete.

Blocking calls (startup, tooling, tests); from async code use `asyncio.to_thread`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import confluent_kafka
from confluent_kafka import TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # the package has no __all__
    AdminClient,
    NewTopic,
    OffsetSpec,
)

from schemas.kafka.errors import KafkaTopicError
from schemas.kafka.settings import KafkaSettings, admin_config

__all__ = [
    "EnsureResult",
    "PartitionInfo",
    "TopicDescription",
    "TopicSpec",
    "delete_topics",
    "describe_topics",
    "ensure_topics",
]

log = logging.getLogger(__name__)
_E = confluent_kafka.KafkaError


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic as we want it. `config` holds topic-level settings (`cleanup.policy`, …)."""

    name: str
    partitions: int = 1
    replication_factor: int = 1
    config: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PartitionMismatch:
    """An existing topic whose partition count differs from its spec (never changed for you:
    adding partitions moves keys to other partitions and breaks per-key order)."""

    name: str
    wanted: int
    actual: int


@dataclass(frozen=True, slots=True)
class EnsureResult:
    """What `ensure_topics` did."""

    created: list[str]
    existing: list[str]
    mismatched: list[PartitionMismatch]


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """One partition; offsets are None unless asked for.

    On the dev broker the high watermark can trail the real end by the last batch (it reports
    the last batch's base offset + 1): treat `high` as approximate there.
    """

    partition: int
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True, slots=True)
class TopicDescription:
    """A topic's partitions as the cluster reports them."""

    name: str
    partitions: tuple[PartitionInfo, ...]


def _admin(settings: KafkaSettings) -> AdminClient:
    return AdminClient(admin_config(settings, logger=log))


def _existing(admin: AdminClient, timeout: float) -> dict[str, int]:
    try:
        md = admin.list_topics(timeout=timeout)
    except confluent_kafka.KafkaException as e:
        raise KafkaTopicError.from_kafka_error(e.args[0], "list topics") from e
    return {name: len(t.partitions) for name, t in md.topics.items() if t.error is None}


def topic_partitions(client: confluent_kafka.Consumer, topic: str, timeout: float = 10.0) -> list[int] | None:
    """The partitions of `topic` as `client`'s metadata shows them; None when the topic does not
    exist. Raises `KafkaTopicError` (a `KafkaClientError`) when the cluster does not answer."""
    try:
        info = client.list_topics(topic, timeout=timeout).topics.get(topic)
    except confluent_kafka.KafkaException as e:
        raise KafkaTopicError.from_kafka_error(e.args[0], f"describe topic {topic}") from e
    if info is None or info.error is not None:
        return None
    return sorted(info.partitions)


def ensure_topics(
    settings: KafkaSettings, specs: Iterable[TopicSpec], timeout: float = 10.0
) -> EnsureResult:
    """Create the topics in `specs` that do not exist; leave existing ones as they are.

    Idempotent and safe to race with another process (an "already exists" answer counts as
    existing). Returns once created topics show in metadata, so a produce right after finds
    them. Mismatched partition counts are logged and returned, not fixed. Raises
    `KafkaTopicError` when the cluster refuses or does not answer within `timeout`.
    """
    specs = list(specs)
    admin = _admin(settings)
    have = _existing(admin, timeout)
    missing = [s for s in specs if s.name not in have]
    created: list[str] = []
    existing = [s.name for s in specs if s.name in have]
    if missing:
        futures = admin.create_topics(
            [
                NewTopic(s.name, s.partitions, s.replication_factor, config=dict(s.config))
                for s in missing
            ],
            request_timeout=timeout,
            operation_timeout=timeout,
        )
        for name, fut in futures.items():
            try:
                fut.result(timeout)
                created.append(name)
            except confluent_kafka.KafkaException as e:
                err = e.args[0]
                if err.code() != _E.TOPIC_ALREADY_EXISTS:
                    raise KafkaTopicError.from_kafka_error(err, f"create topic {name}") from e
                existing.append(name)
        _wait_visible(admin, created, timeout)
        have = _existing(admin, timeout)
    mismatched = [
        PartitionMismatch(s.name, s.partitions, have[s.name])
        for s in specs
        if s.name in have and have[s.name] != s.partitions
    ]
    for m in mismatched:
        log.warning(
            "topic %s has %d partitions, spec asks for %d; left as is", m.name, m.actual, m.wanted
        )
    return EnsureResult(created=created, existing=existing, mismatched=mismatched)


def _wait_visible(admin: AdminClient, names: Sequence[str], timeout: float) -> None:
    # Apache Kafka acknowledges CreateTopics before every broker's metadata has the topic.
    deadline = time.monotonic() + timeout
    while names and not set(names) <= _existing(admin, timeout).keys():
        if time.monotonic() > deadline:
            raise KafkaTopicError(
                f"created topics not visible after {timeout} s: {names}", retriable=True
            )
        time.sleep(0.05)


def describe_topics(
    settings: KafkaSettings, names: Iterable[str], *, offsets: bool = False, timeout: float = 10.0
) -> dict[str, TopicDescription]:
    """Partitions of each existing topic in `names` (missing ones are left out).

    With `offsets`, also each partition's earliest and end offset (two ListOffsets calls).
    """
    admin = _admin(settings)
    try:
        md = admin.list_topics(timeout=timeout)
    except confluent_kafka.KafkaException as e:
        raise KafkaTopicError.from_kafka_error(e.args[0], "describe topics") from e
    found = {
        n: sorted(md.topics[n].partitions)
        for n in names
        if n in md.topics and md.topics[n].error is None
    }
    lows: dict[tuple[str, int], int] = {}
    highs: dict[tuple[str, int], int] = {}
    if offsets and found:
        tps = [TopicPartition(n, p) for n, parts in found.items() for p in parts]
        earliest, latest = OffsetSpec.earliest(), OffsetSpec.latest()  # type: ignore[no-untyped-call]
        lows = _list_offsets(admin, tps, earliest, timeout)
        highs = _list_offsets(admin, tps, latest, timeout)
    return {
        n: TopicDescription(
            n, tuple(PartitionInfo(p, lows.get((n, p)), highs.get((n, p))) for p in parts)
        )
        for n, parts in found.items()
    }


def _list_offsets(
    admin: AdminClient, tps: list[TopicPartition], spec: OffsetSpec, timeout: float
) -> dict[tuple[str, int], int]:
    futures = admin.list_offsets({tp: spec for tp in tps}, request_timeout=timeout)
    out: dict[tuple[str, int], int] = {}
    for tp, fut in futures.items():
        try:
            out[(tp.topic, tp.partition)] = fut.result(timeout).offset
        except confluent_kafka.KafkaException as e:
            raise KafkaTopicError.from_kafka_error(
                e.args[0], f"list offsets {tp.topic}[{tp.partition}]"
            ) from e
    return out


def delete_topics(
    settings: KafkaSettings, names: Iterable[str], timeout: float = 10.0
) -> list[str]:
    """Delete `names` (tests, tooling), skipping missing ones; returns those deleted."""
    names = list(names)
    if not names:
        return []
    admin = _admin(settings)  # keep a reference: a collected client fails its own futures
    futures = admin.delete_topics(names, request_timeout=timeout, operation_timeout=timeout)
    deleted: list[str] = []
    for name, fut in futures.items():
        try:
            fut.result(timeout)
            deleted.append(name)
        except confluent_kafka.KafkaException as e:
            if e.args[0].code() != _E.UNKNOWN_TOPIC_OR_PART:
                raise KafkaTopicError.from_kafka_error(e.args[0], f"delete topic {name}") from e
    return deleted
