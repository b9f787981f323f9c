"""What an HTTP response means for delivery: which statuses retry, and when (Retry-After)."""

from __future__ import annotations

import email.utils
import time

from connectors.sink import Delivered, Failed, Outcome

# Timeouts, "too early", throttling and server errors may pass; other 4xx will not.
RETRIABLE_STATUSES = frozenset({408, 425, 429})
# "The endpoint no longer exists": every later event would fail the same way, so the runner
# disables the destination instead of dead-lettering its whole stream (issue 6's matrix).
GONE = 410
MAX_RETRY_AFTER_S = 3600.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent
    or unreadable; capped at an hour so a hostile receiver cannot park an event for ever."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    delta = when.timestamp() - (time.time() if now is None else now)
    return min(max(delta, 0.0), MAX_RETRY_AFTER_S)


def outcome_of_status(status: int, retry_after: str | None, body_excerpt: str,
                      followed_redirects: bool = False) -> Outcome:
    """Map a response status to an outcome (`followed_redirects`: a 3xx here was not followable)."""
    if 200 <= status < 300:
        return Delivered(status)
    detail = f"HTTP {status}" + (f": {body_excerpt}" if body_excerpt else "")
    if 300 <= status < 400:
        why = "not a followable redirect" if followed_redirects else "redirects are not followed"
        return Failed(f"{detail} ({why})", retriable=False, status_code=status)
    if status == GONE:
        return Failed(detail, retriable=False, status_code=status, gone=True)
    retriable = status in RETRIABLE_STATUSES or status >= 500
    return Failed(detail, retriable=retriable, status_code=status,
                  retry_after_s=parse_retry_after(retry_after) if retriable else None)
