"""The file channel: each digest as .txt, .html, .json and an .eml a mail client opens."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.helpers import Project, make_project
from worker.cli import main
from worker.model import Digest


@pytest.fixture
def outbox(tmp_path: Path) -> Project:
    """The default project after one run: the seeds' digest is in its outbox."""
    project = make_project(tmp_path)
    assert main(["run", "--once", "-c", str(project.config)]) == 0
    return project


def test_each_digest_is_four_whole_files_with_one_name(outbox: Project) -> None:
    files = sorted(outbox.outbox.iterdir())
    assert [path.suffix for path in files] == [".eml", ".html", ".json", ".txt"]
    assert len({path.stem for path in files}) == 1


def test_the_eml_holds_the_text_and_the_html(outbox: Project) -> None:
    (eml,) = outbox.outbox.glob("*.eml")
    (document,) = outbox.digests()
    digest = Digest.from_document(document)
    raw = eml.read_bytes()
    assert raw.isascii()
    assert raw.count(b"\n") == raw.count(b"\r\n") > 0  # RFC 5322 line ends
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    assert text.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert text.get_content().replace("\r\n", "\n") == eml.with_suffix(".txt").read_text("utf-8")
    assert html.get_content().replace("\r\n", "\n") == eml.with_suffix(".html").read_text("utf-8")
    assert message["From"] == "wirewatch@localhost"
    assert message["To"] is None
    assert message["Subject"].startswith("wirewatch: 5 articles matched")
    assert message["Message-ID"] == f"<{digest.digest_id}@localhost>"
    assert message["Date"].datetime == digest.generated_at.replace(microsecond=0)
