"""The base of every config model: camelCase keys as the spec writes them, unknown keys refused."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

from schemas.config.durations import parse_duration_ms, parse_size_bytes


class ConfigModel(BaseModel):
    """Strict: an unknown or misspelt key is an error with its path, never silently dropped."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, alias_generator=to_camel, frozen=True,
    )


class OpenConfigModel(BaseModel):
    """For `{type, …}` sections whose remaining keys belong to the selected component's model."""

    model_config = ConfigDict(
        extra="allow", populate_by_name=True, alias_generator=to_camel, frozen=True,
    )

    def __repr_args__(self) -> Any:
        # The extra keys may hold secrets (a verifier's `secret`): never print their values.
        for name, value in super().__repr_args__():
            yield (name, "**********" if name in (self.model_extra or {}) else value)

    def component_settings(self) -> dict[str, Any]:
        """The keys this model does not declare: the selected component validates them."""
        return dict(self.model_extra or {})


DurationMs = Annotated[int, BeforeValidator(parse_duration_ms)]
SizeBytes = Annotated[int, BeforeValidator(parse_size_bytes)]
