"""`python -m tests.reliability.attacker URL`: the attacker of the abuse scenario, in a process of
its own so that its work never delays the legitimate load generator (whose latencies the
scenario reports).

It sends chunked bodies far over the limit, gzip and brotli bombs, JSON nested 100,000 deep and
a 64 KiB header line to both body endpoints, ATTACKERS at a time, and holds a crowd of slow-loris
connections open (reconnecting each one the ingress hangs up on) until its standard input
closes; then it prints what it got as one JSON line: `{"answers": {"<kind> <endpoint>":
{"<answer>": count}}, "crowd": n, "cut_off": slots hung up on at least once}`. An answer is
`<status> <code>`, `closed` (hung up without an answer), `reset`, `held` (still open at the end)
or an exception's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import sys
from collections import Counter, defaultdict
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from tests.abuse_helpers import (
    GIB,
    MIB,
    EndlessBody,
    brotli_bomb,
    deep_json,
    gzip_bomb,
    request_head,
    status_of,
    trickle,
)

ENDPOINTS = ("/v1/events", "/webhooks/hooks")
SLOW_HEADS = 100            # connections trickling a request head that never completes
SLOW_BODIES = 25            # per endpoint: a complete head, then the body a byte at a time
ATTACKERS = 4               # hostile requests in flight at once
TRICKLE_EVERY_S = 0.5
SETTLE_S = 30.0


def payloads() -> dict[str, bytes]:
    """The bodies: 256 MiB of zeros as gzip is ~260 KiB on the wire (under the 1 MiB limit, so the
    decoded limit is what refuses it); 1 GiB as brotli is a few KiB."""
    return {"gzip_bomb": gzip_bomb(256 * MIB), "brotli_bomb": brotli_bomb(GIB), "deep_json": deep_json(100_000)}


@dataclass
class Attack:
    """What the attacker sent and got: per `kind endpoint`, a count of each answer."""

    url: str
    payloads: dict[str, bytes]
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    answers: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    cut_off: Counter[int] = field(default_factory=Counter)    # crowd slot → times the server hung up
    crowd_size: int = 0
    all_cut_off: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, kind: str, endpoint: str, answer: str) -> None:
        self.answers[f"{kind} {endpoint}"][answer] += 1

    async def send(self, session: aiohttp.ClientSession, kind: str, endpoint: str) -> None:
        """One hostile request through aiohttp; records `<status> <code>` or the error's kind."""
        headers = {"Content-Type": "application/json"}
        data: Any = self.payloads.get(kind)
        if kind == "chunked_over_limit":
            data = EndlessBody(total=64 * MIB)
        elif kind in ("gzip_bomb", "brotli_bomb"):
            headers["Content-Encoding"] = "gzip" if kind == "gzip_bomb" else "br"
        try:
            async with session.post(self.url + endpoint, data=data, headers=headers) as response:
                body = await response.read()
                code = orjson.loads(body).get("code", "") if body.startswith(b"{") else ""
                self.record(kind, endpoint, f"{response.status} {code}".strip())
        except aiohttp.ServerDisconnectedError:
            self.record(kind, endpoint, "closed")
        except aiohttp.ClientOSError as exc:
            # The server answered and closed while the body was still coming: an RST can overtake
            # the answer (see `reset` below).
            resets = (errno.ECONNRESET, errno.EPIPE)
            self.record(kind, endpoint, "reset" if exc.errno in resets else type(exc).__name__)
        except (aiohttp.ClientError, ConnectionError, TimeoutError) as exc:
            self.record(kind, endpoint, type(exc).__name__)

    async def send_raw(self, kind: str, endpoint: str, data: bytes) -> None:
        """One request as raw bytes (aiohttp would not send a 64 KiB header line as asked)."""
        answer = await self._exchange(data, trickled=False)
        self.record(kind, endpoint, answer)

    async def _exchange(self, data: bytes, trickled: bool, head: bytes = b"") -> str:
        """Send `head`, then `data` (a byte every TRICKLE_EVERY_S when `trickled`); the answer's
        status, `closed` when the server hung up without one, or `held` if the run ended first."""
        host, port = self.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        feeder = None
        try:
            writer.write(head if trickled else data)
            if trickled:
                feeder = asyncio.create_task(trickle(writer, data, TRICKLE_EVERY_S))
            read = asyncio.ensure_future(reader.read(65536))
            stopped = asyncio.ensure_future(self.stop.wait())
            await asyncio.wait([read, stopped], return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if not read.done():
                read.cancel()
                return "held"
            answer = read.result()
        except ConnectionResetError:
            # The server hung up while bytes were still coming (unread input makes the kernel send
            # an RST, and asyncio's reader raises it before handing over an answer it buffered).
            return "reset"
        except ConnectionError as exc:
            return type(exc).__name__
        finally:
            if feeder is not None:
                feeder.cancel()
            writer.close()
        status = status_of(answer)
        return "closed" if status is None else str(status)

    async def hostile_requests(self) -> None:
        """ATTACKERS senders cycling through every kind and endpoint until `stop`."""
        kinds = [(kind, endpoint) for kind in ("chunked_over_limit", "gzip_bomb", "brotli_bomb",
                                               "deep_json", "header_64k") for endpoint in ENDPOINTS]

        async def sender(offset: int) -> None:
            connector = aiohttp.TCPConnector(force_close=True)   # each request its own connection
            async with aiohttp.ClientSession(connector=connector,
                                             timeout=aiohttp.ClientTimeout(total=30)) as session:
                n = offset
                while not self.stop.is_set():
                    kind, endpoint = kinds[n % len(kinds)]
                    n += 1
                    if kind == "header_64k":
                        await self.send_raw(kind, endpoint, request_head(
                            endpoint, f"X-Big: {'a' * 64 * 1024}\r\n", b'{"type": "hostile"}'))
                    else:
                        await self.send(session, kind, endpoint)

        await asyncio.gather(*(sender(i) for i in range(ATTACKERS)))

    async def slow_loris(self, slot: int, kind: str, endpoint: str) -> None:
        """Hold one slow connection open for the whole run: reconnect each time it is cut off."""
        if kind == "slow_head":
            head, data = b"", f"POST {endpoint} HTTP/1.1\r\nHost: x\r\nX-Slow: {'a' * 4096}".encode()
        else:
            body = b'{"type": "hostile", "pad": "' + b"x" * 200 + b'"}'
            head, data = request_head(endpoint, "", body)[: -len(body)], body
        while not self.stop.is_set():
            answer = await self._exchange(data, trickled=True, head=head)
            if answer != "held":
                self.cut_off[slot] += 1
                if len(self.cut_off) == self.crowd_size:
                    self.all_cut_off.set()
            self.record(kind, endpoint, answer)

    async def run(self, stop_requested: asyncio.Event, settle_s: float) -> None:
        """Attack until `stop_requested`; then give every crowd slot up to `settle_s` to have been
        hung up on at least once (a wait, not a deadline on the ingress), and stop."""
        crowd = self.crowd()
        self.crowd_size = len(crowd)
        tasks = [asyncio.ensure_future(c) for c in [*crowd, self.hostile_requests()]]
        await stop_requested.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_cut_off.wait(), settle_s)
        self.stop.set()
        await asyncio.gather(*tasks)

    def results(self) -> dict[str, Any]:
        """What the test reads back: answers per `kind endpoint`, crowd size, slots cut off."""
        return {"answers": {k: dict(v) for k, v in sorted(self.answers.items())},
                "crowd": self.crowd_size, "cut_off": len(self.cut_off)}

    def crowd(self) -> list[Coroutine[Any, Any, None]]:
        """The slow-loris crowd: SLOW_HEADS head tricklers, SLOW_BODIES body tricklers per endpoint."""
        slots: list[tuple[str, str]] = [("slow_head", ENDPOINTS[i % 2]) for i in range(SLOW_HEADS)]
        slots += [("slow_body", endpoint) for endpoint in ENDPOINTS for _ in range(SLOW_BODIES)]
        return [self.slow_loris(i, kind, endpoint) for i, (kind, endpoint) in enumerate(slots)]


async def main(url: str) -> None:
    """Attack `url` until standard input closes; print the results."""
    attack = Attack(url, payloads())
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)

    async def wait_for_eof() -> None:
        await reader.read()
        stop_requested.set()

    waiter = asyncio.create_task(wait_for_eof())
    await attack.run(stop_requested, SETTLE_S)
    await waiter
    print(orjson.dumps(attack.results()).decode(), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
