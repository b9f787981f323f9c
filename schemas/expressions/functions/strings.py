"""String functions. A null or non-string value argument gives null (missing data flows through)."""

from __future__ import annotations

from typing import Any

from ..errors import ExpressionEvaluationError, ExpressionLimitError
from ..limits import MAX_LIST_LENGTH, MAX_STRING_LENGTH, charge
from ..runtime import to_text
from . import regex
from . import spec as fn


def _is_int(v: Any) -> bool:
    return type(v) is int


def concat(b: list[int], *values: Any) -> str:
    parts = [to_text(v) for v in values]
    total = sum(len(p) for p in parts)
    charge(b, total >> 6)
    if total > MAX_STRING_LENGTH:
        raise ExpressionLimitError(f"concat result exceeds {MAX_STRING_LENGTH} characters")
    return "".join(parts)


def split(b: list[int], s: Any, sep: Any = None) -> list[str] | None:
    if type(s) is not str:
        return None
    if len(s) > 1024:  # small inputs are cheap; only charge (and pre-count) big ones
        charge(b, len(s) >> 4)
    if sep is None:
        parts = s.split()
    elif type(sep) is str and sep:
        if len(s) >= MAX_LIST_LENGTH and s.count(sep) >= MAX_LIST_LENGTH:
            raise ExpressionLimitError(f"split result exceeds {MAX_LIST_LENGTH} elements")
        parts = s.split(sep)
    else:
        raise ExpressionEvaluationError("split: the separator must be a non-empty string")
    if len(parts) > MAX_LIST_LENGTH:
        raise ExpressionLimitError(f"split result exceeds {MAX_LIST_LENGTH} elements")
    return parts


def join(b: list[int], items: Any, sep: Any = "") -> str | None:
    if type(items) is not list or type(sep) is not str:
        return None
    charge(b, len(items))
    parts = [to_text(x) for x in items]
    total = sum(len(p) for p in parts) + len(sep) * max(len(parts) - 1, 0)
    if total > MAX_STRING_LENGTH:
        raise ExpressionLimitError(f"join result exceeds {MAX_STRING_LENGTH} characters")
    return sep.join(parts)


def lower(s: Any) -> str | None:
    return s.lower() if type(s) is str else None


def upper(s: Any) -> str | None:
    return s.upper() if type(s) is str else None


def trim(s: Any, chars: Any = None) -> str | None:
    if type(s) is not str:
        return None
    return s.strip(chars if type(chars) is str else None)


def replace(b: list[int], s: Any, old: Any, new: Any) -> str | None:
    if type(s) is not str or type(old) is not str or type(new) is not str or not old:
        return None
    count = s.count(old)
    if len(s) + count * (len(new) - len(old)) > MAX_STRING_LENGTH:
        raise ExpressionLimitError(f"replace result exceeds {MAX_STRING_LENGTH} characters")
    charge(b, len(s) >> 4)
    return s.replace(old, new)


def _regex_text(b: list[int], s: Any, pattern: Any) -> Any:
    if type(pattern) is not str:
        raise ExpressionEvaluationError("the regex pattern must be a string")
    compiled = regex.compile_regex(pattern)
    if type(s) is not str:
        return None
    regex.check_input(s)
    charge(b, len(s) >> 2)
    return compiled


def regex_match(b: list[int], s: Any, pattern: Any) -> bool:
    compiled = _regex_text(b, s, pattern)
    return compiled is not None and compiled.search(s) is not None


def regex_extract(b: list[int], s: Any, pattern: Any, group: Any = 0) -> str | None:
    compiled = _regex_text(b, s, pattern)
    if compiled is None:
        return None
    m = compiled.search(s)
    if m is None:
        return None
    try:
        value = m.group(group)
    except (IndexError, TypeError, KeyError):
        raise ExpressionEvaluationError(f"regex_extract: no group {group!r}") from None
    return value if type(value) is str else None


def regex_replace(b: list[int], s: Any, pattern: Any, replacement: Any) -> str | None:
    compiled = _regex_text(b, s, pattern)
    if compiled is None or type(replacement) is not str:
        return None
    produced = [len(s)]

    def expand(m: Any) -> str:
        # Expand one match at a time so the output size is checked as it grows.
        try:
            out = str(m.expand(replacement))
        except (IndexError, KeyError, Exception) as exc:  # noqa: BLE001 - engine errors
            raise ExpressionEvaluationError(f"regex_replace: bad replacement: {exc}") from None
        produced[0] += len(out)
        if produced[0] > MAX_STRING_LENGTH:
            raise ExpressionLimitError(
                f"regex_replace result exceeds {MAX_STRING_LENGTH} characters"
            )
        return out

    return str(compiled.sub(expand, s))


def substring(s: Any, start: Any, end: Any = None) -> str | None:
    if type(s) is not str or not _is_int(start) or not (end is None or _is_int(end)):
        return None
    return s[start:end]


def truncate(s: Any, length: Any, suffix: Any = "") -> str | None:
    if type(s) is str and type(length) is int and length >= 0 and type(suffix) is str:
        return s if len(s) <= length else s[:length] + suffix
    return None


def pad(s: Any, width: Any, fill: Any = " ", side: Any = "left") -> str | None:
    if s is None or not _is_int(width) or type(fill) is not str or len(fill) != 1:
        return None
    if width > MAX_STRING_LENGTH:
        raise ExpressionLimitError(f"pad width exceeds {MAX_STRING_LENGTH} characters")
    text = to_text(s)
    if side == "left":
        return text.rjust(width, fill)
    if side == "right":
        return text.ljust(width, fill)
    raise ExpressionEvaluationError("pad: side must be 'left' or 'right'")


def pad_left(s: Any, width: Any, fill: Any = " ") -> str | None:
    return pad(s, width, fill, "left")


def pad_right(s: Any, width: Any, fill: Any = " ") -> str | None:
    return pad(s, width, fill, "right")


def format_(b: list[int], template: Any, *args: Any) -> str | None:
    """`{}` takes the next argument, `{0}` a numbered one, `{{`/`}}` are literal braces.

    Implemented by hand: str.format on tenant text would allow attribute access (`{0.__class__}`).
    """
    if type(template) is not str:
        return None
    out: list[str] = []
    size, i, auto = 0, 0, 0
    while i < len(template):
        ch = template[i]
        if ch in "{}" and template.startswith(ch * 2, i):
            out.append(ch)
            i += 2
            size += 1
            continue
        if ch == "{":
            close = template.find("}", i)
            field = template[i + 1 : close] if close > 0 else "x"
            if field == "":
                index, auto = auto, auto + 1
            elif field.isdigit() and len(field) < 6:
                index = int(field)
            else:
                raise ExpressionEvaluationError("format: placeholders are {} or {N}")
            if index >= len(args):
                raise ExpressionEvaluationError(f"format: no argument for placeholder {index}")
            piece = to_text(args[index])
            i = close + 1
        else:
            piece, i = ch, i + 1
        out.append(piece)
        size += len(piece)
        if size > MAX_STRING_LENGTH:
            raise ExpressionLimitError(f"format result exceeds {MAX_STRING_LENGTH} characters")
    charge(b, size >> 6)
    return "".join(out)


def startswith(s: Any, prefix: Any) -> bool:
    return type(s) is str and type(prefix) is str and s.startswith(prefix)


def endswith(s: Any, suffix: Any) -> bool:
    return type(s) is str and type(suffix) is str and s.endswith(suffix)


def contains(b: list[int], container: Any, item: Any) -> bool:
    from ..runtime import contains as _in

    return _in(b, item, container)


def length(value: Any) -> int | None:
    if type(value) in (str, list) or isinstance(value, dict):
        return len(value)
    return None


FUNCTIONS = (
    fn(
        "concat",
        concat,
        (1, None),
        "Join the text of all arguments (null is empty).",
        "concat('order-', 42)",
        "order-42",
        budget=True,
    ),
    fn(
        "split",
        split,
        (1, 2),
        "Split a string by a separator (default: whitespace).",
        "split('refs/heads/main', '/')",
        ["refs", "heads", "main"],
        budget=True,
    ),
    fn(
        "join",
        join,
        (1, 2),
        "Join list elements' text with a separator.",
        "join(['a', 'b', 'c'], ', ')",
        "a, b, c",
        budget=True,
    ),
    fn("lower", lower, (1, 1), "Lower-case a string.", "lower('PUSH')", "push"),
    fn("upper", upper, (1, 1), "Upper-case a string.", "upper('eur')", "EUR"),
    fn(
        "trim",
        trim,
        (1, 2),
        "Strip whitespace (or the given characters) from both ends.",
        "trim('  hi  ')",
        "hi",
    ),
    fn(
        "replace",
        replace,
        (3, 3),
        "Replace every occurrence of a substring.",
        "replace('order.placed', '.', '-')",
        "order-placed",
        budget=True,
    ),
    fn(
        "regex_match",
        regex_match,
        (2, 2),
        "True when the regex matches anywhere in the string.",
        "regex_match('INV-2024-001', '^INV-\\\\d{4}-')",
        True,
        budget=True,
    ),
    fn(
        "regex_extract",
        regex_extract,
        (2, 3),
        "The first match (or a group of it), else null.",
        "regex_extract('order #123 shipped', '#(\\\\d+)', 1)",
        "123",
        budget=True,
    ),
    fn(
        "regex_replace",
        regex_replace,
        (3, 3),
        "Replace regex matches; the replacement may use \\\\1 or \\\\g<name>.",
        "regex_replace('a1b22c', '\\\\d+', '#')",
        "a#b#c",
        budget=True,
    ),
    fn(
        "substring",
        substring,
        (2, 3),
        "Characters from start (inclusive) to end (exclusive).",
        "substring('refs/heads/main', 11)",
        "main",
    ),
    fn(
        "truncate",
        truncate,
        (2, 3),
        "At most N characters, with an optional suffix when cut.",
        "truncate('9f8e7d6c5b4a', 7)",
        "9f8e7d6",
    ),
    fn(
        "pad",
        pad,
        (2, 4),
        "Pad to a width with a fill character on the 'left' (default) or 'right'.",
        "pad(7, 3, '0')",
        "007",
    ),
    fn("pad_left", pad_left, (2, 3), "Pad on the left to a width.", "pad_left('5', 2, '0')", "05"),
    fn(
        "pad_right",
        pad_right,
        (2, 3),
        "Pad on the right to a width.",
        "pad_right('ab', 4, '.')",
        "ab..",
    ),
    fn(
        "format",
        format_,
        (1, None),
        "Fill `{}` / `{N}` placeholders with the arguments' text.",
        "format('{} of {}', 3, 10)",
        "3 of 10",
        budget=True,
    ),
    fn(
        "startswith",
        startswith,
        (2, 2),
        "True when the string starts with the prefix.",
        "startswith('refs/heads/main', 'refs/heads/')",
        True,
    ),
    fn(
        "endswith",
        endswith,
        (2, 2),
        "True when the string ends with the suffix.",
        "endswith('invoice.payment_failed', '_failed')",
        True,
    ),
    fn(
        "contains",
        contains,
        (2, 2),
        "Substring of a string, element of a list or key of an object.",
        "contains(['a', 'b'], 'b')",
        True,
        budget=True,
    ),
    fn(
        "length",
        length,
        (1, 1),
        "Length of a string, list or object; null otherwise.",
        "length('hello')",
        5,
    ),
)
