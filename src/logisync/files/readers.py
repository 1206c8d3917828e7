"""Reading CSV, JSON and NDJSON files one row at a time: constant memory, every row placed.

Each reader yields `Row`s (the raw row and where it starts) and `Unreadable`s (a row that is not
CSV or JSON at all, with what is wrong). CSV and NDJSON rows are placed by line; the objects of a
JSON array by their number in the array (`item 3`), since a streaming JSON parser knows no lines.
`offset` is how many bytes were read so far, for a progress bar.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import ijson
import orjson

from ..config.files import CsvOptions

MAX_LINE = 1 << 20  # an NDJSON line longer than this is a bad row, skipped without being held
_ORJSON_WHERE = re.compile(r"line \d+ column (\d+) \(char \d+\)")
_BOM = codecs.BOM_UTF8


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # the line it starts on (CSV, NDJSON) or its number in the array (JSON)
    data: Any  # a list of cells (CSV) or a JSON value


@dataclass(frozen=True, slots=True)
class Unreadable:
    number: int
    problem: str


class CsvReader:
    """A CSV file with a header row; rows shorter or longer than the header are unreadable."""

    unit = "line"

    def __init__(self, stream: BinaryIO, options: CsvOptions) -> None:
        self.stream = stream
        encoding = "utf-8-sig" if options.encoding == "utf-8" else options.encoding
        self.text = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")
        self.check_decoding = options.encoding == "utf-8"
        self.reader = csv.reader(
            self.text, delimiter=options.delimiter, quotechar=options.quotechar, strict=True
        )
        self.header: list[str] = []

    @property
    def offset(self) -> int:
        return self.stream.tell()

    def read_header(self) -> list[str]:
        """The first row; ValueError when there is none or it is not CSV."""
        try:
            header = next(self.reader)
        except StopIteration:
            self.close()
            raise ValueError("the file is empty: it needs a header row naming its columns") from None
        except csv.Error as exc:
            self.close()
            raise ValueError(f"line 1: the header is not valid CSV: {exc}") from None
        if self.check_decoding and any("\ufffd" in cell for cell in header):
            self.close()
            raise ValueError("line 1: the header is not UTF-8 text")
        self.header = [cell.strip() for cell in header]
        return self.header

    def __iter__(self) -> Iterator[Row | Unreadable]:
        try:
            yield from self._rows()
        finally:
            self.close()

    def close(self) -> None:
        """Let go of the byte stream (its owner closes it) without closing it."""
        if not self.text.closed and self.text.buffer is not None:
            self.text.detach()

    def _rows(self) -> Iterator[Row | Unreadable]:
        reader = self.reader
        width = len(self.header)
        check = self.check_decoding
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Unreadable(start, f"not valid CSV: {exc}")
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if len(row) != width:
                yield Unreadable(start, f"has {len(row)} columns; the header has {width}")
                continue
            if check and any("\ufffd" in cell for cell in row):
                yield Unreadable(start, "not UTF-8 text")
                continue
            yield Row(start, row)


class NdjsonReader:
    """One JSON object per line; blank lines are skipped."""

    unit = "line"

    def __init__(self, stream: BinaryIO, max_line: int = MAX_LINE) -> None:
        self.stream = stream
        self.max_line = max_line
        self.offset = 0

    def __iter__(self) -> Iterator[Row | Unreadable]:
        number = 0
        while True:
            raw = self.stream.readline(self.max_line + 1)
            if not raw:
                return
            number += 1
            self.offset += len(raw)
            if len(raw) > self.max_line and not raw.endswith(b"\n"):
                while chunk := self.stream.readline(1 << 16):
                    self.offset += len(chunk)
                    if chunk.endswith(b"\n"):
                        break
                yield Unreadable(number, f"longer than {self.max_line} bytes")
                continue
            if number == 1:
                raw = raw.removeprefix(_BOM)
            text = raw.strip()
            if not text:
                continue
            try:
                data = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                yield Unreadable(number, "not valid JSON: " + _ORJSON_WHERE.sub(r"column \1", str(exc)))
                continue
            if not isinstance(data, dict):
                yield Unreadable(number, "expected a JSON object")
                continue
            yield Row(number, data)


class JsonReader:
    """The objects of a JSON document at `items` (an ijson prefix: `item` for a top-level array),
    parsed one at a time. A document that breaks off ends with an unreadable item."""

    unit = "item"

    def __init__(self, stream: BinaryIO, items: str = "item") -> None:
        self.stream = stream
        self.items = items

    @property
    def offset(self) -> int:
        return self.stream.tell()

    def __iter__(self) -> Iterator[Row | Unreadable]:
        number = 0
        head = self.stream.read(3)
        if head != _BOM:
            self.stream.seek(0)
        try:
            for data in ijson.items(self.stream, self.items, use_float=True):
                number += 1
                if not isinstance(data, dict):
                    yield Unreadable(number, "expected a JSON object")
                    continue
                yield Row(number, data)
        except ijson.JSONError as exc:
            yield Unreadable(number + 1, f"the JSON breaks off after item {number}: {exc}")
