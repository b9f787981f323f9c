"""Ingress apps for edge tests: served by the real listener (parser limits, TLS, connection cap)
on loopback, producing to the session broker; and real `eis ingress` processes for the cases
that need two of them.

Apps made from one `EdgeFactory.pipeline(...)` share a topic prefix, so a second app is "another
ingress process" (or the same one restarted) over the same Kafka state.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from ingress.app import create_app
from ingress.cluster import state_topics
from ingress.listener import start_listener
from ingress.settings import IngressSettings
from ingress.state import STATE, IngressState
from schemas.config import Pipeline, load_pipeline_text
from schemas.config.topic_plan import topic_plan
from schemas.kafka import AsyncProducer, KafkaSettings, describe_topics, ensure_topics
from schemas.metrics import Metrics
from tests.kafka_helpers import consume_all
from tests.stack_helpers import ROOT, free_port

ADMIN_KEY = "adm_test_6c1f0e"
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


@dataclass
class App:
    """One running ingress app (an in-process "ingress process")."""

    pipeline: Pipeline
    metrics: Metrics
    app: web.Application
    runner: web.AppRunner
    url: str
    kafka: KafkaSettings
    stopped: bool = False

    @property
    def state(self) -> IngressState:
        return self.app[STATE]

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0

    async def post(self, path: str, body: Any, headers: dict[str, str] | None = None,
                   **kwargs: Any) -> tuple[int, Any, Any]:
        """POST JSON (a dict) or bytes; (status, decoded JSON answer or text, headers)."""
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        async with aiohttp.ClientSession() as session, session.post(
                self.url + path, data=data, headers={"Content-Type": "application/json", **(headers or {})},
                **kwargs) as response:
            text = await response.read()
            try:
                answer: Any = orjson.loads(text)
            except orjson.JSONDecodeError:
                answer = text.decode(errors="replace")
            return response.status, answer, response.headers

    async def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            await self.runner.cleanup()


@dataclass
class EdgeFactory:
    kafka: KafkaSettings
    apps: list[App] = field(default_factory=list)

    async def pipeline(self, config: str) -> Pipeline:
        """Load `config` under a fresh `{prefix}` and create its topics (and the shared ones)."""
        prefix = f"t{uuid.uuid4().hex[:10]}"
        pipeline = load_pipeline_text(config.replace("{prefix}", prefix), environ={})
        plan = topic_plan(pipeline) + state_topics(pipeline.topics.seen, pipeline.topics.sources, 1)
        unique = {spec.name: spec for spec in plan}   # one CreateTopics may not name a topic twice
        await asyncio.to_thread(ensure_topics, self.kafka, list(unique.values()))
        return pipeline

    async def start(self, pipeline: Pipeline, settings: IngressSettings | None = None,
                    *, ready: bool = True, kafka: KafkaSettings | None = None) -> App:
        """Serve an app for `pipeline` on a free port; by default wait until it is caught up.
        `kafka` points the app at another broker (an unreachable one: pass `ready=False`)."""
        settings = settings or IngressSettings(worker_url=f"http://127.0.0.1:{free_port()}",
                                               admin_key=ADMIN_KEY, heartbeat_interval_s=0.5)
        kafka = kafka or self.kafka
        metrics = Metrics(CollectorRegistry())
        app = create_app(pipeline, AsyncProducer(kafka), metrics, settings, kafka=kafka)
        runner, site = await start_listener(app, settings, "127.0.0.1", 0, shutdown_timeout=2.0)
        scheme = "https" if settings.tls.enabled else "http"
        served = App(pipeline, metrics, app, runner, f"{scheme}://127.0.0.1:{site.port}", kafka)
        self.apps.append(served)
        if ready:
            assert served.state.cluster is not None
            assert await served.state.cluster.wait_ready(15.0), "shared state never caught up"
        return served

    async def close(self) -> None:
        for app in self.apps:
            await app.stop()


@pytest.fixture
async def edge(kafka: KafkaSettings) -> AsyncIterator[EdgeFactory]:
    factory = EdgeFactory(kafka)
    yield factory
    await factory.close()


async def end_offsets(kafka: KafkaSettings, topic: str) -> int:
    """Sum of the topic's end offsets: 0 while nothing was written (moves with every batch)."""
    described = await asyncio.to_thread(describe_topics, kafka, [topic], offsets=True)
    return sum(p.high or 0 for p in described[topic].partitions)


async def envelopes(kafka: KafkaSettings, topic: str, expected: int, timeout: float = 10.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
    messages = await consume_all(kafka, topic, expected, timeout)
    return [orjson.loads(m.value() or b"null") for m in messages]


async def wait_until(predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate() if asyncio.iscoroutinefunction(predicate) else predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not hold within {timeout}s")


# ---------------------------------------------------------------------------------------------
# Real `eis ingress` processes
# ---------------------------------------------------------------------------------------------


@dataclass
class IngressProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def ingress_env(kafka: KafkaSettings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "EIS_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "EIS_KAFKA_SESSION_TIMEOUT_MS": str(kafka.session_timeout_ms),
        "EIS_KAFKA_HEARTBEAT_INTERVAL_MS": str(kafka.heartbeat_interval_ms),
        "EIS_KAFKA_MAX_POLL_INTERVAL_MS": str(kafka.max_poll_interval_ms),
        "EIS_KAFKA_FETCH_WAIT_MAX_MS": str(kafka.fetch_wait_max_ms),
        "EIS_WORKER_URL": f"http://127.0.0.1:{free_port()}",
        "EIS_ADMIN_KEY": ADMIN_KEY,
        "EIS_INGRESS_HEARTBEAT_S": "0.5",
        **extra,
    }


def spawn_ingress(config_path: Path, kafka: KafkaSettings, log: Path) -> IngressProcess:
    """Start `eis ingress` on a free port, its output in `log` (not yet known to be healthy)."""
    port = free_port()
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "--log-level", "WARNING", "ingress", "-c", str(config_path),
             "--host", "127.0.0.1", "--port", str(port)],
            env=ingress_env(kafka), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    return IngressProcess(process, port, log)


async def start_process(config_path: Path, kafka: KafkaSettings, log_dir: Path, name: str) -> IngressProcess:
    """Start an ingress process and wait until it answers /healthz (30 s at most)."""
    log = log_dir / f"{name}.log"
    started = spawn_ingress(config_path, kafka, log)
    process = started.process
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"ingress exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                async with session.get(started.url + "/healthz") as response:
                    if response.status == 200:
                        return started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    started.stop()
    raise AssertionError(f"ingress not healthy in 30s: {log.read_text(errors='replace')[-2000:]}")


async def admin_call(app: App, method: str, path: str, body: Any = None,
                     headers: dict[str, str] | None = None) -> tuple[int, Any, Mapping[str, str]]:
    """One admin API request, authorised unless `headers` say otherwise: (status, JSON, headers)."""
    async with aiohttp.ClientSession() as session, session.request(
            method, app.url + path, json=body, headers=AUTH if headers is None else headers) as response:
        return response.status, (await response.json() if response.status != 204 else None), response.headers


async def admin(app: App, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """`admin_call` without the headers."""
    status, answer, _ = await admin_call(app, method, path, body, headers)
    return status, answer
