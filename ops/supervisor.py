"""`eis run`: the development stack — broker (unless EIS_KAFKA_BOOTSTRAP names one), topics, and
every role as a child process, restarted when it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from ops.config import load_checked
from ops.topics import create_topics

RESTART_BACKOFF_S = (1, 2, 5, 10, 30)
STOP_GRACE_S = 30


@dataclass
class Child:
    """A role process and how often it has been restarted."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = field(default_factory=time.monotonic)

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(self.argv, env=env)  # noqa: S603 - our own argv
        self.started_at = time.monotonic()


def _role(name: str, *args: str) -> Child:
    return Child(name, [sys.executable, "-m", "ops.cli", *args])


def run_all(config: str | None, demo_sink_port: int | None, log_level: str) -> int:
    """Run until SIGINT/SIGTERM; return the exit code."""
    config = config or os.environ.get("EIS_CONFIG")
    pipeline = load_checked(config)
    assert config is not None
    broker = None
    bootstrap = os.environ.get("EIS_KAFKA_BOOTSTRAP")
    if not bootstrap:
        from ops.devbroker import DevBroker

        broker = DevBroker.start(int(os.environ.get("EIS_DEV_BROKER_PORT", "9092")))
        bootstrap = broker.bootstrap
        print(f"eis: development broker (in memory) at {bootstrap}", flush=True)
    env = {**os.environ, "EIS_KAFKA_BOOTSTRAP": bootstrap, "EIS_CONFIG": config}
    if broker is not None:
        # The development broker answers a fetch only when its wait expires: short waits keep
        # each hop at a few ms (Apache Kafka answers on arrival, where this only bounds idling).
        env.setdefault("EIS_KAFKA_FETCH_WAIT_MAX_MS", "10")
        env.setdefault("EIS_FETCH_MAX_WAIT_MS", "10")
    os.environ["EIS_KAFKA_BOOTSTRAP"] = bootstrap
    create_topics(pipeline)
    children = [
        _role("ingress", "--log-level", log_level, "ingress", "-c", config),
        _role("worker", "--log-level", log_level, "worker", "-c", config),
        _role("connect", "--log-level", log_level, "connect", "-c", config),
    ]
    if demo_sink_port:
        children.append(_role("demo-sink", "demo-sink", "--port", str(demo_sink_port)))
    for child in children:
        child.start(env)
    _print_addresses(pipeline.source_ids, env)
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        while not stopping:
            time.sleep(0.5)
            for child in children:
                _restart_if_dead(child, env)
    finally:
        _stop_all(children)
        if broker is not None:
            broker.stop()
    return 0


def _restart_if_dead(child: Child, env: dict[str, str]) -> None:
    assert child.process is not None
    code = child.process.poll()
    if code is None:
        return
    if time.monotonic() - child.started_at > 120:
        child.restarts = 0  # it ran long enough: a new crash starts the backoff over
    delay = RESTART_BACKOFF_S[min(child.restarts, len(RESTART_BACKOFF_S) - 1)]
    print(f"eis: {child.name} exited with {code}; restarting in {delay}s", file=sys.stderr, flush=True)
    time.sleep(delay)
    child.restarts += 1
    child.start(env)


def _stop_all(children: list[Child]) -> None:
    for child in children:
        if child.process is not None and child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()


def _print_addresses(sources: list[str], env: dict[str, str]) -> None:
    port = env.get("EIS_INGRESS_PORT", "8080")
    base = f"http://127.0.0.1:{port}"
    lines = [f"eis: ingress at {base}"]
    lines += [f"  POST {base}/webhooks/{s}" for s in sources if s != "api"]
    if "api" in sources:
        lines.append(f"  POST {base}/v1/events            (publish one event or a JSON array)")
    lines.append(f"  GET  {base}/v1/events/<event id>/deliveries")
    lines.append(f"  GET  {base}/metrics")
    print("\n".join(lines), flush=True)
