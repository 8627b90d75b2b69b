"""Messages as ``.eml`` files in a folder (``PRORATA_MAIL_DIR``, default ``./mail``): the default mailer.

One file per Message-ID, written to a temporary name and renamed into place, so a message sent again after a crash
replaces its first copy and a reader never sees half a file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from prorata.adapters.mail import email_message
from prorata.services.ports import OutgoingMail


class FileMailer:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path_of(self, mail: OutgoingMail) -> Path:
        return self.folder / (re.sub(r"[^A-Za-z0-9.@_-]", "", mail.message_id) + ".eml")

    def send(self, mail: OutgoingMail) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path_of(mail)
        partial = target.with_suffix(".eml.partial")
        partial.write_bytes(bytes(email_message(mail)))
        os.replace(partial, target)
