-- X12 control numbers: the last interchange (ISA13), group (GS06) and set (ST02) number handed
-- out per partner. A number is allocated in a committed transaction before its file is written,
-- so a crash leaves a gap and never a reuse.

CREATE TABLE control_numbers (
    partner     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,  -- interchange, group, set
    last        BIGINT  NOT NULL,  -- the highest number handed out
    updated_us  BIGINT  NOT NULL,
    PRIMARY KEY (partner, kind)
);
