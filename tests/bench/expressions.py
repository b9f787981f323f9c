"""Benchmark: compiled expressions vs hand-written Python on the spec's examples.

Run: ``.venv/bin/python tests/bench/expressions.py`` (not a pytest test). For every condition,
mapping and template of the spec, prints evaluations/s of the compiled form and of an honest
hand-written equivalent (defensive ``.get`` chains with ``isinstance`` checks, the same
missing-is-null semantics), and their ratio compiled/hand. The last line is ``min ratio: R``.
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from schemas.expressions import (  # noqa: E402
    Context,
    compile_expression,
    compile_mapping,
    compile_template,
)
from tests.expressions import spec_cases as sc  # noqa: E402

NUM = (int, float)


def num(v: Any) -> bool:
    return type(v) in NUM


def ev(ctx: Context, key: str) -> Any:
    """`event.key`: envelope first, then payload (what a careful hand-written router does)."""
    env = ctx.envelope
    v = env.get(key) if env is not None else None
    if v is None:
        p = ctx.payload
        v = p.get(key) if isinstance(p, dict) else None
    return v


def pget(ctx: Context, *keys: str) -> Any:
    v: Any = ctx.payload
    for k in keys:
        if not isinstance(v, dict):
            return None
        v = v.get(k)
    return v


def evt(ctx: Context, value: str) -> bool:
    env = ctx.envelope
    t = env.get("type") if env is not None else None
    if t is None:
        p = ctx.payload
        t = p.get("type") if isinstance(p, dict) else None
    return t == value


def c_temp(ctx: Context) -> bool:
    p = ctx.payload
    if not isinstance(p, dict) or p.get("eventType") != "temperature":
        return False
    d = p.get("data")
    c = d.get("celsius") if isinstance(d, dict) else None
    return num(c) and (c > 35 or c < 0)


def c_in(ctx: Context) -> bool:
    p = ctx.payload
    return isinstance(p, dict) and p.get("eventType") in ("temperature", "humidity", "pressure")


def c_var(name: str, limit: float) -> Callable[[Context], bool]:
    def check(ctx: Context) -> bool:
        v = ctx.variables
        x = v.get(name) if v is not None else None
        return num(x) and x > limit

    return check


def c_step_avail(ctx: Context) -> bool:
    s = ctx.steps
    st = s.get("inventory-check") if s is not None else None
    r = st.get("response") if isinstance(st, dict) else None
    return isinstance(r, dict) and r.get("available") is True


def c_steps_both(ctx: Context) -> bool:
    if not c_step_avail(ctx):
        return False
    s = ctx.steps
    st = s.get("fraud-check") if s is not None else None
    r = st.get("response") if isinstance(st, dict) else None
    score = r.get("score") if isinstance(r, dict) else None
    return num(score) and score < 0.5


def c_push(ctx: Context) -> bool:
    if not evt(ctx, "push") or ev(ctx, "ref") != "refs/heads/main":
        return False
    r = ev(ctx, "repository")
    name = r.get("name") if isinstance(r, dict) else None
    return isinstance(name, str) and name not in ("docs", "notes")


def c_like(a: str, b: str) -> Callable[[Context], bool]:
    def check(ctx: Context) -> bool:
        t = ev(ctx, "type")
        return isinstance(t, str) and (t.endswith(a) or t.endswith(b))

    return check


def c_ratio(ctx: Context) -> bool:
    v = ctx.variables or {}
    f, i = v.get("eventsFailed"), v.get("eventsIngested")
    if not (num(f) and num(i)) or i == 0:
        return False
    return f / i > 0.05


def c_p95(ctx: Context) -> bool:
    v = ctx.variables or {}
    xs = v.get("deliveryLatency")
    if not isinstance(xs, list):
        return False
    data = sorted(x for x in xs if num(x))
    if not data:
        return False
    pos = (len(data) - 1) * 0.95
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo) > 10000


HAND_CONDITIONS: list[Callable[[Context], bool]] = [
    c_like("succeeded", "COMPLETED"),
    c_like("failed", "DENIED"),
    c_temp,
    c_in,
    lambda ctx: pget(ctx, "eventType") == "status",
    c_var("failureRate", 0.01),
    c_var("lagSeconds", 60),
    lambda ctx: evt(ctx, "orders/create"),
    c_step_avail,
    c_steps_both,
    lambda ctx: evt(ctx, "orders/cancelled"),
    c_push,
    lambda ctx: evt(ctx, "build.completed"),
    lambda ctx: ev(ctx, "status") == "success",
    lambda ctx: ev(ctx, "status") == "failed",
    lambda ctx: evt(ctx, "tests.completed") and ev(ctx, "status") == "success",
    lambda ctx: evt(ctx, "image.built"),
    lambda ctx: (
        evt(ctx, "e2e-tests.completed")
        and ev(ctx, "status") == "success"
        and ev(ctx, "environment") == "staging"
    ),
    lambda ctx: evt(ctx, "user.signup"),
    lambda ctx: pget(ctx, "user", "lastLogin") is None,
    lambda ctx: pget(ctx, "user", "trialActive") is True,
    lambda ctx: ev(ctx, "type") in ("order.placed", "payment.received", "shipment.dispatched"),
    lambda ctx: pget(ctx, "customer", "preferences", "smsEnabled") is True,
    lambda ctx: pget(ctx, "customer", "preferences", "pushEnabled") is True,
    lambda ctx: evt(ctx, "cart.abandoned"),
    lambda ctx: num(t := pget(ctx, "cart", "total")) and t > 50,
    c_ratio,
    c_var("queueDepth", 10000),
    c_p95,
]


def m_payment(ctx: Context) -> Any:
    p = ctx.payload
    d = p.get("data") if isinstance(p, dict) else None
    o = d.get("object") if isinstance(d, dict) else None
    if not isinstance(o, dict):
        o = {}
    amount = o.get("amount")
    return {
        "id": o.get("id"),
        "amount": amount / 100 if num(amount) else None,
        "currency": o.get("currency"),
        "status": "completed",
        "customerId": o.get("customer"),
        "timestamp": p.get("created") if isinstance(p, dict) else None,
    }


def m_alert(ctx: Context) -> Any:
    p = ctx.payload if isinstance(ctx.payload, dict) else {}
    d = p.get("data")
    c = d.get("celsius") if isinstance(d, dict) else None
    meta = p.get("metadata")
    return {
        "alert": {
            "deviceId": p.get("deviceId"),
            "location": meta.get("location") if isinstance(meta, dict) else None,
            "temperature": c,
            "threshold": "high" if num(c) and c > 35 else "low",
            "timestamp": p.get("timestamp"),
        }
    }


def m_fields(ctx: Context) -> Any:
    p = ctx.payload
    d = p.get("data") if isinstance(p, dict) else None
    d = d if isinstance(d, dict) else {}
    return [
        {"temperature": d.get("celsius")},
        {"humidity": d.get("humidity")},
        {"pressure": d.get("pressure")},
    ]


def m_status(ctx: Context) -> Any:
    p = ctx.payload if isinstance(ctx.payload, dict) else {}
    d = p.get("data")
    d = d if isinstance(d, dict) else {}
    return {
        "status": {
            "deviceId": p.get("deviceId"),
            "status": d.get("status"),
            "lastSeen": p.get("timestamp"),
            "battery": d.get("batteryPercent"),
            "signalStrength": d.get("rssi"),
        }
    }


def m_order(ctx: Context) -> Any:
    p = ctx.payload if isinstance(ctx.payload, dict) else {}
    c = p.get("customer")
    c = c if isinstance(c, dict) else {}
    items = p.get("line_items")
    out_items = None
    if isinstance(items, list):
        out_items = [
            {"sku": i.get("sku"), "quantity": i.get("quantity"), "price": i.get("price")}
            if isinstance(i, dict)
            else {"sku": None, "quantity": None, "price": None}
            for i in items
            if i is not None
        ]
    return {
        "order": {
            "orderId": p.get("id"),
            "orderNumber": p.get("order_number"),
            "customerId": c.get("id"),
            "customerEmail": c.get("email"),
            "total": p.get("total_price"),
            "currency": p.get("currency"),
            "items": out_items,
            "shippingAddress": p.get("shipping_address"),
            "createdAt": p.get("created_at"),
        }
    }


def m_build(ctx: Context) -> Any:
    p = ctx.payload if isinstance(ctx.payload, dict) else {}
    repo, pusher, head = p.get("repository"), p.get("pusher"), p.get("head_commit")
    ref = p.get("ref")
    return {
        "build": {
            "repository": repo.get("full_name") if isinstance(repo, dict) else None,
            "branch": ref.split("/")[-1] if isinstance(ref, str) else None,
            "commit": p.get("after"),
            "author": pusher.get("name") if isinstance(pusher, dict) else None,
            "message": head.get("message") if isinstance(head, dict) else None,
        }
    }


def m_staging(ctx: Context) -> Any:
    p = ctx.payload if isinstance(ctx.payload, dict) else {}
    return {"deployment": {"environment": "staging", "image": p.get("image"), "tag": p.get("tag")}}


def m_production(ctx: Context) -> Any:
    p = ctx.payload if isinstance(ctx.payload, dict) else {}
    return {
        "deployment": {
            "environment": "production",
            "image": p.get("image"),
            "tag": p.get("tag"),
            "strategy": "canary",
            "canaryWeight": 10,
        }
    }


def m_discount(ctx: Context) -> Any:
    p = ctx.payload if isinstance(ctx.payload, dict) else {}
    c, cart = p.get("customer"), p.get("cart")
    return {
        "customerId": c.get("id") if isinstance(c, dict) else None,
        "cartTotal": cart.get("total") if isinstance(cart, dict) else None,
        "discountPercent": 10,
    }


HAND_MAPPINGS = [
    m_payment,
    m_alert,
    m_fields,
    m_status,
    m_order,
    m_build,
    m_staging,
    m_production,
    m_discount,
]


def text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if v is None:
        return ""
    if v is True or v is False:
        return "true" if v else "false"
    return str(v)


def t_payment(ctx: Context) -> str:
    p = ctx.payload if isinstance(ctx.payload, dict) else {}
    c = p.get("customer")
    email = c.get("email") if isinstance(c, dict) else None
    return f"Payment failed: {text(email)} - {text(p.get('amount'))} {text(p.get('currency'))}"


def t_url(ctx: Context) -> str:
    return f"https://api.acme.com/customers/{text(pget(ctx, 'customerId'))}"


def t_key(ctx: Context) -> str:
    return f"device:{text(pget(ctx, 'deviceId'))}:status"


def t_build(ctx: Context) -> str:
    p = ctx.payload if isinstance(ctx.payload, dict) else {}
    commit = p.get("commit")
    commit = commit[:7] if isinstance(commit, str) else None
    return (
        f"🚀 Build triggered for *{text(p.get('repository'))}*\nBranch: {text(p.get('branch'))}\n"
        f"Commit: {text(commit)}\nAuthor: {text(p.get('author'))}\n"
    )


HAND_TEMPLATES = [
    t_payment,
    t_url,
    t_key,
    t_build,
    lambda ctx: f"❌ Build failed for {text(pget(ctx, 'repository'))}: {text(pget(ctx, 'error'))}",
    lambda ctx: f"✅ Tests passed for {text(pget(ctx, 'repository'))}",
    lambda ctx: (
        f"🎉 Deployed to production!\nImage: {text(pget(ctx, 'image'))}:"
        f"{text(pget(ctx, 'tag'))}\nStrategy: Canary (10%)\n"
    ),
]


def compare(
    compiled: Callable[[Context], Any], hand: Callable[[Context], Any], contexts: list[Context]
) -> tuple[float, float]:
    """Evaluations/s of both, best of 9 repeats, alternating so load drift hits both alike."""

    def looper(fn: Callable[[Context], Any]) -> Callable[[], None]:
        def loop() -> None:
            for c in contexts:
                fn(c)

        return loop

    loops = [looper(compiled), looper(hand)]
    number = 1
    while timeit.timeit(loops[1], number=number) < 0.01:
        number *= 2
    best = [float("inf"), float("inf")]
    for _ in range(9):
        for i, loop in enumerate(loops):
            best[i] = min(best[i], timeit.timeit(loop, number=number))
    per = number * len(contexts)
    return per / best[0], per / best[1]


def main() -> None:
    rows: list[tuple[str, str, float, float]] = []
    for (src, cases), hand in zip(sc.CONDITIONS, HAND_CONDITIONS, strict=True):
        expr = compile_expression(src)
        ctxs = [c for c, _ in cases]
        for c, want in cases:  # the hand-written function must agree before it is timed
            assert hand(c) is want is expr.matches(c), (src, c)
        rows.append(("condition", " ".join(src.split()), *compare(expr.matches, hand, ctxs)))
    for (name, obj, ctx, want), hand in zip(sc.MAPPINGS, HAND_MAPPINGS, strict=True):
        mapping = compile_mapping(obj)
        assert mapping.apply(ctx) == want == hand(ctx), name
        rows.append(("mapping", name, *compare(mapping.apply, hand, [ctx])))
    for (src, ctx, want), hand in zip(sc.TEMPLATES, HAND_TEMPLATES, strict=True):
        tmpl = compile_template(src)
        assert tmpl.render(ctx) == want == hand(ctx), src
        rows.append(("template", src.split("\n")[0][:40], *compare(tmpl.render, hand, [ctx])))
    print(f"{'kind':<10} {'compiled/s':>12} {'hand/s':>12} {'ratio':>6}  expression")
    for kind, label, compiled, hand_rate in rows:
        print(
            f"{kind:<10} {compiled:>12,.0f} {hand_rate:>12,.0f} "
            f"{compiled / hand_rate:>6.2f}  {label[:70]}"
        )
    print(f"min ratio: {min(c / h for _, _, c, h in rows):.2f}")


if __name__ == "__main__":
    main()
