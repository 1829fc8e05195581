"""Griffe extension for the API reference: docstrings written for ``help()`` read as Markdown.

The library's docstrings hold doctests (``>>> ...`` lines and their output) outside any code
fence, and index expressions like ``M[j][a]`` or ``[Y_a, Y_b](t0)`` in prose; Markdown would
read those brackets as links.  This extension wraps every doctest block (from a ``>>>`` line to
the next blank line) in a ``pycon`` fence and escapes, outside code, a ``[`` that follows a
word character or ``]`` and a ``]`` followed by ``(``.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_CODE = re.compile(r"(``.+?``|`[^`]+`)")
_INDEX_OPEN = re.compile(r"(?<=[\w\]])\[")
_LINK_CLOSE = re.compile(r"\](?=\((?!https?:))")


def escape_brackets(line: str) -> str:
    """Escape index brackets outside inline code so that Markdown does not see links."""
    parts = _CODE.split(line)
    for i in range(0, len(parts), 2):
        parts[i] = _LINK_CLOSE.sub(r"\\]", _INDEX_OPEN.sub(r"\\[", parts[i]))
    return "".join(parts)


def fence_doctests(text: str) -> str:
    """Wrap each doctest block of ``text`` in a ```` ```pycon ```` fence."""
    out: list[str] = []
    in_fence = in_doctest = False
    indent = ""
    for line in text.splitlines():
        stripped = line.strip()
        if in_doctest and not stripped:
            out.append(indent + "```")
            in_doctest = False
        if not in_doctest and stripped.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and not in_doctest and (stripped == ">>>"
                                                  or stripped.startswith(">>> ")):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + "```pycon")
            in_doctest = True
        out.append(line if in_fence or in_doctest or line.startswith("    ")
                   else escape_brackets(line))
    if in_doctest:
        out.append(indent + "```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fence the doctests and escape the index brackets of every docstring."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
