"""Sending through an SMTP server (``PRORATA_SMTP_*``): plain, STARTTLS or implicit TLS, with optional login."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass

from prorata.adapters.mail import email_message
from prorata.services.ports import OutgoingMail


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 25
    tls: str = "none"  # none, starttls, ssl
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0


class SmtpMailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, mail: OutgoingMail) -> None:
        s = self.settings
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if s.tls == "ssl":
            client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        with client:
            if s.tls == "starttls":
                client.starttls(context=context)
            if s.user:
                client.login(s.user, s.password or "")
            client.send_message(email_message(mail), from_addr=mail.sender, to_addrs=list(mail.recipients))
