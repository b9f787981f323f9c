"""Typed errors shared by every role: each carries what a user needs to fix the problem."""

from __future__ import annotations

from dataclasses import dataclass


class EisError(Exception):
    """Base of every error EIS raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a pipeline configuration, located by its config path."""

    path: str
    message: str
    not_supported: bool = False

    def __str__(self) -> str:
        prefix = "not supported yet: " if self.not_supported else ""
        return f"{self.path or '<root>'}: {prefix}{self.message}"


class ConfigError(EisError):
    """A configuration that cannot be used; lists every problem with its path."""

    def __init__(self, problems: list[ConfigProblem], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s){where}:\n{lines}")

    @property
    def only_not_supported(self) -> bool:
        """True when the configuration is valid but uses parts a later release implements."""
        return all(p.not_supported for p in self.problems)


class DecodeError(EisError):
    """A record that cannot be decoded into the contract it claims (poison input)."""


class UnknownComponentError(EisError):
    """A `type` name that no registry knows; lists the known ones."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.known = known
        super().__init__(f"unknown {kind} type `{name}`, expected one of: {', '.join(known)}")
