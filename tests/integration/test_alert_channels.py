"""The email channel against a real SMTP server over TLS: sent when the certificate verifies,
refused for good (not retried) when it does not; a refused login is permanent too."""

from __future__ import annotations

import asyncio

import pytest

from fixtures.alert_sinks import self_signed, smtp_server
from logisync.config.alerts import EmailChannel
from logisync.delivery.errors import ErrorKind
from logisync.monitor.alert_channels import EmailSender
from logisync.monitor.alert_state import message_of
from logisync.store.alerts import NotificationRow

FIELDS = {"rule": "inbox", "subject": "*", "severity": "warning", "summary": "3 exceptions are open, over 0"}
NOTE = NotificationRow(
    9, 3, "mail", "firing", "pending", message_of("firing", FIELDS, 0), 1, 0, 0, 0, None, None
)


def channel(port: int, security: str, ca_file: object = None, login: bool = False) -> EmailChannel:
    data = {
        "host": "127.0.0.1",
        "port": port,
        "security": security,
        "from": "hub@example.com",
        "to": ["ops@example.com"],
    }
    if ca_file is not None:
        data["ca_file"] = str(ca_file)
    if login:
        data.update(username_env="U", password_env="P")
    return EmailChannel.model_validate(data)


# aiosmtpd does not count a connection that is TLS from its first byte as encrypted, and warns
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_mail_goes_over_tls_to_a_server_whose_certificate_verifies(tmp_path, security):
    context, cert = self_signed(tmp_path)
    kw = {"implicit_tls": context} if security == "tls" else {"tls": context}
    with smtp_server(login=("hub", "pw"), **kw) as (box, port):
        sender = EmailSender("mail", channel(port, security, cert, login=True), ("hub", "pw"))
        assert asyncio.run(sender.send(NOTE)) is None
    [mail] = box.messages
    assert mail["Subject"] == "[logisync] FIRING warning: inbox · *"
    assert mail["X-Logisync-Alert"] == "alert-3-9"
    assert box.logins == [("hub", "pw")]


def test_a_certificate_that_does_not_verify_is_a_permanent_tls_error(tmp_path):
    context, _cert = self_signed(tmp_path)
    with smtp_server(tls=context) as (box, port):
        error = asyncio.run(EmailSender("mail", channel(port, "starttls"), None).send(NOTE))
    assert error is not None and error.kind is ErrorKind.tls and not error.transient
    assert "certificate" in error.message
    assert box.messages == []


def test_a_refused_login_is_permanent_and_does_not_show_the_password(tmp_path):
    context, cert = self_signed(tmp_path)
    with smtp_server(login=("hub", "right"), tls=context) as (box, port):
        sender = EmailSender("mail", channel(port, "starttls", cert, login=True), ("hub", "wrong-pw-123"))
        error = asyncio.run(sender.send(NOTE))
    assert error is not None and error.kind is ErrorKind.unauthorized and not error.transient
    assert "wrong-pw-123" not in str(error)
    assert box.messages == []


def test_no_server_there_is_a_transient_connection_error():
    from fixtures.loopback_target import free_port

    error = asyncio.run(EmailSender("mail", channel(free_port(), "plain"), None).send(NOTE))
    assert error is not None and error.kind is ErrorKind.connection and error.transient
