"""The ingress's part of config validation: verification schemes and provider names."""

from __future__ import annotations

from ingress.providers import check_providers
from ingress.verification import check_webhooks
from schemas.config import Pipeline
from schemas.errors import ConfigProblem


def check_sources(pipeline: Pipeline) -> list[ConfigProblem]:
    """Every problem with the pipeline's webhook sources."""
    webhooks = pipeline.spec.webhooks
    return check_webhooks(webhooks) + check_providers(webhooks)
