"""Secrets kept out of messages: URLs by their host, secrets blanked out."""

from __future__ import annotations

import pytest

from worker.notify.redact import masked_url, scrubbed


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T000/B000/XXXX", "https://hooks.slack.com/…"),
        ("https://discord.com/api/webhooks/123/abc?wait=true", "https://discord.com/…"),
        ("https://hooks.example.org/?token=abc", "https://hooks.example.org/…"),
        ("https://user:pass@hooks.example.org:8443/x", "https://hooks.example.org:8443/…"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
        ("http://[::1]:8080/", "http://[::1]:8080/"),
        ("https://hooks.example.org/#frag", "https://hooks.example.org/…"),
    ],
)
def test_a_url_is_shown_by_its_host(url: str, shown: str) -> None:
    assert masked_url(url) == shown


def test_secrets_are_blanked_out_longest_first() -> None:
    text = "POST /services/T000/XXXXXX failed; token XXXXXX expired"
    secrets = ["XXXXXX", "/services/T000/XXXXXX"]
    assert scrubbed(text, secrets) == "POST … failed; token … expired"


def test_short_strings_are_left_alone() -> None:
    assert scrubbed("a path / and an id 42", ["/", "42", ""]) == "a path / and an id 42"
