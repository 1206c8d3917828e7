"""The X12 engine's own error: raised only where no segment can be read any further."""

from __future__ import annotations

from ..errors import LogisyncError


class X12Error(LogisyncError):
    """X12 data that cannot be read on (no ISA, unusable delimiters, a file cut inside a segment).

    Everything else wrong with a file is a `Problem` in the parse result, never an exception.
    """

    code = "x12_error"

    def __init__(
        self, message: str, *, code: str = "x12_error", index: int = 0, offset: int = 0, line: int = 0
    ) -> None:
        super().__init__(message)
        self.code = code
        self.index = index
        self.offset = offset
        self.line = line
