"""Object functions: keys, values, merge, pick, omit, flatten to dotted keys and expand back."""

from __future__ import annotations

from typing import Any

from ..errors import ExpressionLimitError
from ..limits import MAX_LIST_LENGTH, charge
from . import spec as fn


def keys(obj: Any) -> list[str] | None:
    return list(obj) if isinstance(obj, dict) else None


def values(obj: Any) -> list[Any] | None:
    return list(obj.values()) if isinstance(obj, dict) else None


def merge(b: list[int], *objs: Any) -> dict[str, Any]:
    """Shallow merge, later objects win; non-objects are skipped."""
    out: dict[str, Any] = {}
    for o in objs:
        if isinstance(o, dict):
            charge(b, len(o))
            out.update(o)
    return out


def _key_list(names: tuple[Any, ...]) -> list[Any]:
    if len(names) == 1 and type(names[0]) is list:
        return list(names[0])
    return list(names)


def pick(b: list[int], obj: Any, *names: Any) -> dict[str, Any] | None:
    if not isinstance(obj, dict):
        return None
    wanted = _key_list(names)
    charge(b, len(wanted))
    return {k: obj[k] for k in wanted if type(k) is str and k in obj}


def omit(b: list[int], obj: Any, *names: Any) -> dict[str, Any] | None:
    if not isinstance(obj, dict):
        return None
    drop = {k for k in _key_list(names) if type(k) is str}
    charge(b, len(obj) + len(drop))
    return {k: v for k, v in obj.items() if k not in drop}


def flatten_object(b: list[int], obj: dict[str, Any]) -> dict[str, Any]:
    """``{a: {b: 1}}`` → ``{'a.b': 1}`` (iterative; lists are kept as values)."""
    out: dict[str, Any] = {}
    stack: list[tuple[str, Any]] = [("", obj)]
    while stack:
        prefix, value = stack.pop()
        if isinstance(value, dict) and value:
            charge(b, len(value))
            for k, v in reversed(list(value.items())):
                stack.append((f"{prefix}.{k}" if prefix else str(k), v))
        elif prefix:
            out[prefix] = value
            if len(out) > MAX_LIST_LENGTH:
                raise ExpressionLimitError(f"flatten result exceeds {MAX_LIST_LENGTH} keys")
    return out


def expand(b: list[int], obj: Any) -> dict[str, Any] | None:
    """``{'a.b': 1}`` → ``{a: {b: 1}}``; a later key wins over a conflicting earlier one."""
    if not isinstance(obj, dict):
        return None
    charge(b, len(obj))
    out: dict[str, Any] = {}
    for key, value in obj.items():
        parts = str(key).split(".")
        node = out
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = node[part] = {}
            node = nxt
        node[parts[-1]] = value
    return out


FUNCTIONS = (
    fn("keys", keys, (1, 1), "The keys of an object.", "keys({a: 1, b: 2})", ["a", "b"]),
    fn("values", values, (1, 1), "The values of an object.", "values({a: 1, b: 2})", [1, 2]),
    fn(
        "merge",
        merge,
        (1, None),
        "Shallow-merge objects; later ones win.",
        "merge({a: 1, b: 1}, {b: 2})",
        {"a": 1, "b": 2},
        budget=True,
    ),
    fn(
        "pick",
        pick,
        (2, None),
        "Only the given keys (as arguments or one list).",
        "pick({a: 1, b: 2, c: 3}, 'a', 'c')",
        {"a": 1, "c": 3},
        budget=True,
    ),
    fn(
        "omit",
        omit,
        (2, None),
        "All but the given keys.",
        "omit({a: 1, b: 2}, ['b'])",
        {"a": 1},
        budget=True,
    ),
    fn(
        "expand",
        expand,
        (1, 1),
        "Dotted keys back into nested objects (inverse of flatten).",
        "expand({'a.b': 1, 'a.c': 2})",
        {"a": {"b": 1, "c": 2}},
        budget=True,
    ),
)
