"""Store URLs fit to print: `redact_url` drops a password wherever the URL carried one."""

from __future__ import annotations

import pytest

from logisync.redact import redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite:////var/lib/hub.db", "sqlite:////var/lib/hub.db"),
        ("sqlite:///hub.db?synchronous=normal", "sqlite:///hub.db?synchronous=normal"),
        ("sqlite:////srv/my hub@2.db", "sqlite:////srv/my hub@2.db"),
        ("postgresql://hub@db/hub", "postgresql://hub@db/hub"),
        ("postgresql://hub:pw@db:5432/hub", "postgresql://hub@db:5432/hub"),
        ("postgresql://hub:p%40ss@db/hub?sslmode=require", "postgresql://hub@db/hub?sslmode=require"),
        ("postgresql://hub:p@ss@db/hub", "postgresql://hub@db/hub"),
        ("postgresql://:pw@db/hub", "postgresql://@db/hub"),
        ("postgresql://hub:pw@[::1]:5432/hub", "postgresql://hub@[::1]:5432/hub"),
        ("postgresql://hub:pw@h1:5432,h2:5432/hub", "postgresql://hub@h1:5432,h2:5432/hub"),
        ("postgresql://db/hub?password=pw&sslmode=require", "postgresql://db/hub?sslmode=require"),
        # the other parameters are left as written, not re-encoded
        (
            "postgresql://db/hub?sslrootcert=/etc/ca.pem&PassWord=pw&sslpassword=kp&application_name=a+b",
            "postgresql://db/hub?sslrootcert=/etc/ca.pem&application_name=a+b",
        ),
        ("postgresql://db/hub?pass%77ord=pw", "postgresql://db/hub"),
        ("postgresql://db/hub?password", "postgresql://db/hub"),
    ],
)
def test_a_url_is_shown_without_its_password(url, shown):
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "not a url at all ===",
        "host=db password=s3cret",
        "postgresql:host=db password=s3cret",
        "postgresql://hub:s3/cret@db/hub",  # an unencoded `/`, `?` or `#` splits the password off
        "postgresql://hub:s3?cret@db/hub",
        "postgresql://hub:s3#cret@db/hub",
        "postgresql://hub:s3cret@[::1/hub",
    ],
)
def test_what_does_not_parse_is_not_shown_at_all(url):
    assert redact_url(url) == "<unparseable URL>"


# -- log lines: Redactor ----------------------------------------------------------------------------


def test_values_under_secret_names_and_configured_fields_are_left_out():
    from logisync.redact import REDACTED, Redactor

    r = Redactor(fields=["Email"])
    shown = r.tree(
        {
            "Authorization": "Bearer abc",
            "x-api-key": "k",
            "webhook_secret": "s",
            "nested": [{"email": "a@b.c", "phone": "1", "db_password": "p"}],
            "store": "postgresql://hub:pw@db/hub",
            "key": "SKU-1@DC1",
        }
    )
    assert shown == {
        "Authorization": REDACTED,
        "x-api-key": REDACTED,
        "webhook_secret": REDACTED,
        "nested": [{"email": REDACTED, "phone": "1", "db_password": REDACTED}],
        "store": "postgresql://hub@db/hub",
        "key": "SKU-1@DC1",
    }


def test_known_secrets_are_scrubbed_anywhere_in_a_line_longest_first():
    from logisync.redact import Redactor

    r = Redactor(secrets=["abc", "tok-123", 'tok-123-"quoted"'])
    line = 'x tok-123-\\"quoted\\" y tok-123 z abc'  # "abc" is too short to be a secret
    assert r.scrub(line) == "x [redacted] y [redacted] z abc"
    r.add(secrets=["zzzz"])
    assert r.scrub("zzzz tok-123") == "[redacted] [redacted]"
