"""Standard Webhooks signatures, checked by the reference `standardwebhooks` package."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

from worker.notify.signing import signature_headers
from worker.settings.config import signing_key

BODY = '{"digest_id":"0123456789abcdef01234567","items":[{"title":"Путин и Си"}]}'.encode()
KEY = base64.b64encode(b"a key of thirty-two random bytes").decode()


def now() -> datetime:
    # The reference package refuses timestamps more than five minutes away.
    return datetime.now(UTC)


@pytest.mark.parametrize("secret", [f"whsec_{KEY}", KEY, KEY.rstrip("=")])
def test_the_reference_package_verifies_our_signature(secret: str) -> None:
    headers = signature_headers(secret, "0123456789abcdef01234567", now(), BODY)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == "0123456789abcdef01234567"
    assert headers["webhook-signature"].startswith("v1,")
    verified = Webhook(secret).verify(BODY, headers)
    assert verified["items"][0]["title"] == "Путин и Си"


def test_a_prefixed_secret_and_the_bare_base64_sign_alike() -> None:
    moment = now()
    assert signature_headers(f"whsec_{KEY}", "id", moment, BODY) == signature_headers(
        KEY, "id", moment, BODY
    )


def test_the_timestamp_is_whole_seconds_from_the_clock() -> None:
    moment = datetime(2026, 11, 22, 8, 0, 0, 900_000, tzinfo=UTC)
    headers = signature_headers(KEY, "id", moment, BODY)
    assert headers["webhook-timestamp"] == str(int(moment.timestamp()))
    assert datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC) == moment.replace(
        microsecond=0
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda body, headers: (body + b" ", headers),
        lambda body, headers: (body, {**headers, "webhook-id": "another"}),
        lambda body, headers: (
            body,
            {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)},
        ),
    ],
    ids=["body", "id", "timestamp"],
)
def test_a_tampered_request_fails_verification(
    change: Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]],
) -> None:
    headers = signature_headers(KEY, "0123", now(), BODY)
    body, tampered = change(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(KEY).verify(body, tampered)


def test_another_secret_fails_verification() -> None:
    headers = signature_headers(KEY, "0123", now(), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(base64.b64encode(b"another key, just as long as one").decode()).verify(
            BODY, headers
        )


def reference_key(secret: str) -> bytes | None:
    """The key the reference package derives from a secret given as text, or None if it refuses."""
    try:
        webhook = Webhook(secret)
    except (binascii.Error, ValueError, EmptyWebhookSecretError):
        return None
    key: bytes = webhook._whsecret  # the key itself is what must agree
    return key


@given(st.text(max_size=60) | st.text("ABCDEFabcdef0123456789+/=-_ ", max_size=60))
def test_any_secret_is_read_as_the_reference_package_reads_it(secret: str) -> None:
    expected = reference_key(secret)
    if expected is None:
        with pytest.raises(ValueError, match=r"Standard Webhooks secret|empty"):
            signing_key(secret)
    else:
        assert signing_key(secret) == expected


@pytest.mark.parametrize("secret", ["whsec", "hello", "whsec_", "", "héllo-wörld"])
def test_a_secret_the_reference_package_cannot_read_is_refused(secret: str) -> None:
    assert reference_key(secret) is None
    with pytest.raises(ValueError, match=r"Standard Webhooks secret|empty") as caught:
        signing_key(secret)
    assert secret in ("", "whsec", "whsec_") or secret not in str(caught.value)
