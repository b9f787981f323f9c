"""Load a pipeline with every role's checks: destination types, verification schemes, providers.

Only ops/ sees all roles at once; each role also checks its own part when it starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from schemas.config import Pipeline, load_pipeline
from schemas.config.loader import PipelineCheck

DEFAULT_CONFIG_ENV = "EIS_CONFIG"


def all_checks() -> list[PipelineCheck]:
    """The component checks of every role (imported here, lazily, to keep roles independent)."""
    from connectors.registry import check_destinations
    from ingress.checks import check_sources

    return [check_destinations, check_sources]


def load_checked(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Pipeline:
    """Load `path` (or $EIS_CONFIG) and validate it completely; raises ConfigError."""
    if path is None:
        path = os.environ.get(DEFAULT_CONFIG_ENV)
    if path is None:
        raise SystemExit("no configuration: pass -c FILE or set EIS_CONFIG")
    return load_pipeline(path, environ, checks=all_checks())
