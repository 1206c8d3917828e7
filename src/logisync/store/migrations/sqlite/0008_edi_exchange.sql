-- EDI exchange with trading partners: the interchanges received (a repeated sender + ISA13 is
-- the same interchange sent again, and is not applied twice), and every functional group we sent,
-- tracked until the partner's 997 for it arrives.

CREATE TABLE edi_interchanges (
    sender       TEXT    NOT NULL,  -- ISA05/ISA06 of the partner: "ZZ/ACMESUPPLY"
    control      TEXT    NOT NULL,  -- ISA13 as a number ("101")
    partner      TEXT    NOT NULL,  -- the partner's system name
    state        TEXT    NOT NULL,  -- receiving, applied, rejected
    received_us  INTEGER  NOT NULL,
    updated_us   INTEGER  NOT NULL,
    detail       TEXT,              -- JSON: what became of it (sets accepted and rejected, the file)
    PRIMARY KEY (sender, control)
) WITHOUT ROWID;

CREATE TABLE edi_outbound_groups (
    partner      TEXT    NOT NULL,
    control      INTEGER  NOT NULL,  -- our GS06 (counted per partner: unique per partner)
    functional_id TEXT   NOT NULL,  -- GS01: IB, SH, OW, ...
    interchange  INTEGER  NOT NULL,  -- our ISA13
    sets         TEXT    NOT NULL,  -- JSON: [[ST01, ST02], ...]
    state        TEXT    NOT NULL,  -- waiting, accepted, partial, rejected, overdue
    sent_us      INTEGER  NOT NULL,
    due_us       INTEGER  NOT NULL,  -- its 997 is overdue after this
    updated_us   INTEGER  NOT NULL,
    detail       TEXT,              -- JSON: the 997's answer
    PRIMARY KEY (partner, control)
) WITHOUT ROWID;
CREATE INDEX edi_outbound_groups_due ON edi_outbound_groups (state, due_us);
