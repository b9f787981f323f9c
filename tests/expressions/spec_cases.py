"""Every expression of the product spec's five example configurations, with sample events.

Shared by the table test (test_spec_examples.py) and the benchmark (tests/bench/expressions.py).
"""

from __future__ import annotations

from typing import Any

from schemas.expressions import Context

# Example 1: payments (Stripe / PayPal) ---------------------------------------------------------
STRIPE_SUCCEEDED = Context(
    payload={
        "id": "evt_1",
        "type": "payment_intent.succeeded",
        "created": 1700000000,
        "data": {"object": {"id": "pi_1", "amount": 4999, "currency": "eur", "customer": "cus_9"}},
    },
    envelope={"id": "evt_1", "type": "payment_intent.succeeded", "source": "stripe"},
)
STRIPE_FAILED = Context(
    payload={
        "type": "invoice.payment_failed",
        "customer": {"email": "ann@example.com"},
        "amount": 99.99,
        "currency": "EUR",
        "customerId": "cus_9",
    },
    envelope={"type": "invoice.payment_failed"},
)
PAYPAL_COMPLETED = Context(
    payload={"event_type": "x"}, envelope={"type": "PAYMENT.CAPTURE.COMPLETED"}
)
PAYPAL_DENIED = Context(payload={}, envelope={"type": "PAYMENT.CAPTURE.DENIED"})

# Example 2: IoT ------------------------------------------------------------------------------
HOT = Context(
    payload={
        "deviceId": "dev-42",
        "timestamp": "2024-03-01T10:00:00Z",
        "eventType": "temperature",
        "metadata": {"location": "warehouse-3"},
        "data": {"celsius": 38.5, "humidity": 40},
    }
)
MILD = Context(payload={"deviceId": "dev-7", "eventType": "temperature", "data": {"celsius": 21}})
FROZEN = Context(payload={"deviceId": "dev-8", "eventType": "temperature", "data": {"celsius": -4}})
STATUS = Context(
    payload={
        "deviceId": "dev-42",
        "timestamp": "2024-03-01T10:00:00Z",
        "eventType": "status",
        "data": {"status": "online", "batteryPercent": 87, "rssi": -61},
    }
)
METRICS = Context(
    payload=None,
    variables={
        "failureRate": 0.02,
        "lagSeconds": 12,
        "eventsFailed": 7,
        "eventsIngested": 100,
        "queueDepth": 25_000,
        "deliveryLatency": [120, 300, 900, 15_000, 22_000],
    },
)
QUIET_METRICS = Context(
    payload=None,
    variables={
        "failureRate": 0.001,
        "lagSeconds": 61,
        "eventsFailed": 0,
        "eventsIngested": 0,
        "queueDepth": 3,
        "deliveryLatency": [100, 200, 300],
    },
)

# Example 3: Shopify orders workflow -----------------------------------------------------------
ORDER = Context(
    payload={
        "id": 820982911946154508,
        "order_number": 1001,
        "total_price": "199.00",
        "currency": "USD",
        "customer": {"id": 115310627314723954, "email": "bob@example.com"},
        "line_items": [
            {"sku": "IPOD-342", "quantity": 1, "price": "199.00", "title": "iPod"},
            {"sku": "CASE-1", "quantity": 2, "price": "0.00", "title": "Case"},
        ],
        "shipping_address": {"city": "Ottawa"},
        "created_at": "2024-03-01T10:00:00-05:00",
    },
    envelope={"type": "orders/create"},
    steps={
        "inventory-check": {"response": {"available": True}, "status": "success"},
        "fraud-check": {"response": {"score": 0.3, "recommendation": "approve"}},
    },
)
ORDER_RISKY = Context(
    payload={"id": 2},
    envelope={"type": "orders/create"},
    steps={
        "inventory-check": {"response": {"available": True}},
        "fraud-check": {"response": {"score": 0.9}},
    },
)
ORDER_CANCELLED = Context(payload={"id": 3}, envelope={"type": "orders/cancelled"})

# Example 4: CI/CD (GitHub) --------------------------------------------------------------------
PUSH_MAIN = Context(
    payload={
        "ref": "refs/heads/main",
        "after": "9f8e7d6c5b4a3f2e1d0c",
        "repository": {"name": "api", "full_name": "acme/api"},
        "pusher": {"name": "ann"},
        "head_commit": {"message": "Fix the build"},
    },
    envelope={"type": "push", "source": "github"},
)
PUSH_DOCS = Context(
    payload={"ref": "refs/heads/main", "repository": {"name": "docs"}}, envelope={"type": "push"}
)
BUILD_OK = Context(
    payload={"status": "success", "repository": "acme/api"}, envelope={"type": "build.completed"}
)
BUILD_FAILED = Context(
    payload={"status": "failed", "repository": "acme/api", "error": "exit 2"},
    envelope={"type": "build.completed"},
)
TESTS_OK = Context(
    payload={"status": "success", "repository": "acme/api"}, envelope={"type": "tests.completed"}
)
IMAGE = Context(
    payload={"image": "registry.acme.com/api", "tag": "1.4.2"}, envelope={"type": "image.built"}
)
E2E_OK = Context(
    payload={
        "status": "success",
        "environment": "staging",
        "image": "registry.acme.com/api",
        "tag": "1.4.2",
    },
    envelope={"type": "e2e-tests.completed"},
)

# Example 5: customer communications ------------------------------------------------------------
SIGNUP = Context(
    payload={
        "user": {
            "email": "cy@example.com",
            "lastLogin": None,
            "trialActive": True,
            "timezone": "Europe/Paris",
        }
    },
    envelope={"type": "user.signup"},
)
SIGNUP_ACTIVE = Context(
    payload={"user": {"email": "d@example.com", "lastLogin": "2024-03-02", "trialActive": False}},
    envelope={"type": "user.signup"},
)
ORDER_PLACED = Context(
    payload={
        "orderId": "ord_123",
        "event": {"type": "order.placed"},
        "customer": {
            "id": "c1",
            "email": "e@example.com",
            "phone": "+15550001",
            "preferences": {"smsEnabled": True, "pushEnabled": False},
        },
    },
    envelope={"type": "order.placed"},
)
CART = Context(
    payload={"customer": {"id": "c2", "email": "f@example.com"}, "cart": {"total": 72.5}},
    envelope={"type": "cart.abandoned"},
)
SMALL_CART = Context(payload={"cart": {"total": 20}}, envelope={"type": "cart.abandoned"})
EMPTY = Context(payload={})

# (source, [(context, expected matches()), …])
CONDITIONS: list[tuple[str, list[tuple[Context, bool]]]] = [
    (
        "event.type LIKE '%succeeded' OR event.type LIKE '%COMPLETED'",
        [
            (STRIPE_SUCCEEDED, True),
            (PAYPAL_COMPLETED, True),
            (STRIPE_FAILED, False),
            (EMPTY, False),
        ],
    ),
    (
        "event.type LIKE '%failed' OR event.type LIKE '%DENIED'",
        [(STRIPE_FAILED, True), (PAYPAL_DENIED, True), (STRIPE_SUCCEEDED, False)],
    ),
    (
        "eventType == 'temperature' AND\n(data.celsius > 35 OR data.celsius < 0)\n",
        [(HOT, True), (FROZEN, True), (MILD, False), (STATUS, False)],
    ),
    ("eventType IN ['temperature', 'humidity', 'pressure']", [(HOT, True), (STATUS, False)]),
    ("eventType == 'status'", [(STATUS, True), (HOT, False)]),
    ("failureRate > 0.01", [(METRICS, True), (QUIET_METRICS, False)]),
    ("lagSeconds > 60", [(METRICS, False), (QUIET_METRICS, True)]),
    ("event.type == 'orders/create'", [(ORDER, True), (ORDER_CANCELLED, False)]),
    ("inventory-check.response.available == true", [(ORDER, True), (ORDER_CANCELLED, False)]),
    (
        "inventory-check.response.available == true AND fraud-check.response.score < 0.5",
        [(ORDER, True), (ORDER_RISKY, False), (ORDER_CANCELLED, False)],
    ),
    ("event.type == 'orders/cancelled'", [(ORDER_CANCELLED, True), (ORDER, False)]),
    (
        "event.type == 'push' AND\nevent.ref == 'refs/heads/main' AND\n"
        "event.repository.name NOT IN ['docs', 'notes']\n",
        [(PUSH_MAIN, True), (PUSH_DOCS, False), (BUILD_OK, False)],
    ),
    ("event.type == 'build.completed'", [(BUILD_OK, True), (PUSH_MAIN, False)]),
    ("event.status == 'success'", [(BUILD_OK, True), (BUILD_FAILED, False)]),
    ("event.status == 'failed'", [(BUILD_FAILED, True), (BUILD_OK, False)]),
    (
        "event.type == 'tests.completed' AND event.status == 'success'",
        [(TESTS_OK, True), (BUILD_OK, False)],
    ),
    ("event.type == 'image.built'", [(IMAGE, True), (TESTS_OK, False)]),
    (
        "event.type == 'e2e-tests.completed' AND\nevent.status == 'success' AND\n"
        "event.environment == 'staging'\n",
        [(E2E_OK, True), (TESTS_OK, False)],
    ),
    ("event.type == 'user.signup'", [(SIGNUP, True), (CART, False)]),
    ("$.user.lastLogin == null", [(SIGNUP, True), (SIGNUP_ACTIVE, False)]),
    ("$.user.trialActive == true", [(SIGNUP, True), (SIGNUP_ACTIVE, False)]),
    (
        "event.type IN ['order.placed', 'payment.received', 'shipment.dispatched']",
        [(ORDER_PLACED, True), (CART, False)],
    ),
    ("$.customer.preferences.smsEnabled == true", [(ORDER_PLACED, True), (CART, False)]),
    ("$.customer.preferences.pushEnabled == true", [(ORDER_PLACED, False), (CART, False)]),
    ("event.type == 'cart.abandoned'", [(CART, True), (SIGNUP, False)]),
    ("$.cart.total > 50", [(CART, True), (SMALL_CART, False), (SIGNUP, False)]),
    ("eventsFailed / eventsIngested > 0.05", [(METRICS, True), (QUIET_METRICS, False)]),
    ("queueDepth > 10000", [(METRICS, True), (QUIET_METRICS, False)]),
    ("p95(deliveryLatency) > 10000", [(METRICS, True), (QUIET_METRICS, False)]),
]

# (name, mapping, context, expected output)
MAPPINGS: list[tuple[str, Any, Context, Any]] = [
    (
        "payments.unified-payment-event",
        {
            "id": "$.data.object.id",
            "amount": "$.data.object.amount / 100",
            "currency": "$.data.object.currency",
            "status": "'completed'",
            "customerId": "$.data.object.customer",
            "timestamp": "$.created",
        },
        STRIPE_SUCCEEDED,
        {
            "id": "pi_1",
            "amount": 49.99,
            "currency": "eur",
            "status": "completed",
            "customerId": "cus_9",
            "timestamp": 1700000000,
        },
    ),
    (
        "iot.alert",
        {
            "alert": {
                "deviceId": "$.deviceId",
                "location": "$.metadata.location",
                "temperature": "$.data.celsius",
                "threshold": "$.data.celsius > 35 ? 'high' : 'low'",
                "timestamp": "$.timestamp",
            }
        },
        HOT,
        {
            "alert": {
                "deviceId": "dev-42",
                "location": "warehouse-3",
                "temperature": 38.5,
                "threshold": "high",
                "timestamp": "2024-03-01T10:00:00Z",
            }
        },
    ),
    (
        "iot.timeseries-fields",
        [
            {"temperature": "$.data.celsius"},
            {"humidity": "$.data.humidity"},
            {"pressure": "$.data.pressure"},
        ],
        HOT,
        [{"temperature": 38.5}, {"humidity": 40}, {"pressure": None}],
    ),
    (
        "iot.status",
        {
            "status": {
                "deviceId": "$.deviceId",
                "status": "$.data.status",
                "lastSeen": "$.timestamp",
                "battery": "$.data.batteryPercent",
                "signalStrength": "$.data.rssi",
            }
        },
        STATUS,
        {
            "status": {
                "deviceId": "dev-42",
                "status": "online",
                "lastSeen": "2024-03-01T10:00:00Z",
                "battery": 87,
                "signalStrength": -61,
            }
        },
    ),
    (
        "orders.order",
        {
            "order": {
                "orderId": "$.id",
                "orderNumber": "$.order_number",
                "customerId": "$.customer.id",
                "customerEmail": "$.customer.email",
                "total": "$.total_price",
                "currency": "$.currency",
                "items": "$.line_items[*].{sku: sku, quantity: quantity, price: price}",
                "shippingAddress": "$.shipping_address",
                "createdAt": "$.created_at",
            }
        },
        ORDER,
        {
            "order": {
                "orderId": 820982911946154508,
                "orderNumber": 1001,
                "customerId": 115310627314723954,
                "customerEmail": "bob@example.com",
                "total": "199.00",
                "currency": "USD",
                "items": [
                    {"sku": "IPOD-342", "quantity": 1, "price": "199.00"},
                    {"sku": "CASE-1", "quantity": 2, "price": "0.00"},
                ],
                "shippingAddress": {"city": "Ottawa"},
                "createdAt": "2024-03-01T10:00:00-05:00",
            }
        },
    ),
    (
        "cicd.build",
        {
            "build": {
                "repository": "$.repository.full_name",
                "branch": "$.ref | split('/') | .[-1]",
                "commit": "$.after",
                "author": "$.pusher.name",
                "message": "$.head_commit.message",
            }
        },
        PUSH_MAIN,
        {
            "build": {
                "repository": "acme/api",
                "branch": "main",
                "commit": "9f8e7d6c5b4a3f2e1d0c",
                "author": "ann",
                "message": "Fix the build",
            }
        },
    ),
    (
        "cicd.deployment-staging",
        {
            "deployment": {
                "environment": "staging",
                "image": "$.image",
                "tag": "$.tag",
            }
        },
        IMAGE,
        {
            "deployment": {
                "environment": "staging",
                "image": "registry.acme.com/api",
                "tag": "1.4.2",
            }
        },
    ),
    (
        "cicd.deployment-production",
        {
            "deployment": {
                "environment": "production",
                "image": "$.image",
                "tag": "$.tag",
                "strategy": "canary",
                "canaryWeight": 10,
            }
        },
        E2E_OK,
        {
            "deployment": {
                "environment": "production",
                "image": "registry.acme.com/api",
                "tag": "1.4.2",
                "strategy": "canary",
                "canaryWeight": 10,
            }
        },
    ),
    (
        "comms.discount-body",
        {
            "customerId": "$.customer.id",
            "cartTotal": "$.cart.total",
            "discountPercent": 10,
        },
        CART,
        {"customerId": "c2", "cartTotal": 72.5, "discountPercent": 10},
    ),
]

# Single-expression values: recipients, keys, zones, the email template name.
VALUES: list[tuple[str, Context, Any]] = [
    ("$.customer.email", ORDER, "bob@example.com"),
    ("$.user.email", SIGNUP, "cy@example.com"),
    ("$.customer.phone", ORDER_PLACED, "+15550001"),
    ("$.customer.id", ORDER_PLACED, "c1"),
    ("$.deviceId", HOT, "dev-42"),
    ("$.id", ORDER, 820982911946154508),
    ("$.orderId", ORDER_PLACED, "ord_123"),
    ("$.user.timezone", SIGNUP, "Europe/Paris"),
    # The spec writes `$.event.type`: `$` is the payload, so this reads payload.event.type;
    # `=event.type | replace('.', '-')` is the envelope-aware spelling (`=` marks it as an
    # expression in a mapping, since it starts with a bare name).
    ("$.event.type | replace('.', '-')", ORDER_PLACED, "order-placed"),
    ("=event.type | replace('.', '-')", ORDER_PLACED, "order-placed"),
]

# Literal strings of the spec that must NOT be taken as expressions.
LITERALS = [
    "order-confirmation",
    "order-cancelled",
    "welcome-email-1",
    "cart-reminder-2",
    "staging",
    "production",
    "canary",
    "unified-payment-event",
    "22:00",
]

TEMPLATES: list[tuple[str, Context, str]] = [
    (
        "Payment failed: {{customer.email}} - {{amount}} {{currency}}",
        STRIPE_FAILED,
        "Payment failed: ann@example.com - 99.99 EUR",
    ),
    (
        "https://api.acme.com/customers/{{customerId}}",
        STRIPE_FAILED,
        "https://api.acme.com/customers/cus_9",
    ),
    ("device:${deviceId}:status", STATUS, "device:dev-42:status"),
    (
        "🚀 Build triggered for *{{repository}}*\nBranch: {{branch}}\n"
        "Commit: {{commit | truncate(7)}}\nAuthor: {{author}}\n",
        Context(
            payload={
                "repository": "acme/api",
                "branch": "main",
                "commit": "9f8e7d6c5b4a3f2e1d0c",
                "author": "ann",
            }
        ),
        "🚀 Build triggered for *acme/api*\nBranch: main\nCommit: 9f8e7d6\nAuthor: ann\n",
    ),
    (
        "❌ Build failed for {{repository}}: {{error}}",
        BUILD_FAILED,
        "❌ Build failed for acme/api: exit 2",
    ),
    ("✅ Tests passed for {{repository}}", TESTS_OK, "✅ Tests passed for acme/api"),
    (
        "🎉 Deployed to production!\nImage: {{image}}:{{tag}}\nStrategy: Canary (10%)\n",
        E2E_OK,
        "🎉 Deployed to production!\nImage: registry.acme.com/api:1.4.2\nStrategy: Canary (10%)\n",
    ),
]
