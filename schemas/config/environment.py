"""`${NAME}` substitution from the environment, done once at load.

The rule that keeps it unambiguous: `${NAME}` whose NAME is UPPER_SNAKE_CASE (`[A-Z_][A-Z0-9_]*`)
is an environment variable, replaced when the file loads (`${NAME:-fallback}` gives a fallback);
a missing variable is a load-time error. Every other `${…}` — `${deviceId}`, `${$.user.id}` — is
an event-field placeholder left for the expression language's templates. `$${` writes a literal
`${`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from schemas.errors import ConfigProblem

_ENV_REF = re.compile(r"\$\$\{|\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")


def format_path(parts: tuple[str | int, ...]) -> str:
    """Render a location as users write it: `routing[1].destinations[0].url`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def substitute(
    tree: Any, environ: Mapping[str, str], problems: list[ConfigProblem],
    path: tuple[str | int, ...] = (),
) -> Any:
    """Return `tree` with environment references replaced; record each missing variable."""
    if isinstance(tree, str):
        return _substitute_text(tree, environ, problems, path)
    if isinstance(tree, dict):
        return {key: substitute(value, environ, problems, (*path, key)) for key, value in tree.items()}
    if isinstance(tree, list):
        return [substitute(value, environ, problems, (*path, i)) for i, value in enumerate(tree)]
    return tree


def _substitute_text(
    text: str, environ: Mapping[str, str], problems: list[ConfigProblem],
    path: tuple[str | int, ...],
) -> str:
    if "${" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, fallback = match.group(1), match.group(2)
        value = environ.get(name)
        if value is not None:
            return value
        if fallback is not None:
            return fallback
        problems.append(ConfigProblem(
            format_path(path), f"environment variable {name} is not set (referenced as ${{{name}}})"
        ))
        return match.group(0)

    return _ENV_REF.sub(replace, text)
