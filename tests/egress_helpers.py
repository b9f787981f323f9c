"""A fake DNS and a recording dialer for SSRF tests: nothing leaves the host.

`RecordingDialer` is an aiohttp `socket_factory`: it records every address a connection is
attempted to and refuses to create a socket for any address outside loopback (after recording
the attempt), so a broken guard fails a test instead of reaching the network. `FakeResolver`
answers host names from a table, so no DNS query leaves the host either. Used in process by
tests/http_sink and, through tests/reliability/recording_connect.py, by a real `eis connect`.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult


def _result(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    return {"hostname": host, "host": address, "port": port, "family": family,
            "proto": 0, "flags": socket.AI_NUMERICHOST}


@dataclass
class FakeResolver(AbstractResolver):
    """DNS from a table: `answers[host]` is a list of answers, one per lookup (the last repeats)."""

    answers: dict[str, Sequence[Sequence[str]]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        answers = self.answers.get(host)
        if answers is None:
            raise OSError(f"fake DNS: unknown host {host}")
        n = self.lookups.count(host)
        self.lookups.append(host)
        return [_result(host, a, port) for a in answers[min(n, len(answers) - 1)]]

    async def close(self) -> None:
        pass


@dataclass
class RecordingDialer:
    """A `socket_factory`: records every address a connection is attempted to; refuses (never
    creates a socket for) anything outside loopback. With `log`, each attempt is also appended
    to that file as a line, so another process can read what a connector would have dialled."""

    attempts: list[str] = field(default_factory=list)
    log: Path | None = None

    def __call__(self, addr_info: Any) -> socket.socket:
        family, type_, proto, _, address = addr_info
        self.attempts.append(address[0])
        if self.log is not None:
            # One write of a whole line on an O_APPEND descriptor: lines never interleave, and
            # the attempt is on disk even if the process is killed right after.
            fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"{address[0]}\n".encode())
            finally:
                os.close(fd)
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise OSError(f"test dialer: refusing a non-loopback connection to {address[0]}")
        return socket.socket(family, type_, proto)


def dialled(log: Path) -> list[str]:
    """The addresses a `RecordingDialer(log=log)` recorded, in order (none when no file)."""
    return log.read_text().split() if log.exists() else []
