"""Resuming a running flow keeps the events queued for the streams (agents/flow_control.py).

Recovery resumes the flow a second time after it sought the stream partitions; Faust's flow
control cleared the stream queues then, dropping events no agent had seen."""

from __future__ import annotations

from typing import Any


def stream_queue(app: Any) -> Any:
    """The queue of a channel as a stream reads it (cleared on resume, as Faust's are)."""
    return app.channel().queue


async def test_resuming_a_running_flow_keeps_the_queued_events(worker) -> None:
    app, _ = worker                     # the fixture resumed the flow
    queue = stream_queue(app)
    queue.put_nowait("an event fetched after the seek")
    app.flow_control.resume()           # recovery's second resume
    assert queue.qsize() == 1


async def test_resuming_after_a_suspension_still_clears_the_stale_events(worker) -> None:
    app, _ = worker
    queue = stream_queue(app)
    queue.put_nowait("an event from before the rebalance")
    app.flow_control.suspend()
    app.flow_control.resume()
    assert queue.qsize() == 0
