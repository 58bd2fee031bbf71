"""Split fio's output file into its JSON documents and its stray diagnostic lines.

With --status-interval fio appends one complete document per interval, and it may write
lines such as "fio: terminating on signal 2" into the same file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OutputStream:
    documents: tuple[dict[str, Any], ...]
    diagnostics: tuple[str, ...]
    truncated: bool
    """True when the text ends inside a document (fio killed mid-write, or read while running)."""


def split_documents(text: str) -> OutputStream:
    decoder = json.JSONDecoder()
    documents: list[dict[str, Any]] = []
    diagnostics: list[str] = []
    truncated = False
    position = 0
    length = len(text)
    while position < length:
        char = text[position]
        if char.isspace():
            position += 1
            continue
        if char == "{":
            try:
                document, end = decoder.raw_decode(text, position)
            except json.JSONDecodeError:
                truncated = True
                break
            if isinstance(document, dict):
                documents.append(document)
            position = end
            continue
        line_end = text.find("\n", position)
        if line_end == -1:
            line_end = length
        diagnostics.append(text[position:line_end].strip())
        position = line_end + 1
    return OutputStream(tuple(documents), tuple(diagnostics), truncated)
