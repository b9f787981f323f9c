"""Records a process wrote to a compacted state topic and has not read back from it yet."""

from __future__ import annotations


class OwnWrites:
    """A process that applies its own writes at once, and also tails the topic, must not let the
    late read-back of an earlier write of its own undo a later one: each record the tail reads
    is first offered to `read_back` (a value may be None: a tombstone)."""

    def __init__(self) -> None:
        self._unread: dict[str, list[bytes | None]] = {}

    def wrote(self, key: str, value: bytes | None) -> None:
        """Note a write of `value` under `key` (applied locally already)."""
        self._unread.setdefault(key, []).append(value)

    def not_written(self, key: str, value: bytes | None) -> None:
        """Forget a write that failed: it will never be read back."""
        unread = self._unread.get(key, [])
        if value in unread:
            unread.remove(value)
        if not unread:
            self._unread.pop(key, None)

    def pending(self, key: str) -> bool:
        """Whether a write under `key` has not been read back yet."""
        return bool(self._unread.get(key))

    def read_back(self, key: str, value: bytes | None) -> bool:
        """True when the record is one of our writes, read back (it and any earlier ones of the
        key are then no longer pending)."""
        unread = self._unread.get(key)
        if not unread or value not in unread:
            return False
        del unread[:unread.index(value) + 1]
        if not unread:
            del self._unread[key]
        return True
