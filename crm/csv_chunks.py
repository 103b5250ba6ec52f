"""A CSV's body cut into chunks of whole records, as text, for worker processes to parse.

Parsing a million-row file in the import's writer cost it 5 µs a row, and shipping the parsed
values to the workers 1 µs more: a sixth of the serial stage of a bulk load. The writer now
only reads physical lines (in C) and cuts after a line where the quote characters seen since
the chunk began are even: outside a quoted field, in any well-formed CSV. A worker parses its
chunk with the same dialect and checks that the chunk did end between records (a stray quote
inside an unquoted field can fool the count); when it did not, `Misaligned` is raised and the
caller parses the rest of the file in order instead (`records_from`), as before.
"""
from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from typing import NamedTuple

Records = list[tuple[int, list[str]]]  # (line of the record's last physical line, values)
# What csv.reader needs to parse as the sniffed dialect did (a sniffed dialect is a class made
# on the fly, which does not pickle).
_FORMAT = ("delimiter", "quotechar", "escapechar", "doublequote", "skipinitialspace", "lineterminator", "quoting",
           "strict")
# A last line appended to every chunk: parsed back as a record of its own only when the chunk
# ended outside a quoted field (a private-use character no export writes).
_END = "\ue000"


class TextChunk(NamedTuple):
    first_line: int  # line number of the chunk's first physical line
    text: str
    dialect: dict


class Misaligned(Exception):  # noqa: N818 (a condition, not an error: the caller parses in order)
    """The chunk ended inside a quoted field: it holds no whole records."""

    def __init__(self, first_line: int) -> None:
        super().__init__(first_line)
        self.first_line = first_line


def dialect_format(dialect) -> dict | None:
    """The dialect's parameters, or None when quotes cannot be counted to find records' ends
    (an escape character can hide a line break or a quote)."""
    complete = csv.reader([], dialect).dialect  # every parameter (a sniffed dialect lacks some)
    found = {name: getattr(complete, name) for name in _FORMAT}
    if found["escapechar"] is not None or (found["quotechar"] and not found["doublequote"]):
        return None
    return found


def text_chunks(lines: Iterator[str], first_line: int, dialect: dict, size: int) -> Iterator[TextChunk]:
    """`lines` (physical lines, as a file opened with newline="" gives them) in chunks of at
    least `size` lines, each ending where the quote characters are balanced."""
    quote = dialect["quotechar"] if dialect["quoting"] != csv.QUOTE_NONE else None
    while True:
        taken = list(itertools.islice(lines, size))
        if not taken:
            return
        if quote:
            odd = sum(line.count(quote) for line in taken) % 2
            while odd:  # a quoted field goes on: take lines until its quotes balance (or the file ends)
                more = next(lines, None)
                if more is None:
                    break
                taken.append(more)
                odd ^= more.count(quote) % 2
        yield TextChunk(first_line, "".join(taken), dialect)
        first_line += len(taken)


def parse_chunk(chunk: TextChunk) -> Records:
    """The numbered records of a chunk. Raises Misaligned when it ended inside a quoted field."""
    text = chunk.text
    closed = text.endswith(("\n", "\r"))
    reader = csv.reader(io.StringIO(f"{text}{'' if closed else chr(10)}{_END}\n", newline=""), **chunk.dialect)
    offset = chunk.first_line - 1
    records = [(offset + reader.line_num, values) for values in reader]
    if not records or records[-1][1] != [_END]:
        raise Misaligned(chunk.first_line)
    return records[:-1]


def records_from(texts: Iterable[str], lines: Iterator[str], first_line: int, dialect: dict) -> Iterator[
        tuple[int, list[str]]]:
    """The numbered records of `texts` then `lines`, parsed in order (the way after Misaligned)."""
    reader = csv.reader(itertools.chain.from_iterable(
        [(line for text in texts for line in io.StringIO(text, newline="")), lines]), **dialect)
    offset = first_line - 1
    return ((offset + reader.line_num, values) for values in reader)


class ChunkedCsv:
    """A CSV body's chunks of about `size` records: text chunks while quotes can be counted,
    else (or after `parse_in_order`) lists of records parsed here, in order."""

    def __init__(self, lines: Iterator[str], first_line: int, dialect: dict | None, size: int,
                 records: Iterator[tuple[int, list[str]]]) -> None:
        self._lines, self._dialect, self._size = lines, dialect, size
        self._chunks: Iterator[Records | TextChunk] = (
            text_chunks(lines, first_line, dialect, size) if dialect is not None else self._batches(records))

    def __iter__(self) -> ChunkedCsv:
        return self

    def __next__(self) -> Records | TextChunk:
        return next(self._chunks)

    def parse_in_order(self, handed_out: list[TextChunk]) -> None:
        """From the first of `handed_out` (every text chunk handed out since the one that was
        Misaligned, in order) to the end, records are parsed here."""
        assert self._dialect is not None
        self._chunks = self._batches(records_from([chunk.text for chunk in handed_out], self._lines,
                                                  handed_out[0].first_line, self._dialect))

    def _batches(self, records: Iterator[tuple[int, list[str]]]) -> Iterator[Records]:
        return iter(lambda: list(itertools.islice(records, self._size)), [])


def numbered(chunk: Records | TextChunk) -> Records:
    """A chunk's numbered records, whichever form it came in."""
    return parse_chunk(chunk) if isinstance(chunk, TextChunk) else chunk


def start_line(chunk: Records | TextChunk) -> int:
    """A line number no record of the chunk ends before: a chunk's citizens may take the ids
    from there on, as many as it has lines, without meeting the next chunk's."""
    return chunk.first_line if isinstance(chunk, TextChunk) else chunk[0][0]
