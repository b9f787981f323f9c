"""Worker settings from the environment (EIS_*), with development-friendly defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass

from schemas.environment import env_int, env_port, env_seconds


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How one worker process joins the group and serves lookups."""

    bootstrap: str
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    # Faust hard-codes 1500 ms; the development broker answers a fetch only when this expires,
    # so it is latency on every hop there (KAFKA-NOTES.md). Apache Kafka answers on arrival.
    fetch_max_wait_ms: int = 100
    session_timeout_s: float = 6.0
    rebalance_timeout_s: float = 6.0
    heartbeat_interval_s: float = 1.0
    # A worker killed outright re-routes, on its partitions' next owner, what it finished since
    # its last commit (a rebalance commits first; agents/faust_consumer.py). Commits come every
    # `commit_interval_s` (Faust's default is 2.8 s) and after `commit_every_events` processed
    # events, so a backlog routed in one batch is committed as soon as its outputs are
    # acknowledged. A commit is one small request; one is in flight at a time.
    commit_interval_s: float = 0.5
    commit_every_events: int = 50
    batch_size: int = 1000
    batch_within_s: float = 0.02
    data_dir: str = ".eis/worker"

    @classmethod
    def from_env(cls) -> WorkerSettings:
        """Read EIS_KAFKA_BOOTSTRAP, EIS_WORKER_WEB_HOST/PORT, EIS_FETCH_MAX_WAIT_MS, …

        Raises SettingError naming a variable whose value cannot be used."""
        return cls(
            bootstrap=os.environ.get("EIS_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
            web_host=os.environ.get("EIS_WORKER_WEB_HOST", "127.0.0.1"),
            web_port=env_port("EIS_WORKER_WEB_PORT", 6066),
            fetch_max_wait_ms=env_int("EIS_FETCH_MAX_WAIT_MS", 100, low=0),
            session_timeout_s=env_seconds("EIS_SESSION_TIMEOUT_S", 6.0),
            rebalance_timeout_s=env_seconds("EIS_REBALANCE_TIMEOUT_S", 6.0),
            heartbeat_interval_s=env_seconds("EIS_HEARTBEAT_INTERVAL_S", 1.0),
            commit_interval_s=env_seconds("EIS_COMMIT_INTERVAL_S", 0.5),
            commit_every_events=env_int("EIS_COMMIT_EVERY_EVENTS", 50),
            batch_size=env_int("EIS_ROUTER_BATCH", 1000),
            batch_within_s=env_seconds("EIS_ROUTER_BATCH_WITHIN_S", 0.02),
            data_dir=os.environ.get("EIS_WORKER_DATA_DIR", ".eis/worker"),
        )
