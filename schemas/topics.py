"""Topic names, built in this one module only (ARCHITECTURE.md's topic table)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_LEGAL = re.compile(r"[^A-Za-z0-9._-]")


def topic_safe(name: str) -> str:
    """Map an id onto Kafka's legal topic characters (letters, digits, `.`, `_`, `-`)."""
    return _LEGAL.sub("_", name)


@dataclass(frozen=True, slots=True)
class TopicNames:
    """All topic names of one deployment, under one prefix (default `eis`)."""

    prefix: str = "eis"

    def inbound(self, source: str) -> str:
        """Raw events of one source: `eis.in.<source>`."""
        return f"{self.prefix}.in.{topic_safe(source)}"

    def outbound(self, destination: str) -> str:
        """Events routed to one destination: `eis.out.<destination>`."""
        return f"{self.prefix}.out.{topic_safe(destination)}"

    def dead_letter(self, destination: str) -> str:
        """Exhausted or poison events of one destination: `eis.dlq.<destination>`."""
        return f"{self.prefix}.dlq.{topic_safe(destination)}"

    def retry(self, destination: str, tier: int) -> str:
        """Delay tier `tier` (1-based) of a destination's unordered retries: `eis.retry.<destination>.<tier>`."""
        return f"{self.prefix}.retry.{topic_safe(destination)}.{tier}"

    def delivered(self, destination: str) -> str:
        """Compacted idempotency keys of completed deliveries (exactly-once): `eis.delivered.<destination>`."""
        return f"{self.prefix}.delivered.{topic_safe(destination)}"

    @property
    def receipts(self) -> str:
        """One record per delivery attempt, keyed by event id."""
        return f"{self.prefix}.receipts"

    @property
    def invalid(self) -> str:
        """Events rejected by validation or routing, with reasons."""
        return f"{self.prefix}.invalid"

    @property
    def sources(self) -> str:
        """Compacted webhook source definitions."""
        return f"{self.prefix}.sources"

    @property
    def destination_state(self) -> str:
        """Compacted destination states (disabled by a 410 Gone, enabled by an operator), keyed by
        destination id: `eis.destination-state`."""
        return f"{self.prefix}.destination-state"

    @property
    def seen(self) -> str:
        """Compacted provider event ids the ingress accepted (replay protection) and ingress heartbeats."""
        return f"{self.prefix}.ingress.seen"

    def inbound_pattern(self) -> str:
        """A regex matching every inbound topic (for consumers that follow new sources)."""
        return "^" + re.escape(f"{self.prefix}.in.") + ".*"
