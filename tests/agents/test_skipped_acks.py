"""A message Faust's stream skipped unprocessed is never committed (agents/faust_consumer.py).

Pinned against Faust internals on purpose, like test_fetch_wait_setting.py: the skip path
(flow control suspended by a shutdown or rebalance, or a stale generation) "acks" what no agent
processed; the commit after a SIGTERM then skipped those events for good."""

from __future__ import annotations

from typing import Any

from faust.types.tuples import ConsumerMessage


def delivered(app: Any, topic: str, offset: int, *, tracked: bool) -> ConsumerMessage:
    """A message as the conductor hands it to one stream; `tracked`: the stream accepted it."""
    message = ConsumerMessage(topic, 0, offset, 0.0, 0, None, b"k", b"v", None,
                              generation_id=app.consumer_generation_id)
    message.incref()
    message.tracked = tracked
    return message


def committable(app: Any, topic: str) -> list[int]:
    return [offset for tp, offsets in app.consumer._acked.items() if tp.topic == topic for offset in offsets]


def test_a_message_skipped_after_flow_control_suspended_is_not_committable(worker) -> None:
    app, topic = worker
    app.flow_control.suspend()                 # what a SIGTERM or a rebalance does first
    assert delivered(app, topic, 7, tracked=False).ack(app.consumer) is False
    assert committable(app, topic) == []


def test_a_message_of_a_stale_generation_skipped_is_not_committable(worker) -> None:
    app, topic = worker
    message = delivered(app, topic, 7, tracked=False)
    message.generation_id = app.consumer_generation_id - 1
    assert message.ack(app.consumer) is False
    assert committable(app, topic) == []


def test_a_processed_message_is_committable_even_while_flow_is_suspended(worker) -> None:
    # The router finishing its batch during a shutdown: that ack is what the final commit covers.
    app, topic = worker
    message = delivered(app, topic, 7, tracked=True)
    app.flow_control.suspend()
    assert message.ack(app.consumer) is True
    assert committable(app, topic) == [7]
