"""The `file` channel: each digest as .txt, .html, .json and .eml files in a folder, each
alert as `-alert-` .txt and .json files beside them."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from worker.errors import DeliveryError
from worker.model import Alert, Digest, Rendered
from worker.settings.config import FileChannel

__all__ = ["FileNotifier"]

# The .eml is a copy for reading in a mail client, not a message sent to anyone.
EML_SENDER = "wirewatch@localhost"


class FileNotifier:
    """Writes each digest atomically; a resend of the same digest rewrites the same files."""

    def __init__(self, channel: FileChannel) -> None:
        self._folder: Path = channel.path

    def deliver(self, digest: Digest, rendered: Rendered) -> None:
        """Write the digest's files into the channel's folder."""
        self._write(
            f"{_stamp(digest.generated_at)}-{digest.channel}-{digest.digest_id[:8]}",
            {
                ".txt": rendered.text.encode(),
                ".html": rendered.html.encode(),
                ".json": rendered.json.encode(),
                ".eml": _eml(digest, rendered),
            },
        )

    def alert(self, alert: Alert) -> None:
        """Write the alert's text and JSON document into the channel's folder."""
        document = json.dumps(alert.document(), ensure_ascii=False, indent=2) + "\n"
        self._write(
            f"{_stamp(alert.at)}-alert-{alert.id[:8]}",
            {".txt": alert.text.encode(), ".json": document.encode()},
        )

    def _write(self, stem: str, contents: dict[str, bytes]) -> None:
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            for suffix, content in contents.items():
                _write_atomically(self._folder / (stem + suffix), content)
        except OSError as error:
            if self._folder.exists() and not self._folder.is_dir():
                told = "it is a file, not a folder; move it, or give the channel another path"
                raise DeliveryError(f"cannot write to {self._folder}: {told}") from error
            raise DeliveryError(f"cannot write to {self._folder}: {error.strerror}") from error


def _eml(digest: Digest, rendered: Rendered) -> bytes:
    # Imported here: a daemon idle between digests does not hold smtplib and email.
    from worker.notify.email import build_message

    message = build_message(digest, rendered, EML_SENDER, ())
    # RFC 5322 lines end in CRLF; mail clients on every system open that.
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def _write_atomically(path: Path, content: bytes) -> None:
    """Readers of the folder see the whole file or none of it."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(content)
    except OSError:  # a full disk, say: what was written of it only takes room
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)


def _stamp(at: datetime) -> str:
    """`20240516-080000-123`: to the millisecond, so that files sort in the order written,
    digests of an immediate channel coming within a second of each other included."""
    return f"{at.strftime('%Y%m%d-%H%M%S')}-{at.microsecond // 1000:03d}"
