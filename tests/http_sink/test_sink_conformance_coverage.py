"""Meta-test (STYLE.md 12): every registered destination type runs the sink conformance suite."""

from __future__ import annotations

import importlib
from pathlib import Path

from connectors.registry import KNOWN_DESTINATIONS
from tests.http_sink.sink_conformance import SinkConformance

TESTS = Path(__file__).resolve().parents[1]


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(c) for c in found)) if found else found


def test_every_registered_destination_type_has_a_conformance_suite_run() -> None:
    for path in TESTS.rglob("test_*.py"):
        if "SinkConformance" in path.read_text(encoding="utf-8") and path != Path(__file__):
            module = ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)
            importlib.import_module(module)
    covered = {getattr(c, "destination_type", None) for c in _subclasses(SinkConformance)
               if c.__name__.startswith("Test")}
    missing = sorted(set(KNOWN_DESTINATIONS) - covered)
    assert not missing, f"destination type(s) without a SinkConformance run: {', '.join(missing)}"
