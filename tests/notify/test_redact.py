"""Secrets kept out of messages: URLs by their host, secrets blanked out."""

from __future__ import annotations

import pytest

from worker.notify.redact import masked_service_url, masked_url, scrubbed, service_url_secrets


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


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("tgram://123456789:ABCdefGHIjkl/-100200300", "tgram://…"),
        ("json://user:pass-w0rd@127.0.0.1:8080/path", "json://127.0.0.1:8080/…"),
        ("ntfys://tk_abcdef123456@ntfy.example.org/alerts", "ntfys://ntfy.example.org/…"),
        ("pover://userkey123@apptoken456", "pover://…"),
        ("matrixs://bot:hunter22@matrix.org/#room", "matrixs://matrix.org/…"),
        ("mmosts://chat.example.org/abcdef1234567890", "mmosts://chat.example.org/…"),
        ("json://localhost", "json://localhost/"),
        ("not a url", "…"),
    ],
)
def test_an_apprise_url_is_shown_by_its_server_never_by_a_token(url: str, shown: str) -> None:
    assert masked_service_url(url) == shown


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("tgram://123456789:ABCdefGHIjkl/-100200300", "123456789:ABCdefGHIjkl"),
        ("tgram://123456789:ABCdefGHIjkl/-100200300", "-100200300"),
        ("json://user:pass-w0rd@127.0.0.1:8080/path", "pass-w0rd"),
        ("json://user:pass%2Dw0rd@127.0.0.1:8080/path", "pass-w0rd"),
        ("ntfys://tk_abcdef123456@ntfy.example.org/alerts", "tk_abcdef123456"),
        ("mmosts://chat.example.org/abcdef1234567890", "abcdef1234567890"),
        ("gotify://push.example.org/token?priority=high&key=AbCdEf123", "AbCdEf123"),
    ],
)
def test_every_secret_of_an_apprise_url_is_blanked_out(url: str, secret: str) -> None:
    said = f"failed to post to {url}: token {secret} refused"
    cleared = scrubbed(said, service_url_secrets(url))
    assert secret not in cleared
    assert cleared.startswith("failed to post to ")
