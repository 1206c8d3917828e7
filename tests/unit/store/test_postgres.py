"""PostgreSQL store helpers: advisory-lock key hashes, and URLs shown without their passwords."""

from __future__ import annotations

from logisync.store.postgres import _key_hash, _safe


def test_key_hashes_are_stable_signed_64_bit_integers():
    keys = [f"r:inventory/SKU-{i}@DC1" for i in range(2000)] + ["", "i:wms/c1"]
    hashes = [_key_hash(k) for k in keys]
    assert all(-(2**63) <= h < 2**63 for h in hashes)
    assert len(set(hashes)) == len(keys)
    assert [_key_hash(k) for k in keys] == hashes
    assert any(h < 0 for h in hashes)  # the whole signed range is used


def test_urls_in_messages_never_show_the_password():
    shown = _safe("postgresql://hub:s3cret@db.example:5432/logisync")
    assert "s3cret" not in shown
    assert "host=db.example" in shown
    assert "user=hub" in shown
    assert _safe("postgresql://hub@db.example/logisync?password=s3cret").find("s3cret") == -1
    assert _safe("not a url at all ===") == "<unparseable URL>"
