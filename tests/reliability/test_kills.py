"""Roles killed and restarted under load (SIGKILL and SIGTERM): nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from tests.reliability.checker import check, redeliveries_between
from tests.reliability.harness import LoadGenerator
from tests.reliability.processes import http, launch, pipeline_config, until, wait_exit

pytestmark = pytest.mark.slow


def duplicate_times(sink, began: float) -> dict[str, int]:
    """How many redeliveries arrived in each second of the run (to line them up with kills)."""
    seen: set[str] = set()
    out: dict[str, int] = {}
    for a in sink.arrivals:
        if a.event_id in seen:
            second = f"{int(a.at - began)}s"
            out[second] = out.get(second, 0) + 1
        seen.add(a.event_id)
    return out


def one_destination(sink_url: str, ordering: str | None = None, **settings: object) -> str:
    return pipeline_config([{"name": "r", "destinations": [http("s", f"{sink_url}/in", **settings)]}],
                           ordering=ordering)


async def test_ingress_sigkill_mid_load_loses_no_acknowledged_event(stack_factory, sinks, kafka,
                                                                    chaos_events) -> None:
    began = time.monotonic()
    sink = await sinks()
    running = await launch(stack_factory, one_destination(sink.url, ordering="per-device"))
    stack = running.stack
    load = LoadGenerator(lambda: stack.ingress_url, spread_s=max(4.0, chaos_events / 1500))
    task = asyncio.create_task(load.run(chaos_events))
    await until(lambda: load.acked_count >= chaos_events * 0.4, 60, "40 % acknowledged")
    stack.kill("ingress")                      # SIGKILL: requests in flight get no answer
    acked_at_kill = load.acked_count
    await asyncio.sleep(0.5)
    running.restart_ingress()
    await task
    assert acked_at_kill < chaos_events, "the kill landed after the load: it proved nothing"
    report = await check(kafka, "ingress_sigkill", load.acked,
                         [running.destination("r.s", sink, ordered=True)], started=began,
                         acked_at_kill=acked_at_kill, gave_up=len(load.gave_up),
                         answers={str(k): v for k, v in load.statuses.items()})
    assert report.lost == 0, report
    assert report.data["inversions"] == 0, report
    assert not load.gave_up, load.statuses


async def test_connector_sigkill_three_times_delivers_all_and_duplicates_keep_their_key(
        stack_factory, sinks, kafka, chaos_events) -> None:
    began = time.monotonic()
    keys = 5
    # Ordered per key, 5 keys: delivery takes about 3 s, so the kills land mid-stream.
    sink = await sinks(delay_s=max(0.001, 3.0 * keys / chaos_events))
    running = await launch(stack_factory, one_destination(sink.url, ordering="per-device"))
    stack = running.stack
    load = LoadGenerator(lambda: stack.ingress_url, keys=keys, batch=50)
    await load.run(chaos_events)
    delivered_at_kills, killed_at = [], []
    for kill in range(3):
        threshold = chaos_events * (kill + 1) // 5
        await until(lambda t=threshold: len(sink.delivered_ids()) >= t, 90, f"{threshold} delivered")
        stack.kill("connect")                  # SIGKILL: no commit, no finishing
        killed_at.append(time.monotonic())
        delivered_at_kills.append(len(sink.delivered_ids()))
        stack.start("connect")
    report = await check(kafka, "connector_sigkill_x3", load.acked,
                         [running.destination("r.s", sink, ordered=True)], started=began, timeout=120,
                         settle_s=2, delivered_at_kills=delivered_at_kills)
    report.data["redeliveries"] = redeliveries_between(sink.arrivals, killed_at)
    report.save()
    figures = report.of("r.s")
    assert report.lost == 0 and figures["dead_lettered"] == 0, report
    assert figures["delivered"] == len(load.acked), report
    assert figures["idempotency_key_mismatches"] == [], report
    # A redelivery is what a kill replayed (delivered, not yet committed): none without a kill.
    assert report.data["redeliveries"]["unexplained"] == 0, report
    assert delivered_at_kills[-1] < len(load.acked), "the last kill landed after delivery finished"
    assert report.data["inversions"] == 0, report


async def test_rebalance_storm_of_workers_loses_nothing_duplicates_little_and_keeps_key_order(
        stack_factory, sinks, kafka, chaos_events) -> None:
    began = time.monotonic()
    sink = await sinks()
    running = await launch(stack_factory, one_destination(sink.url, ordering="per-device"))
    storm_s = 16.0
    load = LoadGenerator(lambda: running.stack.ingress_url, spread_s=storm_s + 2)
    task = asyncio.create_task(load.run(chaos_events))
    changes: list[str] = []
    changed_at: list[float] = []
    # Six membership changes, one of them a SIGKILL; the stack's own worker stays throughout.
    steps = [("add", "w2"), ("add", "w3"), ("term", "w2"), ("add", "w4"), ("kill", "w3"), ("term", "w4")]
    for action, name in steps:
        await asyncio.sleep(storm_s / len(steps))
        if action == "add":
            running.start_worker(name)
        else:
            process = running.stack.processes[name]
            process.send_signal(signal.SIGKILL if action == "kill" else signal.SIGTERM)
            wait_exit(process, 30)
        changed_at.append(time.monotonic() - began)
        changes.append(f"{action} {name} at {changed_at[-1]:.1f}s")
    await task
    report = await check(kafka, "rebalance_storm", load.acked,
                         [running.destination("r.s", sink, ordered=True)], started=began, timeout=90,
                         settle_s=2, changes=changes)
    report.data["duplicates_at"] = duplicate_times(sink, began)
    report.save()
    assert report.lost == 0, report
    assert report.data["inversions"] == 0, report
    # A rebalance commits what moves first (agents/faust_consumer.py); what the SIGKILLed worker
    # finished since its last commit (every 50 events and every 0.5 s) is routed again once the
    # group notices, a session timeout later. Duplicates come only in the seconds after a change.
    spontaneous = [second for second in report.data["duplicates_at"]
                   if not any(c - 1 <= int(second[:-1]) <= c + 6 for c in changed_at)]
    assert not spontaneous, report
    assert report.duplicates <= max(0.01 * len(load.acked), 50), report


async def test_graceful_shutdown_of_each_role_under_load_exits_in_30s_and_loses_nothing(
        stack_factory, sinks, kafka, chaos_events) -> None:
    began = time.monotonic()
    sink = await sinks()
    running = await launch(stack_factory, one_destination(sink.url))
    stack = running.stack
    load = LoadGenerator(lambda: stack.ingress_url, spread_s=max(12.0, chaos_events / 1000))
    task = asyncio.create_task(load.run(chaos_events))
    exits: dict[str, float] = {}
    for role in ("ingress", "worker", "connect"):
        await asyncio.sleep(2.5)
        process = stack.processes[role]
        process.send_signal(signal.SIGTERM)
        exits[role] = round(wait_exit(process, 30), 2)
        assert process.returncode == 0, (role, process.returncode, stack.log(role)[-2000:])
        if role == "ingress":
            running.restart_ingress()
        else:
            stack.start(role)
    await task
    report = await check(kafka, "graceful_shutdown", load.acked, [running.destination("r.s", sink)],
                         started=began, timeout=90, exit_seconds=exits)
    assert report.lost == 0, report
    assert all(seconds <= 30 for seconds in exits.values()), exits
