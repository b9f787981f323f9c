"""Role processes for the reliability scenarios: pipelines, stacks, extra copies of a role."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from schemas.config import Pipeline, load_pipeline_text
from tests.reliability.checker import Destination
from tests.reliability.harness import ChaosSink
from tests.stack_helpers import ROLE_LOG_LEVEL, ROOT, Stack, free_port

DEFAULT_RETRY = {"maxAttempts": 20, "initialDelay": 50, "maxDelay": 500}


def pipeline_config(routes: list[dict[str, Any]], *, partitions: int = 3, ordering: str | None = None,
                    retry: dict[str, Any] | None = None, delivery: dict[str, Any] | None = None,
                    egress_allow: tuple[str, ...] = ("127.0.0.0/8",)) -> str:
    """A pipeline (JSON, which is YAML) with the publish API and an unverified webhook `hooks`;
    `{prefix}`/`{service}` are filled by `stack_factory`."""
    tree: dict[str, Any] = {
        "service": "{service}",
        "ingestion": {"protocols": [{"http": {"auth": "none"}}]},
        "webhooks": [{"id": "hooks", "provider": "generic", "verification": {"type": "none"}}],
        "routing": routes,
        "delivery": {"partitioning": {"key": "$.deviceId", "partitions": partitions},
                     "retry": retry or DEFAULT_RETRY, **(delivery or {})},
        "kafka": {"topicPrefix": "{prefix}"},
        "egress": {"allow": list(egress_allow)},
    }
    if ordering is not None:
        tree["delivery"]["ordering"] = ordering
    return json.dumps(tree, indent=1)


def http(dest_id: str, url: str, **settings: Any) -> dict[str, Any]:
    return {"id": dest_id, "type": "http", "url": url, "timeout": "2s", **settings}


@dataclass
class Running:
    """A started stack and its loaded pipeline."""

    stack: Stack
    pipeline: Pipeline

    def destination(self, dest_id: str, sink: ChaosSink, **kwargs: Any) -> Destination:
        """The checker's view of destination `dest_id` (`<route>.<id>`)."""
        compiled = self.pipeline.destinations[dest_id]
        return Destination(dest_id, sink, compiled.dead_letter_topic, **kwargs)

    def start(self, name: str, role: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start another role process `name` (its own log and environment overrides)."""
        stack = self.stack
        log = open(stack.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "--log-level", ROLE_LOG_LEVEL, role, "-c",
             str(stack.config_path), *args],
            env={**stack.env, **(env or {})}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        stack.processes[name] = process
        return process

    def start_worker(self, name: str) -> tuple[subprocess.Popen[bytes], int]:
        """One more worker in the group: its own lookup port and data directory."""
        port = free_port()
        process = self.start(name, "worker", env={
            "EIS_WORKER_WEB_PORT": str(port), "EIS_WORKER_URL": f"http://127.0.0.1:{port}",
            "EIS_WORKER_DATA_DIR": str(self.stack.log_dir / f"{name}-data")})
        return process, port

    def restart_ingress(self) -> None:
        self.stack.start("ingress", "--port", str(self.stack.ingress_port))

    def alive(self, name: str) -> bool:
        return self.stack.processes[name].poll() is None


async def launch(stack_factory: Callable[[str], Stack], config: str,
                 roles: tuple[str, ...] = ("ingress", "worker", "connect"),
                 env: dict[str, str] | None = None) -> Running:
    """Create the topics and start `roles` (with `env` added to their environment); return once
    ingress and worker answer /healthz."""
    stack = stack_factory(config)
    stack.env.update(env or {})
    created = stack.run_cli("topics", "create", "-c", str(stack.config_path))
    assert created.returncode == 0, created.stderr
    pipeline = load_pipeline_text(stack.config_path.read_text(), environ={})
    for role in roles:
        stack.start(role, *(["--port", str(stack.ingress_port)] if role == "ingress" else []))
    waits = []
    if "ingress" in roles:
        waits.append(stack.wait_http(f"{stack.ingress_url}/healthz"))
    if "worker" in roles:
        waits.append(stack.wait_http(f"{stack.worker_url}/healthz", timeout=45))
    await asyncio.gather(*waits)
    return Running(stack, pipeline)


def wait_exit(process: subprocess.Popen[bytes], timeout: float) -> float:  # noqa: ASYNC109
    """Seconds until `process` exited (SIGKILL and AssertionError after `timeout`)."""
    began = time.monotonic()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        raise AssertionError(f"pid {process.pid} did not exit within {timeout}s") from None
    return time.monotonic() - began


async def until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout}s")
        await asyncio.sleep(0.05)


def rss_mib(pid: int) -> float:
    """Resident memory of `pid` from /proc (MiB)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


async def metrics_text(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.text()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample in exposition `text` (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        metric, _, value = line.rpartition(" ")
        inner = metric[len(name):].strip("{}")
        got = ",".join(sorted(inner.split(","))) if inner else ""
        if got == want:
            return float(value)
    return 0.0
