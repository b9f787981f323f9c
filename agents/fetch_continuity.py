"""Which offsets of a partition the broker has shown hold no record.

The worker commits a partition up to the first offset no agent acknowledged. Offsets that hold no
record (a transaction marker, a compacted-away record) are never acknowledged, so Faust fills
"gaps" it sees between consecutive records it hands out. It infers them from its own read mark,
which goes stale across a rebalance and the seek to committed offsets that follows it (a worker
fetches before it seeks, so the seek moves the mark back mid-batch): an inferred gap can cover
records no agent ever saw, and the commit skips them. It also lets the commit pass the record at
the committed offset unacknowledged.

This ledger proves a gap from what the broker returned instead: between two records of one
uninterrupted fetch sequence (no seek, no reassignment in between), or between a seek's target and
the first record fetched after it, there is no record. The commit passes an unacknowledged offset
only inside such a proof. Pure bookkeeping: `agents/faust_consumer.py` records seeks and fetched
batches on the consumer thread, in the very step that seeks or returns them, so a batch fetched
before a seek never counts as the first one after it.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

# Gaps normally come one per transaction; the commit needs only the proofs near its position,
# so the oldest go first past this bound.
_MAX_PROOFS_PER_PARTITION = 4096


class FetchContinuity:
    """Per partition: where the next fetched record continues from, and the proven gaps."""

    def __init__(self) -> None:
        self._next_offset: dict[Hashable, int | None] = {}
        # record offset -> first offset of the record-free stretch just before it
        self._gap_start: dict[Hashable, dict[int, int]] = {}

    def restart(self, partition: Hashable, position: int | None) -> None:
        """A seek to `position` (None: unknown, e.g. a reassignment) begins a new fetch sequence."""
        self._next_offset[partition] = position
        self._gap_start.pop(partition, None)

    def observe(self, partition: Hashable, offsets: Sequence[int]) -> None:
        """Record a batch the broker returned for `partition`, in fetch order."""
        if not offsets:
            return
        expected = self._next_offset.get(partition)
        first, last = offsets[0], offsets[-1]
        if last - first == len(offsets) - 1 and (expected is None or first <= expected):
            self._next_offset[partition] = last + 1      # contiguous: nothing to prove
            return
        proofs = self._gap_start.setdefault(partition, {})
        for offset in offsets:
            if expected is not None and offset > expected:
                proofs[offset] = expected
            expected = offset + 1
        self._next_offset[partition] = expected
        while len(proofs) > _MAX_PROOFS_PER_PARTITION:
            del proofs[next(iter(proofs))]

    def gap_before(self, partition: Hashable, offset: int) -> int | None:
        """First offset of the proven record-free stretch ending just before `offset`, if any."""
        proofs = self._gap_start.get(partition)
        return proofs.get(offset) if proofs else None

    def record_free(self, partition: Hashable, start: int, end: int) -> bool:
        """Whether the broker showed that offsets `start` up to `end` (excluded) hold no record."""
        proven_from = self.gap_before(partition, end)
        return proven_from is not None and proven_from <= start
