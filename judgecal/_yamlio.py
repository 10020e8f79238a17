"""YAML loading that remembers the line of every value, and pydantic errors turned into
``file:line: field: message`` errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from judgecal.errors import InputError

Loc = tuple[str | int, ...]


class _Lines(dict[Loc, int]):
    """Maps a path of keys/indexes to the 1-based line where its value starts."""

    def line_of(self, loc: Loc) -> int | None:
        while True:
            if loc in self:
                return self[loc]
            if not loc:
                return None
            loc = loc[:-1]


MAX_YAML_BYTES = 1024 * 1024
"""Files larger than this are refused before parsing."""
MAX_ALIASES = 100
"""At most this many ``*alias`` references in one file."""
MAX_ALIAS_EXPANSION = 10_000
"""At most this many values re-used through aliases while building the data (a "billion laughs"
file has few aliases but expands to billions of values; it is refused when it reaches this)."""


class _Limited(yaml.SafeLoader):
    """The safe loader, counting ``*alias`` references while it composes."""

    def __init__(self, stream: str, where: str) -> None:
        super().__init__(stream)
        self.where = where
        self.aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise InputError(
                    f"more than {MAX_ALIASES} YAML aliases (*name); write the values out instead",
                    location=f"{self.where}:{mark.line + 1}",
                )
        return super().compose_node(parent, index)  # type: ignore[no-any-return]


class _Builder:
    """Turns composed nodes into data, recording lines and bounding alias expansion."""

    def __init__(self, lines: _Lines, where: str) -> None:
        self.lines = lines
        self.where = where
        self.seen: set[int] = set()
        self.reused = 0

    def build(self, node: yaml.Node, path: Loc, fresh_line: int) -> Any:
        if id(node) in self.seen:  # reached again through an alias
            self.reused += 1
            if self.reused > MAX_ALIAS_EXPANSION:
                raise InputError(
                    f"YAML aliases expand to more than {MAX_ALIAS_EXPANSION} values; "
                    "write the values out instead",
                    location=f"{self.where}:{fresh_line}",
                )
        else:
            self.seen.add(id(node))
            fresh_line = node.start_mark.line + 1
        lines = self.lines
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise InputError(
                        "a key must be a plain value, not a list or mapping",
                        location=f"{self.where}:{key_node.start_mark.line + 1}",
                    )
                key = yaml.SafeLoader(  # a scalar key, constructed the same way PyYAML would
                    ""
                ).construct_object(key_node)
                if key in out:
                    raise InputError(
                        "duplicate key",
                        location=f"{self.where}:{key_node.start_mark.line + 1}",
                        field=str(key),
                    )
                lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, (*path, key), fresh_line)
                lines[(*path, key)] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, (*path, i), fresh_line) for i, v in enumerate(node.value)]
        return yaml.SafeLoader("").construct_object(node)


def load_yaml(path: Path, error: type[InputError] = InputError) -> tuple[Any, _Lines]:
    """Parse a YAML file into Python data plus a map from key paths to line numbers.

    Refuses, with ``error``, files over :data:`MAX_YAML_BYTES` (before parsing), more than
    :data:`MAX_ALIASES` aliases and aliases that expand past :data:`MAX_ALIAS_EXPANSION` values.
    """
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_YAML_BYTES + 1)
    except OSError as exc:
        raise error(f"cannot read file ({exc.strerror})", location=str(path)) from None
    if len(raw) > MAX_YAML_BYTES:
        raise error(
            f"file is larger than {MAX_YAML_BYTES} bytes (1 MiB); refusing to parse it", location=str(path)
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error("file is not UTF-8 text", location=str(path)) from None
    return parse_yaml(text, str(path), error)


def parse_yaml(text: str, where: str, error: type[InputError] = InputError) -> tuple[Any, _Lines]:
    """:func:`load_yaml` for text already read (``where`` names it in errors)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_YAML_BYTES:
        raise error(
            f"file is larger than {MAX_YAML_BYTES} bytes (1 MiB); refusing to parse it", location=where
        )
    lines = _Lines()
    try:
        loader = _Limited(text, where)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        if node is None:
            return None, lines
        return _Builder(lines, where).build(node, (), 1), lines
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"not valid YAML: {problem}", location=f"{where}{line}") from None
    except RecursionError:
        raise error("YAML is nested too deeply", location=where) from None
    except InputError as exc:
        raise error(exc.detail, location=exc.location, field=exc.field) from None


def field_name(loc: Loc) -> str:
    """``('criteria', 2, 'id')`` -> ``criteria[2].id``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def error_message(error: Any) -> str:
    """One pydantic error (an ``exc.errors()`` entry) as a sentence for people."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch":
        return f"{error['input']!r} must match {error['ctx']['pattern']}"
    return str(error["msg"]).removeprefix("Value error, ")


def raise_validation(
    exc: ValidationError,
    where: str,
    line_of: Callable[[Loc], int | None],
    error: type[InputError] = InputError,
) -> None:
    """Re-raise the first pydantic error as ``error`` with file, line and field."""
    first = exc.errors()[0]
    loc: Loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    line = line_of(loc)
    message = error_message(first)
    extra = len(exc.errors()) - 1
    if extra:
        message += f" (and {extra} more error{'s' if extra > 1 else ''})"
    location = f"{where}:{line}" if line else where
    raise error(message, location=location, field=field_name(loc)) from None
