"""Rubric + item -> chat messages. Pure: the same rubric and inputs give the same messages.

The template is Jinja2 with undefined variables as errors, rendered in Jinja's immutable sandbox
(a template cannot reach Python internals, call mutating methods or touch files); its rendered
text is split into messages at lines that read exactly ``[system]`` or ``[user]`` (see
``docs/formats.md``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import jinja2
import jinja2.exceptions
import jinja2.nodes
import jinja2.sandbox

from judgecal._model import sha256_json
from judgecal._rubric_model import Rubric
from judgecal.errors import RubricError
from judgecal.verdict import answer_format

__all__ = ["Message", "prompt_hash", "render_messages"]

Message = dict[str, str]
_MARKER = re.compile(r"^\[(system|user|assistant)\][ \t]*$", re.MULTILINE)


class _Sandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, which also refuses attributes that are paths (``rubric.directory``)."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(value, os.PathLike):
            return False
        return bool(super().is_safe_attribute(obj, attr, value))


_ENV = _Sandbox(
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=False,
    autoescape=False,  # noqa: S701 - prompts are plain text, not HTML
)


def _unsafe_names(source: str) -> Iterator[tuple[str, int]]:
    """``(name, line)`` of every private attribute the template names (``x.__class__``,
    ``x["_y"]``, ``x|attr("_y")``), found without rendering so untaken branches count too."""
    for node in _ENV.parse(source).find_all(
        (jinja2.nodes.Getattr, jinja2.nodes.Getitem, jinja2.nodes.Filter)
    ):
        if isinstance(node, jinja2.nodes.Getattr):
            name: object = node.attr
        elif isinstance(node, jinja2.nodes.Getitem):
            name = node.arg.value if isinstance(node.arg, jinja2.nodes.Const) else None
        elif (
            isinstance(node, jinja2.nodes.Filter)
            and node.name == "attr"
            and node.args
            and isinstance(node.args[0], jinja2.nodes.Const)
        ):
            name = node.args[0].value
        else:
            continue
        if isinstance(name, str) and name.startswith("_"):
            yield name, node.lineno


def _template_line(exc: BaseException) -> int | None:
    """The template line a render-time error was raised at (Jinja rewrites tracebacks to it)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _where(rubric: Rubric, line: int | None = None) -> str:
    where = str(rubric.directory / rubric.template)
    return f"{where}:{line}" if line else where


@lru_cache(maxsize=64)
def _compile(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


def _split(text: str) -> list[Message]:
    parts = _MARKER.split(text)
    messages: list[Message] = []
    if parts[0].strip():
        raise ValueError("text before the first [system] or [user] line")
    for role, body in zip(parts[1::2], parts[2::2], strict=True):
        content = body.strip("\n").strip()
        if content:
            messages.append({"role": role, "content": content})
    if not messages or messages[-1]["role"] != "user":
        raise ValueError("the template must end with a [user] message")
    return messages


def render_messages(rubric: Rubric, inputs: Mapping[str, str]) -> list[Message]:
    """Render the rubric's template for one item's ``inputs``.

    >>> from judgecal.rubric import find_rubric
    >>> r = find_rubric("support-billing")
    >>> msgs = render_messages(r, {"input": "Hi", "output": "Hello!"})
    >>> [m["role"] for m in msgs][-1], "<output>Hello!</output>" in msgs[-1]["content"]
    ('user', True)
    """
    missing = [name for name in rubric.inputs if name not in inputs]
    if missing:
        raise RubricError(f"item lacks inputs {missing} that rubric {rubric.name!r} needs")
    context: dict[str, Any] = {name: inputs[name] for name in rubric.inputs}
    context["rubric"] = rubric
    context["examples"] = rubric.examples
    context["answer_format"] = answer_format(rubric)
    try:
        text = _compile(rubric.template_source).render(context)
    except jinja2.exceptions.SecurityError as exc:
        raise RubricError(
            f"template refused by the sandbox: {exc}", location=_where(rubric, _template_line(exc))
        ) from None
    return _split(text)


def prompt_hash(messages: list[Message]) -> str:
    """SHA-256 of the messages' canonical JSON: the identity of a rendered prompt."""
    return sha256_json(messages)


def check_template(rubric: Rubric) -> None:
    """Compile the template and render it once with placeholder inputs; raise RubricError."""
    where = _where(rubric)
    try:
        _compile(rubric.template_source)
    except jinja2.TemplateSyntaxError as exc:
        raise RubricError(f"template syntax error: {exc.message}", location=f"{where}:{exc.lineno}") from None
    unsafe = list(_unsafe_names(rubric.template_source))
    if unsafe:
        line = min(n for _, n in unsafe)
        names = list(dict.fromkeys(reversed([name for name, n in unsafe if n == line])))  # a.b.c: a first
        raise RubricError(
            f"template refused: access to private attributes ({', '.join(map(repr, names))}) is not allowed",
            location=_where(rubric, line),
        )
    sample: dict[str, str] = {name: f"<{name} placeholder>" for name in rubric.inputs}
    try:
        render_messages(rubric, sample)
    except jinja2.UndefinedError as exc:
        raise RubricError(
            f"template uses an undefined variable ({exc.message}); available: rubric, examples, "
            f"answer_format and the rubric's inputs {rubric.inputs}",
            location=where,
        ) from None
    except jinja2.TemplateError as exc:
        raise RubricError(f"template error: {exc}", location=_where(rubric, _template_line(exc))) from None
    except ValueError as exc:
        raise RubricError(f"template: {exc}", location=where) from None


def messages_text(messages: list[Message]) -> str:
    """Messages as readable text (for ``judgecal rubrics render``)."""
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)
