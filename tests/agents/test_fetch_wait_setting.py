"""Faust's hard-coded 1.5 s fetch wait is a setting (it is a private aiokafka attribute: pinned here)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from agents.app import create_app
from agents.settings import WorkerSettings
from schemas.config import load_pipeline_text
from schemas.metrics import Metrics

PIPELINE = """
service: fetchwait
ingestion: {protocols: [{http: {auth: none}}]}
routing: [{name: r, destinations: [{type: http, url: "http://127.0.0.1:1/"}]}]
"""


async def test_the_worker_consumer_uses_the_configured_fetch_wait(tmp_path) -> None:
    pipeline = load_pipeline_text(PIPELINE, environ={})
    settings = WorkerSettings(bootstrap="127.0.0.1:1", fetch_max_wait_ms=37, data_dir=str(tmp_path))
    app = create_app(pipeline, settings, Metrics(CollectorRegistry()))
    thread = app.consumer._new_consumer_thread()
    consumer = thread._create_worker_consumer(app.transport)
    assert consumer._fetch_max_wait_ms == 37
