"""Split fio's output file into its JSON documents and its stray diagnostic lines.

With --status-interval fio appends one complete document per interval, and it may write
lines such as "fio: terminating on signal 2" into the same file. fio writes each document with
buffered stdio, so a reader following the file while fio runs can see half a document.
"""

from __future__ import annotations

import codecs
import json
import re
from collections import deque
from collections.abc import MutableSequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO


@dataclass(frozen=True)
class OutputStream:
    documents: tuple[dict[str, Any], ...]
    diagnostics: tuple[str, ...]
    truncated: bool
    """True when the text ends inside a document (fio killed mid-write, or read while running)."""


def split_documents(text: str) -> OutputStream:
    """The whole output of a finished fio: its documents and its other lines."""
    diagnostics: list[str] = []
    documents, position = _scan(text, diagnostics, final=True)
    rest = text[position:]
    truncated = rest.lstrip().startswith("{")
    if not truncated:
        _add_lines(diagnostics, rest)
    return OutputStream(tuple(documents), tuple(diagnostics), truncated)


MAX_PENDING_CHARS = 4 * 1024 * 1024
"""A fio document is a few kB per job; this much text without a complete one is not fio's."""
MAX_DIAGNOSTICS = 100
MAX_LINE_CHARS = 500
_READ_CHUNK_BYTES = 1024 * 1024
_UNINDENTED_LINE = re.compile(r"\n\S")


class DocumentTail:
    """Follows fio's output file while fio runs, yielding each complete document once.

    Reads only the bytes appended since the last call and keeps at most one unfinished document
    in memory, so a two-hour run with a status document every second costs no more than a short
    one. The file is opened when it first appears (fio creates it at start-up).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: BinaryIO | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._diagnostics: deque[str] = deque(maxlen=MAX_DIAGNOSTICS)

    @property
    def diagnostics(self) -> tuple[str, ...]:
        """Stray lines seen so far (the last MAX_DIAGNOSTICS), for error messages."""
        return tuple(self._diagnostics)

    @property
    def truncated(self) -> bool:
        """True when the text read so far ends inside a document."""
        return self._pending.lstrip().startswith("{")

    def read_new(self) -> list[dict[str, Any]]:
        """The documents completed since the last call, oldest first."""
        if self._handle is None:
            try:
                self._handle = self.path.open("rb")
            except FileNotFoundError:
                return []
        while chunk := self._handle.read(_READ_CHUNK_BYTES):
            self._pending += self._decoder.decode(chunk)
        return self._take_documents()

    def finish(self) -> list[dict[str, Any]]:
        """After fio has exited: the last documents, and any trailing text as diagnostics."""
        documents = self.read_new()
        self._pending += self._decoder.decode(b"", final=True)
        documents += self._take_documents(final=True)
        if not self.truncated:
            self._add_lines(self._pending)
            self._pending = ""
        return documents

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _take_documents(self, *, final: bool = False) -> list[dict[str, Any]]:
        documents, position = _scan(self._pending, self._diagnostics, final=final)
        self._pending = self._pending[position:]
        return documents

    def _add_lines(self, text: str) -> None:
        _add_lines(self._diagnostics, text)


def _scan(
    text: str, diagnostics: MutableSequence[str], *, final: bool
) -> tuple[list[dict[str, Any]], int]:
    """The complete documents in `text` and how far they (and stray lines) reach.

    A "{" that does not parse is fio still writing a document, unless it cannot be one: fio's
    documents start with a bare "{" line and indent every line but their last.
    """
    decoder = json.JSONDecoder()
    documents: list[dict[str, Any]] = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        line_end = text.find("\n", position)
        if text[position] == "{":
            try:
                document, end = decoder.raw_decode(text, position)
            except json.JSONDecodeError:
                unfinished = line_end == -1 or _could_be_unfinished(text, position, line_end)
                if unfinished and (final or len(text) - position <= MAX_PENDING_CHARS):
                    break  # fio is still writing this document (or was cut short)
            else:
                if isinstance(document, dict):
                    documents.append(document)
                position = end
                continue
        elif line_end == -1 and not final:
            break  # the rest of this line has not been written yet
        if line_end == -1:
            line_end = len(text)
        _add_lines(diagnostics, text[position:line_end])
        position = line_end + 1
    return documents, min(position, len(text))


def _could_be_unfinished(text: str, position: int, line_end: int) -> bool:
    if text[position:line_end].strip() != "{":
        return False
    return _UNINDENTED_LINE.search(text, line_end) is None


def _add_lines(diagnostics: MutableSequence[str], text: str) -> None:
    for line in text.splitlines():
        if line.strip():
            diagnostics.append(line.strip()[:MAX_LINE_CHARS])
