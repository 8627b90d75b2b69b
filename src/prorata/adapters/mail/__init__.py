"""Mailers: SMTP when one is configured, otherwise ``.eml`` files in a folder (``make run`` needs nothing else)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, formatdate

from prorata.services.ports import OutgoingMail


def email_message(mail: OutgoingMail) -> EmailMessage:
    """The message as sent: its Message-ID is the outbox's, the same on every attempt."""
    message = EmailMessage()
    message["Message-ID"] = mail.message_id
    # the seller's name beside a bare address; a sender written with a name of its own keeps it
    named = mail.sender_name and "<" not in mail.sender
    message["From"] = formataddr((mail.sender_name, mail.sender)) if named else mail.sender
    message["To"] = ", ".join(mail.recipients)
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message.set_content(mail.body)
    for attachment in mail.attachments:
        maintype, subtype = attachment.content_type.split("/", 1)
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return message
