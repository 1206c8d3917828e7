"""What can be wrong in an X12 file, as data: each problem's level, its X12 code, and where it is.

One table per acknowledgment code list, so the 997 (and TA1) builders never guess:

- interchange problems carry a TA1 note code (TA105),
- group problems an AK9 functional group syntax error code (AK905-AK909),
- set problems an AK5 transaction set syntax error code (AK502-AK506),
- segment problems an AK3 segment syntax error code (AK304),
- element problems an AK4 data element syntax error code (AK403); their segment is reported
  in an AK3 with code 8 (segment has data element errors).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum


class Level(StrEnum):
    interchange = "interchange"  # the ISA/IEA envelope: answered in a TA1
    group = "group"  # GS/GE: AK9
    set = "set"  # ST/SE: AK5
    segment = "segment"  # a segment inside a set: AK3
    element = "element"  # an element of a segment inside a set: AK3 + AK4


class Code(Enum):
    """Every problem the engine reports: (level, the X12 code it is acknowledged with)."""

    # interchange (TA105 note codes)
    isa_control_mismatch = (Level.interchange, "001")  # IEA02 is not ISA13
    isa_standard_unsupported = (Level.interchange, "002")  # ISA11 in 4010 is not U
    isa_version_unsupported = (Level.interchange, "003")  # ISA12 is neither 00401 nor 00501
    isa_sender_qualifier = (Level.interchange, "005")
    isa_sender_id = (Level.interchange, "006")
    isa_receiver_qualifier = (Level.interchange, "007")
    isa_receiver_id = (Level.interchange, "008")
    isa_authorization_qualifier = (Level.interchange, "010")
    isa_authorization = (Level.interchange, "011")
    isa_security_qualifier = (Level.interchange, "012")
    isa_security = (Level.interchange, "013")
    isa_date = (Level.interchange, "014")
    isa_time = (Level.interchange, "015")
    isa_control_number = (Level.interchange, "018")  # ISA13 is not 9 digits
    isa_ack_requested = (Level.interchange, "019")
    isa_usage = (Level.interchange, "020")  # ISA15 is not P or T
    iea_group_count = (Level.interchange, "021")  # IEA01 is not the number of groups
    control_structure = (Level.interchange, "022")  # a segment where the envelopes allow none
    iea_missing = (Level.interchange, "023")  # the file ends before the IEA
    gs_invalid = (Level.interchange, "024")  # a GS element that cannot be read (date, time, ids)
    isa_element_separator = (Level.interchange, "026")
    isa_component_separator = (Level.interchange, "027")
    # group (AK905)
    group_unsupported = (Level.group, "1")  # GS01 or GS07 not supported
    group_version_unsupported = (Level.group, "2")  # GS08 neither 004010... nor 005010...
    ge_missing = (Level.group, "3")
    group_control_mismatch = (Level.group, "4")  # GE02 is not GS06
    ge_set_count = (Level.group, "5")  # GE01 is not the number of sets
    group_control_number = (Level.group, "6")  # GS06 is not 1-9 digits
    # set (AK502)
    set_unsupported = (Level.set, "1")
    se_missing = (Level.set, "2")
    set_control_mismatch = (Level.set, "3")  # SE02 is not ST02
    se_segment_count = (Level.set, "4")  # SE01 is not the number of segments from ST to SE
    set_segments_in_error = (Level.set, "5")
    set_id_invalid = (Level.set, "6")  # ST01 missing or not three digits
    set_control_number = (Level.set, "7")  # ST02 missing or not 4-9 characters
    set_control_duplicate = (Level.set, "23")  # ST02 used twice in one group
    # segment (AK304)
    segment_unrecognized = (Level.segment, "1")
    segment_unexpected = (Level.segment, "2")
    segment_missing = (Level.segment, "3")
    segment_loop_exceeded = (Level.segment, "4")
    segment_exceeds_use = (Level.segment, "5")
    segment_not_in_set = (Level.segment, "6")
    segment_out_of_order = (Level.segment, "7")
    segment_has_errors = (Level.segment, "8")  # a value the canonical domain refuses (a map's check)
    # element (AK403)
    element_missing = (Level.element, "1")
    element_conditional_missing = (Level.element, "2")
    element_too_many = (Level.element, "3")
    element_too_short = (Level.element, "4")
    element_too_long = (Level.element, "5")
    element_invalid_character = (Level.element, "6")
    element_invalid_code = (Level.element, "7")
    element_invalid_date = (Level.element, "8")
    element_invalid_time = (Level.element, "9")
    element_exclusion = (Level.element, "10")

    @property
    def level(self) -> Level:
        return self.value[0]

    @property
    def x12(self) -> str:
        return self.value[1]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong, and where: the segment's position in the file (and in its set), its id,
    the element's position (1-based; None for a whole segment), its line and byte offset."""

    code: Code
    message: str
    segment: int = 0  # position in the file, 1-based (0: before any segment could be read)
    segment_id: str = ""
    element: int | None = None
    line: int = 0
    offset: int = 0
    set_position: int = 0  # position in its transaction set, ST = 1 (segment and element problems)
    element_ref: str = ""  # the data element reference number, when known (AK402)
    bad_value: str = ""  # a copy of the bad element (AK404)
    fatal: bool = True  # False: accepted with errors noted (AK5 E)

    def __str__(self) -> str:
        where = f"segment {self.segment} ({self.segment_id or 'empty'})"
        if self.element is not None:
            where += f" element {self.element:02d}"
        if self.line:
            where += f", line {self.line}"
        return f"{where}: {self.message} [{self.code.name}]"
