"""A ChaosSink that answers each event from its own script, attempt by attempt (the status matrix)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from email.utils import formatdate

from aiohttp import web

from tests.reliability.harness import ChaosSink

# Script steps besides plain status codes.
TIMEOUT = "timeout"        # answer only after `hang_s` (past the destination's timeout)
RESET = "reset"            # drop the connection without an answer
NOT_ANSWERED = 0           # how a timed-out or reset attempt is recorded (never a delivery)


@dataclass
class ScriptedSink(ChaosSink):
    """`plan[seq]` lists what attempt 1, 2, … of the event with that `seq` gets; the last step
    repeats. A step is a status, `(status, retry_after)` (seconds as int, or `"date+N"` for an
    HTTP date N seconds ahead), `TIMEOUT` or `RESET`. A 3xx carries `Location: /redirected`."""

    plan: dict[int, list[object]] = field(default_factory=dict)
    hang_s: float = 2.0
    attempts: dict[int, list[float]] = field(default_factory=dict)   # seq → monotonic arrival times

    async def _reply(self, request: web.Request, raw: bytes) -> web.Response:
        seq = self._body(raw).get("seq")
        if request.path == "/redirected" or not isinstance(seq, int):
            self.record(request, raw, 200)
            return web.json_response({"status": 200})
        times = self.attempts.setdefault(seq, [])
        times.append(time.monotonic())
        steps = self.plan.get(seq, [200])
        step = steps[min(len(times), len(steps)) - 1]
        if step == TIMEOUT:
            self.record(request, raw, NOT_ANSWERED)
            await asyncio.sleep(self.hang_s)
            return web.json_response({"status": "too late"})
        if step == RESET:
            self.record(request, raw, NOT_ANSWERED)
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        status, retry_after = step if isinstance(step, tuple) else (step, None)
        assert isinstance(status, int)
        self.record(request, raw, status)
        headers = {}
        if isinstance(retry_after, int):
            headers["Retry-After"] = str(retry_after)
        elif isinstance(retry_after, str):
            headers["Retry-After"] = formatdate(time.time() + int(retry_after.removeprefix("date+")), usegmt=True)
        if 300 <= status < 400:
            headers["Location"] = f"{self.url}/redirected"
        return web.json_response({"status": status}, status=status, headers=headers)
