"""Sending a partner our sets: enveloped with its ids and delimiters, numbered from the store's
allocator, handed to its outbox, and every group tracked until the partner's 997 arrives."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from ..config.edi import EdiPartnerConfig
from ..config.model import SyncMap
from ..edi.tokenizer import Delimiters
from ..edi.writer import Envelope, OutboundSet, Party, Written, write_interchange
from ..errors import ConfigError
from ..store.control_numbers import ControlNumbers
from ..store.edi_exchange import EdiLedger, GroupRow
from ..store.sql import SqlStore
from .outbox import Outbox


def partner_config(syncmap: SyncMap, partner: str) -> EdiPartnerConfig:
    system = syncmap.systems.get(partner)
    if system is None:
        known = ", ".join(sorted(n for n, s in syncmap.systems.items() if s.edi is not None)) or "none"
        raise ConfigError(f"unknown trading partner {partner!r} (partners with an edi section: {known})")
    if system.edi is None:
        raise ConfigError(f"{partner} has no `edi` section in the sync map: its X12 ids are not known")
    return system.edi


def envelope_for(
    partner: str, cfg: EdiPartnerConfig, release: str | None = None, usage: str | None = None
) -> Envelope:
    """How we envelope for `partner`: our ids as sender, its ids as receiver, its delimiters."""
    d = cfg.delimiters
    return Envelope(
        partner,
        Party(cfg.us.qualifier, cfg.us.id, cfg.us.group_id or ""),
        Party(cfg.partner.qualifier, cfg.partner.id, cfg.partner.group_id or ""),
        release=release or cfg.version,
        delimiters=Delimiters(d.element, d.component, d.repetition, d.segment, "\n" if d.newline else ""),
        usage=usage or cfg.usage,
    )


def file_name(partner: str, kind: str, written: Written) -> str:
    return f"{partner}-{kind}-{written.control:09d}.x12"


def send_sets(
    partner: str,
    sets: Sequence[OutboundSet],
    *,
    syncmap: SyncMap,
    store: SqlStore,
    outbox: Outbox,
    at: datetime | None = None,
) -> tuple[Written, str]:
    """Write `sets` for `partner` in one interchange, hand it to `outbox`, and track each group
    until its 997 (unless the partner sends none). Returns the interchange and where it went."""
    cfg = partner_config(syncmap, partner)
    for tset in sets:
        if tset.code not in cfg.receives:
            raise ConfigError(
                f"{partner} does not receive {tset.code} sets (its `receives`: {', '.join(cfg.receives) or 'none'})"
            )
    when = at or datetime.now(UTC)
    written = write_interchange(envelope_for(partner, cfg), sets, ControlNumbers(store), at=when)
    if cfg.acknowledgments.expected:
        sent = int(when.timestamp() * 1_000_000)
        rows = []
        for group in written.groups:
            wait = min(cfg.acknowledgments.due_after(code) for code, _ in group.sets)
            rows.append(
                GroupRow(
                    partner,
                    group.control,
                    group.functional_id,
                    written.control,
                    [list(s) for s in group.sets],
                    "waiting",
                    sent,
                    sent + int(wait * 1_000_000),
                    sent,
                    None,
                )
            )
        EdiLedger(store).track(rows)  # tracked before it leaves: a 997 can never come back first
    where = outbox.send(file_name(partner, "out", written), written.data)
    return written, where
