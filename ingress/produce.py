"""Write envelopes to their source topic and wait for the broker's acknowledgement."""

from __future__ import annotations

from collections.abc import Sequence

from schemas import headers as h
from schemas.envelope import CODEC_AVRO, CODEC_JSON, Envelope, encode
from schemas.kafka.errors import KafkaClientError
from schemas.kafka.producer import AsyncProducer, ProducerRecord


class NotAcknowledged(Exception):
    """Kafka did not acknowledge every record; the sender must retry."""


async def produce_envelopes(producer: AsyncProducer, topic: str, envelopes: Sequence[Envelope],
                            encoding: str) -> None:
    """Produce all envelopes (key = partition key) and return once all are acknowledged.

    Raises NotAcknowledged if any was not: a batch is answered as a whole, so a sender that
    retries may create duplicates of the records that did land, each with its own event id.
    """
    codec = CODEC_AVRO if encoding == "avro" else CODEC_JSON
    records = [
        ProducerRecord(topic, encode(e, codec), e.partition_key.encode(),
                       [(h.CODEC, codec.encode()), (h.EVENT_ID, e.id.encode())])
        for e in envelopes
    ]
    try:
        outcomes = await producer.produce_many(records)
    except KafkaClientError as exc:
        raise NotAcknowledged(str(exc)) from exc
    failures = [o for o in outcomes if isinstance(o, Exception)]
    if failures:
        raise NotAcknowledged(str(failures[0]))
