"""Which offsets of a partition the broker has shown hold no record, and which batches a seek made stale.

The worker commits a partition up to the first offset no agent acknowledged. Offsets that hold no
record (a transaction marker, a compacted-away record) are never acknowledged, so Faust fills
"gaps" it sees between consecutive records it hands out. It infers them from its own read mark,
which a seek or a rebalance makes stale while a batch fetched before it is still being handed
out: the inferred gap then covers records no agent ever saw, and the commit skips them (seen: one
event lost per partition now and then when a worker restarted under load).

This ledger proves a gap from what the broker returned instead: between two records of one
uninterrupted fetch sequence (no seek, no reassignment in between), or between a seek's target and
the first record fetched after it, there is no record. Every seek or reassignment starts a new
sequence (an "epoch"); a batch fetched in an older epoch is stale and is not handed out at all.
Pure bookkeeping: `agents/faust_consumer.py` wires it into Faust's consumer, marking seeks and
snapshotting fetched batches on the consumer thread, in the very step that seeks or returns them:
anything looser calls a batch fetched just after a seek stale, and its dropped records are never
fetched again.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence

EpochSnapshot = Mapping[Hashable, int]

# Gaps normally come one per transaction; a partition's proofs are consumed as its records are
# handed out, so this bound only matters for records that were fetched and then dropped.
_MAX_PROOFS_PER_PARTITION = 4096


class FetchContinuity:
    """Per partition: the current fetch epoch, where the next record continues from, proven gaps."""

    def __init__(self) -> None:
        self._epoch: dict[Hashable, int] = {}
        self._next_offset: dict[Hashable, int | None] = {}
        # record offset -> first offset of the record-free stretch just before it
        self._gap_start: dict[Hashable, dict[int, int]] = {}

    def snapshot(self, partitions: Iterable[Hashable]) -> EpochSnapshot:
        """The partitions' epochs now; a batch fetched now is stale for a partition whose epoch moves."""
        epoch = self._epoch
        return {partition: epoch.get(partition, 0) for partition in partitions}

    def is_current(self, partition: Hashable, snapshot: EpochSnapshot) -> bool:
        """Whether `partition` has not been sought or reassigned since `snapshot` was taken."""
        return self._epoch.get(partition, 0) == snapshot.get(partition, 0)

    def restart(self, partition: Hashable, position: int | None) -> None:
        """A seek to `position` (None: unknown, e.g. a reassignment) begins a new fetch sequence."""
        self._epoch[partition] = self._epoch.get(partition, 0) + 1
        self._next_offset[partition] = position
        self._gap_start.pop(partition, None)

    def observe(self, partition: Hashable, offsets: Sequence[int]) -> None:
        """Record a batch the broker returned for `partition`, in fetch order, in the current epoch."""
        if not offsets:
            return
        expected = self._next_offset.get(partition)
        first, last = offsets[0], offsets[-1]
        contiguous = last - first == len(offsets) - 1
        if contiguous and (expected is None or first <= expected):
            self._next_offset[partition] = last + 1
            return
        proofs = self._gap_start.setdefault(partition, {})
        for offset in offsets:
            if expected is not None and offset > expected:
                proofs[offset] = expected
            expected = offset + 1
        self._next_offset[partition] = expected
        while len(proofs) > _MAX_PROOFS_PER_PARTITION:
            del proofs[next(iter(proofs))]

    def take_gap_before(self, partition: Hashable, offset: int) -> int | None:
        """First offset of the proven record-free stretch ending just before `offset`, if any (once)."""
        proofs = self._gap_start.get(partition)
        return proofs.pop(offset, None) if proofs else None
