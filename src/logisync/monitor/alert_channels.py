"""Where alerts go: a signed webhook, or an email through SMTP. Each channel's `send` returns
None when the notification was taken, else a `DeliveryError` (transient or not), never raises.

The webhook body follows Standard Webhooks' shape: `{"type": "alert.firing", "timestamp": ...,
"data": {...}}`, signed with the channel's secret, with a `webhook-id` that is the same on every
retry of one notification. The email is plain text: the subject says the state, severity, rule
and subject; the body the summary, the times and the figures. Neither carries a secret: the
message is built from the alert alone.
"""

from __future__ import annotations

import asyncio
import os
import smtplib
import socket
import ssl
import time
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

import orjson

from .. import __version__
from ..config.alerts import AlertsConfig, ChannelConfig, EmailChannel, WebhookChannel
from ..connectors.http import HttpRequest, HttpTransport, Settings
from ..delivery.errors import DeliveryError, ErrorKind
from ..delivery.signing import decode_secret, signature_headers
from ..errors import ConfigError
from ..store.alerts import NotificationRow


class Channel(Protocol):
    name: str
    kind: str

    async def send(self, note: NotificationRow) -> DeliveryError | None: ...

    async def close(self) -> None: ...


def message_id(note: NotificationRow) -> str:
    """The notification's stable id: the webhook-id, and the receiver's key to drop a repeat."""
    return f"alert-{note.alert_id}-{note.id}" if note.alert_id is not None else f"alert-test-{note.id}"


def webhook_body(note: NotificationRow) -> dict[str, Any]:
    message = note.message
    return {
        "type": f"alert.{note.event}",
        "timestamp": message.get("at"),
        "data": {"id": message_id(note), "alert_id": note.alert_id, "channel": note.channel, **message},
    }


def email_subject(note: NotificationRow) -> str:
    m = note.message
    if note.event == "test":
        return f"[logisync] TEST: channel {note.channel} works"
    state = "RESOLVED" if note.event == "resolved" else "FIRING"
    again = " (reminder)" if note.event == "renotify" else ""
    return f"[logisync] {state} {m.get('severity')}: {m.get('rule')} · {m.get('subject')}{again}"


def email_text(note: NotificationRow) -> str:
    m = note.message
    lines = [str(m.get("summary") or "")]
    if m.get("description"):
        lines += ["", str(m["description"])]
    lines.append("")
    for label, key in (
        ("rule", "rule"),
        ("subject", "subject"),
        ("severity", "severity"),
        ("state", "state"),
        ("since", "since"),
        ("fired at", "fired_at"),
        ("resolved at", "resolved_at"),
    ):
        if m.get(key) is not None:
            lines.append(f"{label + ':':<13}{m[key]}")
    detail = m.get("detail") or {}
    if detail:
        lines += ["", "figures:"]
        lines += [
            f"  {k}: {orjson.dumps(v).decode() if isinstance(v, dict | list) else v}"
            for k, v in detail.items()
        ]
    lines += ["", f"notification {message_id(note)} from logisync {__version__}"]
    return "\n".join(lines) + "\n"


class WebhookSender:
    """Alerts as signed JSON POSTs, through the outbound HTTP connector's transport."""

    kind = "webhook"

    def __init__(self, name: str, config: WebhookChannel, secret: str | None) -> None:
        self.name = name
        self.config = config
        self.secret = secret
        self.transport = HttpTransport(
            Settings.model_validate(
                {
                    "url": config.url,
                    "timeout": config.timeout,
                    "allow_private_network": config.allow_private_network,
                }
            )
        )

    def request(self, note: NotificationRow, now: float) -> HttpRequest:
        body = orjson.dumps(webhook_body(note))
        msg_id = message_id(note)
        headers = {
            "content-type": "application/json",
            "user-agent": f"logisync/{__version__}",
            "idempotency-key": msg_id,
        }
        if self.secret is not None:
            headers.update(signature_headers([self.secret], msg_id, int(now), body))
        else:
            headers["webhook-id"] = msg_id
        return HttpRequest("POST", self.config.url, headers, body, (msg_id,))

    async def send(self, note: NotificationRow) -> DeliveryError | None:
        outcome = await self.transport.send(self.request(note, time.time()))
        return outcome if isinstance(outcome, DeliveryError) else None

    async def close(self) -> None:
        await self.transport.close()


class EmailSender:
    """Alerts as plain-text mail through one SMTP server (stdlib smtplib, in a worker thread)."""

    kind = "email"

    def __init__(self, name: str, config: EmailChannel, login: tuple[str, str] | None) -> None:
        self.name = name
        self.config = config
        self._login = login

    def compose(self, note: NotificationRow) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = email_subject(note)
        msg["From"] = self.config.sender
        msg["To"] = ", ".join(self.config.to)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(
            idstring=message_id(note), domain=self.config.sender.rpartition("@")[2]
        )
        msg["X-Logisync-Alert"] = message_id(note)
        msg.set_content(email_text(note))
        return msg

    async def send(self, note: NotificationRow) -> DeliveryError | None:
        msg = self.compose(note)
        try:
            await asyncio.to_thread(self._deliver, msg)
        except Exception as exc:
            return classify_smtp(exc)
        return None

    def _deliver(self, msg: EmailMessage) -> None:
        c = self.config
        context = ssl.create_default_context(cafile=c.ca_file)
        smtp: smtplib.SMTP
        if c.security == "tls":
            smtp = smtplib.SMTP_SSL(c.host, c.effective_port, timeout=c.timeout, context=context)
        else:
            smtp = smtplib.SMTP(c.host, c.effective_port, timeout=c.timeout)
        with smtp:
            smtp.ehlo()
            if c.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if self._login is not None:
                smtp.login(*self._login)
            smtp.send_message(msg)

    async def close(self) -> None:
        return None


def classify_smtp(exc: BaseException) -> DeliveryError:
    """An SMTP failure as a delivery error: a 4xx reply, a timeout or a lost connection may pass;
    a 5xx reply, a refused login, a server without STARTTLS or a certificate that does not verify
    will not by itself. The message never carries the password."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(ErrorKind.unauthorized, f"the SMTP server refused the login ({exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(ErrorKind.protocol, f"the SMTP server does not support it: {exc}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        kind = ErrorKind.unavailable if all(400 <= c < 500 for c in codes) else ErrorKind.rejected
        return DeliveryError(
            kind, f"the SMTP server refused the recipients {sorted(exc.recipients)}: {codes}"
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        kind = ErrorKind.unavailable if 400 <= exc.smtp_code < 500 else ErrorKind.rejected
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return DeliveryError(kind, f"the SMTP server answered {exc.smtp_code}: {text[:200]}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryError(
            ErrorKind.tls, f"the SMTP server's certificate does not verify: {exc.verify_message}"
        )
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(ErrorKind.tls, f"TLS with the SMTP server failed: {exc.reason}")
    if isinstance(exc, socket.timeout | TimeoutError):
        return DeliveryError(ErrorKind.timeout, "the SMTP server did not answer in time")
    if isinstance(exc, smtplib.SMTPException | OSError):
        return DeliveryError(
            ErrorKind.connection, f"cannot reach the SMTP server: {type(exc).__name__}: {exc}"
        )
    return DeliveryError(ErrorKind.internal, f"sending the mail failed: {type(exc).__name__}: {exc}")


def build_channels(config: AlertsConfig, env: Mapping[str, str] | None = None) -> dict[str, Channel]:
    """Every channel of the `alerts` section, its secrets read from the environment now; a
    ConfigError names a variable that is not set (never its value)."""
    env = os.environ if env is None else env
    return {name: build_channel(name, channel, env) for name, channel in config.channels.items()}


def build_channel(name: str, channel: ChannelConfig, env: Mapping[str, str]) -> Channel:
    where = f"alerts.channels.{name}"
    if channel.webhook is not None:
        secret = None
        if channel.webhook.secret_env is not None:
            secret = _required(env, channel.webhook.secret_env, f"{where}.webhook.secret_env")
            try:
                decode_secret(secret)
            except ValueError as exc:
                raise ConfigError(f"{where}.webhook: {channel.webhook.secret_env}: {exc}") from None
        return WebhookSender(name, channel.webhook, secret)
    email = channel.email
    assert email is not None
    login = None
    if email.username_env is not None and email.password_env is not None:
        login = (
            _required(env, email.username_env, f"{where}.email.username_env"),
            _required(env, email.password_env, f"{where}.email.password_env"),
        )
    return EmailSender(name, email, login)


def _required(env: Mapping[str, str], name: str, where: str) -> str:
    value = env.get(name)
    if not value:
        raise ConfigError(f"{where}: the variable {name} is not set")
    return value
