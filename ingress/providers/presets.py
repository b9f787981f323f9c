"""The providers EIS knows, each a `FieldAdapter` preset (registry: `ingress.providers`).

Sources, per provider documentation:
- Stripe event object: `type`, `id` (`evt_…`), `created` (unix seconds).
- PayPal webhook event: `event_type`, `id` (`WH-…`), `create_time` (ISO-8601).
- GitHub: `X-GitHub-Event`, `X-GitHub-Delivery` (GUID, kept on redelivery); no time header.
- Shopify: `X-Shopify-Topic`, `X-Shopify-Webhook-Id`, `X-Shopify-Triggered-At` (ISO-8601).
- Square: `type`, `event_id`, `created_at` (ISO-8601).
- Twilio: no event type; `I-Twilio-Idempotency-Token` is unique per webhook and repeated on
  retries, so it is the dedup id. `MessageSid`/`CallSid` are NOT used as a fallback id:
  status callbacks for one message all share its sid and would be dropped as duplicates.
- generic: `type`/`eventType`/`event_type`, `id`, `timestamp`/`time` (ISO or epoch s/ms).
"""

from __future__ import annotations

from ingress.providers.base import FieldAdapter

STRIPE = FieldAdapter(
    name="stripe", type_keys=("type",), id_keys=("id",), time_keys=("created",), numbers_are="s",
)

PAYPAL = FieldAdapter(
    name="paypal", type_keys=("event_type",), id_keys=("id",), time_keys=("create_time",),
)

GITHUB = FieldAdapter(
    name="github", type_headers=("X-GitHub-Event",), id_headers=("X-GitHub-Delivery",),
)

SHOPIFY = FieldAdapter(
    name="shopify", type_headers=("X-Shopify-Topic",), id_headers=("X-Shopify-Webhook-Id",),
    time_headers=("X-Shopify-Triggered-At",),
)

SQUARE = FieldAdapter(
    name="square", type_keys=("type",), id_keys=("event_id",), time_keys=("created_at",),
)

TWILIO = FieldAdapter(name="twilio", id_headers=("I-Twilio-Idempotency-Token",))

GENERIC = FieldAdapter(
    name="generic", type_keys=("type", "eventType", "event_type"), id_keys=("id",),
    time_keys=("timestamp", "time"),
)
