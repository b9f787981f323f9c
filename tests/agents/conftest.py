"""An unstarted worker app, for tests pinned against the Faust consumer's bookkeeping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from agents.app import create_app
from agents.settings import WorkerSettings
from schemas.config import load_pipeline_text
from schemas.metrics import Metrics

PIPELINE = """
service: skipped
ingestion: {protocols: [{http: {auth: none}}]}
routing: [{name: r, destinations: [{type: http, url: "http://127.0.0.1:1/"}]}]
"""


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    """An unstarted worker app whose conductor knows the inbound topic acks; flow active."""
    pipeline = load_pipeline_text(PIPELINE, environ={})
    app = create_app(pipeline, WorkerSettings(bootstrap="127.0.0.1:1", data_dir=str(tmp_path)),
                     Metrics(CollectorRegistry()))
    topic = pipeline.topics.inbound(pipeline.source_ids[0])
    app.topics._acking_topics.add(topic)   # what the conductor does once it has subscribed
    app.flow_control.resume()
    yield app, topic
