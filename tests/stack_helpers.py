"""Run EIS roles as real OS processes against the session broker (testing tiers 2 and 4)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from ops.devbroker import DevBroker
from schemas.kafka import KafkaSettings

# Role processes log at WARNING; `EIS_TEST_ROLE_LOG_LEVEL=INFO` when chasing a failure.
ROLE_LOG_LEVEL = os.environ.get("EIS_TEST_ROLE_LOG_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """One pipeline's roles as child processes; every topic under a per-test prefix."""

    def __init__(self, kafka: KafkaSettings, config_path: Path, log_dir: Path) -> None:
        self.kafka = kafka
        self.config_path = config_path
        self.log_dir = log_dir
        self.ingress_port = free_port()
        self.worker_port = free_port()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {
            **os.environ,
            "EIS_KAFKA_BOOTSTRAP": kafka.bootstrap,
            "EIS_KAFKA_SESSION_TIMEOUT_MS": str(kafka.session_timeout_ms),
            "EIS_KAFKA_HEARTBEAT_INTERVAL_MS": str(kafka.heartbeat_interval_ms),
            "EIS_KAFKA_MAX_POLL_INTERVAL_MS": str(kafka.max_poll_interval_ms),
            "EIS_KAFKA_FETCH_WAIT_MAX_MS": str(kafka.fetch_wait_max_ms),
            "EIS_FETCH_MAX_WAIT_MS": "10",
            "EIS_WORKER_WEB_PORT": str(self.worker_port),
            "EIS_WORKER_URL": f"http://127.0.0.1:{self.worker_port}",
            "EIS_WORKER_DATA_DIR": str(log_dir / "worker-data"),
            "EIS_SESSION_TIMEOUT_S": "2", "EIS_REBALANCE_TIMEOUT_S": "2",
            "EIS_HEARTBEAT_INTERVAL_S": "0.5",
            "EIS_CONNECT_METRICS_PORT": "0",
            "EIS_INGRESS_PORT": str(self.ingress_port),
        }

    @property
    def ingress_url(self) -> str:
        return f"http://127.0.0.1:{self.ingress_port}"

    @property
    def worker_url(self) -> str:
        return f"http://127.0.0.1:{self.worker_port}"

    def run_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ops.cli", *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=60, check=False)

    def start(self, role: str, *args: str, module: str = "ops.cli") -> subprocess.Popen[bytes]:
        """Start `eis <role> -c CONFIG <args>`; output goes to <log_dir>/<role>.log. `module` runs
        another entry point with the same arguments (a test wrapper around `ops.cli`)."""
        log = open(self.log_dir / f"{role}.log", "ab")  # noqa: SIM115 - owned by the process
        process = subprocess.Popen(
            [sys.executable, "-m", module, "--log-level", ROLE_LOG_LEVEL, role, "-c", str(self.config_path), *args],
            env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.processes[role] = process
        return process

    def kill(self, role: str, signum: int = signal.SIGKILL) -> None:
        process = self.processes[role]
        process.send_signal(signum)
        process.wait(30)

    def log(self, role: str) -> str:
        return (self.log_dir / f"{role}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()

    async def wait_http(self, url: str, timeout: float = 30.0) -> None:
        """Wait until `url` answers 200."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                try:
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"{url} did not answer 200 within {timeout}s; logs in {self.log_dir}")

    async def deliveries(self, event_id: str, via_ingress: bool = True) -> tuple[int, Any]:
        base = self.ingress_url if via_ingress else self.worker_url
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/v1/events/{event_id}/deliveries") as response:
                return response.status, await response.json(content_type=None)

    async def wait_status(self, event_id: str, predicate: Any, timeout: float = 30.0) -> Any:
        """Poll the delivery lookup until `predicate(entries)` holds."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            status, body = await self.deliveries(event_id)
            last = (status, body)
            if status == 200 and predicate(body):
                return body
            await asyncio.sleep(0.3)
        raise AssertionError(f"delivery status of {event_id} never matched; last: {last}")


def kafka_settings_for_tests(bootstrap: str) -> KafkaSettings:
    """Client settings the tests use against a dev broker at `bootstrap` (session or private)."""
    # The dev broker makes a group join wait ~half the session timeout: 2 s joins in ~1.2 s
    # against ~3.2 s with the 6 s default (Apache Kafka refuses < 6 s, so only tests use it).
    return KafkaSettings(
        bootstrap=bootstrap,
        client_id="eis-tests",
        session_timeout_ms=2_000,
        heartbeat_interval_ms=500,
        max_poll_interval_ms=10_000,
        # It answers a fetch when the wait expires: 10 ms gives ~2 ms hops (100 ms: ~22 ms).
        fetch_wait_max_ms=10,
    )


class StackFactory:
    """Makes Stacks for pipeline texts: `{prefix}` and `{service}` become `name`, files go under
    `directory`. The `stack_factory` fixture is one per test; a module-scoped scenario (one run,
    several tests asserting on it) makes its own with `tmp_path_factory`."""

    def __init__(self, kafka: KafkaSettings, directory: Path, name: str) -> None:
        self.kafka = kafka
        self.directory = directory
        self.name = name
        self.stacks: list[Stack] = []

    def __call__(self, config: str) -> Stack:
        n = len(self.stacks)
        path = self.directory / f"pipeline-{n}.yaml"
        path.write_text(config.replace("{prefix}", self.name).replace("{service}", self.name))
        logs = self.directory / f"logs-{n}"
        logs.mkdir()
        stack = Stack(self.kafka, path, logs)
        self.stacks.append(stack)
        return stack

    def stop_all(self) -> None:
        """Stop every process of every stack made (SIGTERM, then SIGKILL after 20 s)."""
        for stack in self.stacks:
            stack.stop_all()


class PrivateBroker:
    """A dev broker of one test's own on a fixed port, for scenarios that lose the broker (the
    session's broker is shared: never stop that one).

    `kill()` SIGKILLs it; `start()` starts a new one on the same port, which comes back empty
    (memory storage: no topics, groups or offsets). Start it from the main thread: the broker
    dies with the thread that started it (ops/devbroker.py)."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.broker: DevBroker | None = None
        self.starts = 0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def settings(self) -> KafkaSettings:
        return kafka_settings_for_tests(self.bootstrap)

    def start(self) -> DevBroker:
        """Start a broker on the port and return once it answers metadata requests."""
        if self.broker is not None and self.broker.process.poll() is None:
            raise AssertionError(f"the private broker on {self.bootstrap} is already running")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        self.broker = DevBroker.start(self.port, log_path=self.log_dir / f"broker-{self.starts}.log")
        return self.broker

    def kill(self) -> None:
        """SIGKILL the broker: no goodbye to its clients, everything it held is gone."""
        assert self.broker is not None
        self.broker.process.send_signal(signal.SIGKILL)
        self.broker.process.wait(10)

    def stop(self) -> None:
        if self.broker is not None:
            self.broker.stop()
