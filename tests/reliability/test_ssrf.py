"""SSRF through the whole pipeline (issue 6): destinations whose configured or rendered URL points
at loopback outside the allow-list, the metadata address, private ranges, a unique-local IPv6
address, an IPv4-mapped IPv6 address, a host name resolving to one of those, and a loopback
sink answering a redirect to the metadata address — beside a legitimate allowed destination.

One run (a module fixture) with ingress and worker as processes and the connector as a real
`eis connect` process whose sockets are the test's (tests/reliability/recording_connect.py): a
fake DNS and a dialer that records every address a connection is attempted to and refuses to
create a socket outside loopback. No packet goes to an address outside 127.0.0.0/8 or ::1: the
denied addresses are only ever seen by the recording dialer. The traps for denied loopback
destinations (127.0.0.1 and ::1, outside `egress.allow: [127.0.0.2/32]`) are real listening sinks,
so a guard that let them through would deliver there. One test per promise.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from schemas.kafka import KafkaSettings
from tests.egress_helpers import dialled
from tests.reliability.checker import Report, check
from tests.reliability.harness import Ack, ChaosSink, LoadGenerator
from tests.reliability.processes import Running, http, launch, pipeline_config
from tests.reliability.recording_connect import DIAL_LOG_ENV, DNS_ENV
from tests.stack_helpers import StackFactory

pytestmark = pytest.mark.slow

ALLOWED_ADDRESS = "127.0.0.2"        # the only address egress.allow opens; every sink allowed binds it
METADATA = "169.254.169.254"
DNS = {"metadata.test": [METADATA], "internal.test": ["10.1.2.3"]}


class RedirectingSink(ChaosSink):
    """Answers every request 302 to the cloud metadata address (and records it, never a 2xx)."""

    async def _reply(self, request: web.Request, raw: bytes) -> web.Response:
        self.record(request, raw, 302)
        return web.Response(status=302, headers={"Location": f"http://{METADATA}/latest/meta-data/iam"})


@dataclass
class Denied:
    """A destination whose every event must be refused: its URL, what each dead letter says, and
    the sink listening behind the URL if there is one (none must ever answer it a 2xx)."""

    id: str
    url: str
    errors: tuple[str, ...]          # each dead letter's last error contains one of these
    sink: ChaosSink | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def denied_destinations(trap4: ChaosSink, trap6: ChaosSink, redirect: ChaosSink) -> list[Denied]:
    """Every hostile destination of the pipeline (route `ssrf`), in event-target order."""
    return [
        Denied("metadata", f"http://{METADATA}/latest/meta-data/iam", (f"{METADATA} (link-local)",)),
        Denied("ten", "http://10.0.0.1/hook", ("10.0.0.1 (private)",)),
        Denied("lan", "http://192.168.1.1/hook", ("192.168.1.1 (private)",)),
        Denied("ula", "http://[fd00::1]/hook", ("fd00::1 (private)",)),
        Denied("mapped", f"http://[::ffff:{METADATA}]/latest/meta-data/", (f"(link-local), which is {METADATA}",)),
        Denied("loopback", f"{trap4.url}/in", ("127.0.0.1 (loopback)",), trap4),
        Denied("loopback6", f"{trap6.url}/in", ("::1 (loopback)",), trap6),
        Denied("named", "http://metadata.test/latest/meta-data/", (f"metadata.test resolves to {METADATA}",)),
        # {{host}} rendered from the event: the events name each of rendered_hosts() in turn.
        Denied("rendered", "http://{{host}}/hook", (
            f"{METADATA} (link-local)", "10.0.0.1 (private)", "192.168.1.1 (private)", "fd00::1 (private)",
            f"(link-local), which is {METADATA}", "127.0.0.1 (loopback)", "10.1.2.3 (private)")),
        # A redirect is not followed by default: the 3xx itself dead-letters.
        Denied("redirect", f"{redirect.url}/in", ("HTTP 302 (redirects are not followed)",), redirect),
        # Followed, the next hop passes the guard like any connection and is refused.
        Denied("redirect-followed", f"{redirect.url}/in", (f"{METADATA} (link-local)",), redirect,
               {"followRedirects": True}),
    ]


def rendered_hosts(trap4: ChaosSink) -> list[str]:
    return [METADATA, "10.0.0.1", "192.168.1.1", "[fd00::1]", f"[::ffff:{METADATA}]",
            f"127.0.0.1:{trap4.port}", "internal.test"]


def target_of(seq: int, targets: list[str]) -> str:
    """Which hostile destination event `seq` is also for (`none`: the legitimate one only)."""
    return targets[seq % len(targets)]


def for_target(target: str, targets: list[str]) -> Callable[[Ack], bool]:
    """The checker's `selects` of a hostile destination."""
    return lambda ack: target_of(ack.seq, targets) == target


@dataclass
class SsrfRun:
    """The outcome of the scenario, for the tests to judge."""

    report: Report
    load: LoadGenerator
    denied: list[Denied]
    dials: list[str]
    traps: list[ChaosSink]
    redirect: ChaosSink


def ssrf_config(ok: ChaosSink, denied: list[Denied]) -> str:
    hostile = [http(d.id, d.url, condition=f"$.target == '{d.id}'", **d.settings) for d in denied]
    return pipeline_config([{"name": "legit", "destinations": [http("ok", f"{ok.url}/in")]},
                            {"name": "ssrf", "destinations": hostile}],
                           egress_allow=(f"{ALLOWED_ADDRESS}/32",))


@pytest.fixture(scope="module")
async def ssrf_run(kafka: KafkaSettings, tmp_path_factory: pytest.TempPathFactory,
                   chaos_events: int) -> AsyncIterator[SsrfRun]:
    """Run the scenario once: every event goes to the legitimate sink, most also to one hostile
    destination; wait until each is delivered or dead-lettered."""
    began = time.monotonic()
    ok = await ChaosSink(host=ALLOWED_ADDRESS).start()
    redirect = await RedirectingSink(host=ALLOWED_ADDRESS).start()
    traps = [await ChaosSink().start(), await ChaosSink(host="::1").start()]
    directory = tmp_path_factory.mktemp("ssrf")
    factory = StackFactory(kafka, directory, f"ssrf{time.monotonic_ns() % 10**8}")
    try:
        denied = denied_destinations(traps[0], traps[1], redirect)
        targets = ["none", *(d.id for d in denied)]
        hosts = rendered_hosts(traps[0])
        running = await launch(factory, ssrf_config(ok, denied), roles=("ingress", "worker"))
        dial_log = directory / "dials.log"
        start_recording_connector(running, dial_log)

        def fields(key: str, seq: int) -> dict[str, Any]:
            return {"target": target_of(seq, targets), "host": hosts[(seq // len(targets)) % len(hosts)]}

        load = LoadGenerator(lambda: running.stack.ingress_url, extra=fields)
        await load.run(chaos_events)

        # A denied destination with no sink behind its URL gets a never-started one: nothing arrives.
        destinations = [running.destination("legit.ok", ok), *(
            running.destination(f"ssrf.{d.id}", d.sink or ChaosSink(), selects=for_target(d.id, targets))
            for d in denied)]
        report = await check(kafka, "ssrf", load.acked, destinations, started=began, timeout=90)
        dials = dialled(dial_log)
        report.data["dialled"] = sorted(set(dials))
        report.save()
        yield SsrfRun(report, load, denied, dials, traps, redirect)
    finally:
        factory.stop_all()
        for sink in (ok, redirect, *traps):
            await sink.stop()


def start_recording_connector(running: Running, dial_log: Path) -> None:
    """`eis connect` for every destination, its sockets through the recording dialer."""
    running.stack.env.update({DIAL_LOG_ENV: str(dial_log), DNS_ENV: orjson.dumps(DNS).decode()})
    running.stack.start("connect", module="tests.reliability.recording_connect")


async def test_no_connection_is_attempted_to_a_denied_address(ssrf_run: SsrfRun) -> None:
    assert ssrf_run.dials, "the legitimate destination was never dialled: the dial log is not written"
    assert set(ssrf_run.dials) == {ALLOWED_ADDRESS}, ssrf_run.report
    assert all(not trap.started_requests for trap in ssrf_run.traps), "a denied loopback sink was reached"
    # The redirecting sink is allowed: it is asked once per redirect event, never via a redirect.
    assert {r.path for r in ssrf_run.redirect.received} == {"/in"}


async def test_every_denied_event_is_dead_lettered_at_once_with_the_egress_reason(ssrf_run: SsrfRun) -> None:
    report = ssrf_run.report
    for d in ssrf_run.denied:
        figures = report.of(f"ssrf.{d.id}")
        assert figures["expected"] > 0, (d.id, report)
        assert figures["dead_lettered"] == figures["expected"] and figures["delivered"] == 0, (d.id, report)
        letters = figures["dead_letters"]
        # Refused at the first attempt, never retried: a policy refusal is not an outage.
        assert letters["by_reason"] == {"deliver/permanent_failure": figures["expected"]}, (d.id, letters)
        assert all(record["attempts"] == 1 for record in letters["records"]), (d.id, letters)
        for error in letters["by_error"]:
            assert any(part in error for part in d.errors), (d.id, error)
            if d.id != "redirect":
                assert error.startswith("egress_denied: ") and error.endswith("allow it with egress.allow")
        # Every refusal the destination stands for happened (each rendered host among them).
        assert all(any(part in error for error in letters["by_error"]) for part in d.errors), (d.id, letters)


async def test_the_allowed_destination_delivers_everything(ssrf_run: SsrfRun, chaos_events: int) -> None:
    report = ssrf_run.report
    assert not ssrf_run.load.gave_up and len(ssrf_run.load.acked) == chaos_events, report
    assert report.lost == 0, report
    assert report.of("legit.ok")["delivered"] == chaos_events, report
    assert report.data["unexpected"] == 0, report
