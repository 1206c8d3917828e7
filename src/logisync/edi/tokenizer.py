"""The X12 tokenizer: delimiters from the ISA segment, segments streamed with their positions.

The ISA segment is 106 characters of fixed width, so it names the file's delimiters itself:
the element separator is its 4th character, ISA11 the repetition separator (5010; in 4010 it
is the standards identifier `U`), ISA16 the component separator, and the character after ISA16
the segment terminator. CR and LF around terminators are layout, not data, and are skipped.

`tokenize` reads a file object, bytes or an iterable of byte chunks a chunk at a time, so memory
stays constant whatever the file's size; each `Segment` carries its position (index in the
file, byte offset, line) for error messages and 997 acknowledgments. `Tokenizer.batches` hands
over a chunk's segments at once (`Batch`), the way the envelope reader reads a file fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate, count, repeat
from operator import add, sub
from typing import BinaryIO

from .errors import X12Error

CHUNK = 1 << 20
ISA_LENGTH = 106  # "ISA" + 16 elements of fixed width + their separators + the terminator
_LAYOUT = b"\r\n"
_LAYOUT_TEXT = "\r\n"
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The four X12 delimiters, and what the writer puts after each terminator (`\\n` or nothing)."""

    element: str = "*"
    component: str = ":"
    repetition: str | None = "^"  # None in 4010 (ISA11 is the standards identifier there)
    segment: str = "~"
    suffix: str = ""

    def check(self) -> str | None:
        """Why these delimiters cannot be used together (None when they can)."""
        chars = [self.element, self.component, self.segment]
        if self.repetition is not None:
            chars.append(self.repetition)
        for c in chars:
            if len(c) != 1:
                return f"a delimiter must be one character, not {c!r}"
            if c.isalnum() or c == " ":
                return f"the delimiter {c!r} is a letter, digit or space, which appear in data"
        if len(set(chars)) != len(chars):
            return f"the delimiters {chars!r} are not all different"
        return None


class Segment:
    """One segment: its elements (`elements[0]` is the segment id) and where it was read.

    The byte offset and line are worked out only when asked for (an error message, a 997): a
    segment read by the tokenizer keeps its chunk (`Batch`) and finds them there.
    """

    __slots__ = ("_at", "_batch", "_line", "_offset", "elements", "index", "unreadable")

    def __init__(
        self,
        elements: list[str],
        index: int = 0,
        offset: int = 0,
        line: int = 0,
        *,
        batch: Batch | None = None,
        at: int = 0,
    ) -> None:
        self.elements = elements
        self.index = index  # 1-based position in the file (the first ISA is 1)
        self._offset = offset
        self._line = line
        self._batch = batch
        self._at = at
        self.unreadable: list[int] = []  # positions of elements whose bytes were not UTF-8

    @property
    def offset(self) -> int:
        """The byte offset of its first character in the file."""
        if self._batch is not None:
            self._resolve()
        return self._offset

    @property
    def line(self) -> int:
        """The 1-based line of its first character."""
        if self._batch is not None:
            self._resolve()
        return self._line

    def pin(self) -> Segment:
        """Work out its position now and let go of its chunk (for a segment kept long)."""
        if self._batch is not None:
            self._resolve()
        return self

    def _resolve(self) -> None:
        assert self._batch is not None
        self._offset, self._line = self._batch.position(self._at)
        self._batch = None

    @property
    def tag(self) -> str:
        return self.elements[0]

    def __getitem__(self, position: int) -> str:
        """Element `position` (1-based, as X12 numbers them), or "" when the segment stops earlier."""
        elements = self.elements
        return elements[position] if position < len(elements) else ""

    def __len__(self) -> int:
        """How many data elements the segment has (not counting its id)."""
        return len(self.elements) - 1

    def components(self, position: int, delimiters: Delimiters) -> list[str]:
        return self[position].split(delimiters.component)

    def repeats(self, position: int, delimiters: Delimiters) -> list[str]:
        value = self[position]
        return value.split(delimiters.repetition) if delimiters.repetition else [value]

    def where(self) -> str:
        return f"segment {self.index} ({self.tag or 'empty'}) at line {self.line}, byte {self.offset}"

    def __repr__(self) -> str:
        return f"Segment({self.elements!r}, index={self.index}, line={self.line})"


def delimiters_of(head: bytes) -> Delimiters:
    """The delimiters an ISA segment declares; `head` starts with the ISA (at least its 106 bytes).

    The element separator is the 4th byte. ISA16 is found by counting 16 separators rather than
    by its fixed position, so an ISA with wrong widths still yields its delimiters (the envelope
    check reports the widths).
    """
    if not head.startswith(b"ISA"):
        raise X12Error("the data does not start with an ISA segment", code="no_isa")
    if len(head) < 4:
        raise X12Error("the ISA segment is truncated before its element separator", code="truncated_isa")
    element = head[3:4]
    at = 3
    for _ in range(15):
        at = head.find(element, at + 1)
        if at < 0 or at > 200:
            raise X12Error(
                "the ISA segment does not have 16 elements: the delimiters cannot be read", code="bad_isa"
            )
    component, terminator = head[at + 1 : at + 2], head[at + 2 : at + 3]
    if not terminator:
        raise X12Error("the ISA segment is truncated before its segment terminator", code="truncated_isa")
    elements = head[: at + 2].split(element)
    isa11 = elements[11] if len(elements) > 11 else b""
    version = elements[12] if len(elements) > 12 else b""
    repetition: bytes | None = isa11 if version >= b"00501" and len(isa11) == 1 else None
    try:
        found = Delimiters(
            element=element.decode("ascii"),
            component=component.decode("ascii"),
            repetition=repetition.decode("ascii") if repetition is not None else None,
            segment=terminator.decode("ascii"),
        )
    except UnicodeDecodeError:
        raise X12Error(
            "the ISA segment's delimiters are not ASCII characters", code="bad_delimiters"
        ) from None
    problem = found.check()
    if problem:
        raise X12Error(f"the ISA segment's delimiters cannot be used: {problem}", code="bad_delimiters")
    return found


def _chunks(source: bytes | BinaryIO | Iterable[bytes], size: int) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        for i in range(0, len(data), size):
            yield data[i : i + size]
        return
    read = getattr(source, "read", None)
    if read is not None:
        while True:
            chunk = read(size)
            if not chunk:
                return
            yield chunk
    else:
        yield from source


class Batch:
    """The whole segments of one chunk: each one's text without the layout around it, read in
    C over the whole chunk (decode, split, strip). Elements are split, and byte offsets and lines
    found, only for the segments someone asks about (`segment`, `position`)."""

    __slots__ = (
        "_cursor",
        "_lengths",
        "_lines",
        "_lookups",
        "_offsets",
        "breaks",
        "index",
        "line",
        "offset",
        "raw",
        "sep",
        "term",
        "texts",
        "unreadable",
    )

    def __init__(
        self, raw: bytes, term: bytes, sep: str, index: int, offset: int, line: int, breaks: int
    ) -> None:
        self.raw = raw  # the chunk's bytes from its first segment to its last terminator (excluded)
        self.term, self.sep, self.breaks = term, sep, breaks
        self.index = index  # segments before this chunk in the file: texts[k] is segment index + k + 1
        self.offset, self.line = offset, line  # of raw[0] in the file
        self.unreadable: dict[int, list[int]] = {}  # k -> elements whose bytes were not UTF-8
        self._offsets: list[int] | None = None
        self._lines: list[int] = []
        self._lengths: list[int] | None = None  # each segment's bytes with its layout (ASCII chunks)
        self._lookups = 0  # positions asked for behind the last one
        self._cursor = (0, 0, 0)  # (k, its first byte in raw with the layout, newlines before it)
        self.texts: list[str] = self._decode()

    def _decode(self) -> list[str]:
        """Each segment's text without the layout around it: the whole chunk at once in C."""
        try:
            text = self.raw.decode("utf-8")
        except UnicodeDecodeError:
            return self._decode_each()
        texts = text.split(self.term.decode("ascii"))
        if len(text) == len(self.raw):  # ASCII: a character is a byte
            self._lengths = list(map(len, texts))
        if "\n" in text or "\r" in text:
            texts = list(map(str.strip, texts, repeat(_LAYOUT_TEXT)))
        return texts

    def _decode_each(self) -> list[str]:
        """Bytes that are not all UTF-8: each segment decoded alone, the bad elements flagged."""
        texts = []
        sep = self.sep.encode("ascii")
        for k, piece in enumerate(self.raw.split(self.term)):
            piece = piece.strip(_LAYOUT)
            try:
                texts.append(piece.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(piece.decode("latin-1"))
                self.unreadable[k] = [
                    i for i, raw in enumerate(piece.split(sep)) if not _is_utf8(raw) and i > 0
                ] or [0]
        return texts

    def __len__(self) -> int:
        return len(self.texts)

    def end(self) -> tuple[int, int]:
        """The byte offset and line just after this chunk's last terminator."""
        return self.offset + len(self.raw) + 1, self.line + self.raw.count(b"\n") + self.breaks

    def segment(self, k: int) -> Segment:
        """Segment `k` of the chunk (0-based), its elements split; its position found when asked."""
        seg = Segment(self.texts[k].split(self.sep), self.index + k + 1, batch=self, at=k)
        if self.unreadable:
            seg.unreadable = self.unreadable.get(k, [])
        return seg

    def position(self, k: int) -> tuple[int, int]:
        """The byte offset and line of segment `k`'s first character.

        In an ASCII chunk it is counted from the segments' lengths, on from the last segment
        asked for (envelope segments are asked for in order); a chunk asked about out of order
        many times (many errors) gets every segment's position worked out at once.
        """
        lengths = self._lengths
        if self._offsets is None and lengths is not None:
            # counted on from the last one asked for (envelope segments come in order); a chunk
            # asked about out of order many times (many errors) gets every position at once
            k0, at, breaks = self._cursor
            if k < k0:
                self._lookups += 1
                k0 = at = breaks = 0
            if self._lookups <= 8:
                first = at + sum(lengths[k0:k]) + (k - k0)  # the segment's bytes, layout first
                raw = self.raw
                breaks += raw.count(b"\n", at, first)
                self._cursor = (k, first, breaks)
                piece = raw[first : first + lengths[k]]
                lead = len(piece) - len(piece.lstrip(_LAYOUT))
                return self.offset + first + lead, self.line + breaks + piece.count(b"\n", 0, lead)
        if self._offsets is None:
            pieces = self.raw.split(self.term)
            lengths = list(map(len, pieces))
            lefts = list(map(bytes.lstrip, pieces, repeat(_LAYOUT)))
            leads = map(sub, lengths, map(len, lefts))
            nls = list(map(bytes.count, pieces, repeat(b"\n")))
            starts = map(add, accumulate(lengths, initial=self.offset), count())
            line_starts = accumulate(map(add, nls, repeat(self.breaks)), initial=self.line)
            lead_nls = map(sub, nls, map(bytes.count, lefts, repeat(b"\n")))
            self._offsets = list(map(add, starts, leads))
            self._lines = list(map(add, line_starts, lead_nls))
        return self._offsets[k], self._lines[k]


class Tokenizer:
    """Segments from X12 bytes, one chunk at a time; `delimiters` is set once the ISA is read."""

    def __init__(self, source: bytes | BinaryIO | Iterable[bytes], chunk_size: int = CHUNK) -> None:
        self._chunks = _chunks(source, chunk_size)
        self.delimiters: Delimiters | None = None
        self.error: X12Error | None = None  # why `read(strict=False)` stopped early

    def __iter__(self) -> Iterator[Segment]:
        return self.read()

    def read(self, *, strict: bool = True) -> Iterator[Segment]:
        """The segments; where the data cannot be read on, raise `X12Error` (strict) or keep it in
        `error` and stop."""
        for batch in self.batches(strict=strict):
            yield from map(batch.segment, range(len(batch.texts)))

    def batches(self, *, strict: bool = True) -> Iterator[Batch]:
        """The segments a chunk at a time (the fast way to read a file: see `Batch`)."""
        try:
            yield from self._read()
        except X12Error as exc:
            if strict:
                raise
            self.error = exc

    def _read(self) -> Iterator[Batch]:
        buf = b""
        for chunk in self._chunks:
            buf += chunk
            if len(buf) >= ISA_LENGTH + 8:
                break
        bom = 3 if buf.startswith(_BOM) else 0
        start = len(buf) - len(buf[bom:].lstrip(b" \t\r\n"))
        line = 1 + buf.count(b"\n", 0, start)
        if len(buf) - start == 0:
            raise X12Error("the file is empty", code="empty")
        found = delimiters_of(buf[start : start + 256])
        self.delimiters = found
        term, sep = found.segment.encode("ascii"), found.element
        breaks = term.count(b"\n")  # a newline as the terminator ends a line too
        index = 0
        buf, offset = buf[start:], start  # offset: of buf[0] in the file
        for chunk in self._chunks:
            buf += chunk
            cut = buf.rfind(term)
            if cut < 0:
                continue
            batch = Batch(buf[:cut], term, sep, index, offset, line, breaks)
            buf = buf[cut + 1 :]
            index += len(batch.texts)
            offset, line = batch.end()
            yield batch
        cut = buf.rfind(term)
        if cut >= 0:
            batch = Batch(buf[:cut], term, sep, index, offset, line, breaks)
            tail = buf[cut + 1 :]
            index += len(batch.texts)
            offset, line = batch.end()
            yield batch
        else:
            tail = buf
        rest = tail.strip(b" \t\r\n\x00\x1a")  # layout and end-of-file padding after the last terminator
        if rest:
            lead = tail.find(rest[:1])
            at_line = line + tail.count(b"\n", 0, lead)
            raise X12Error(
                f"the file ends inside a segment (line {at_line}, byte {offset + lead}):"
                f" {rest[:40]!r} has no segment terminator {found.segment!r}",
                code="truncated",
                index=index + 1,
                offset=offset + lead,
                line=at_line,
            )


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def tokenize(source: bytes | BinaryIO | Iterable[bytes], chunk_size: int = CHUNK) -> Iterator[Segment]:
    """The segments of X12 data, in order; raises `X12Error` where no segment can be read further."""
    return iter(Tokenizer(source, chunk_size))
