"""The pipeline configuration: the spec's JSON/YAML format, parsed once into typed models."""

from schemas.config.compiled import (
    CompiledDestination,
    CompiledRoute,
    CompiledTransform,
    Pipeline,
    RetryPolicy,
)
from schemas.config.loader import load_pipeline, load_pipeline_text, parse_pipeline

__all__ = [
    "CompiledDestination",
    "CompiledRoute",
    "CompiledTransform",
    "Pipeline",
    "RetryPolicy",
    "load_pipeline",
    "load_pipeline_text",
    "parse_pipeline",
]
