"""Standard Webhooks signatures (https://www.standardwebhooks.com/): pure, the clock passed in.

A request carries `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64>`,
the HMAC-SHA256 of `<id>.<timestamp>.<body>` under the channel's secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime

__all__ = ["SECRET_PREFIX", "signature_headers", "signing_key"]

SECRET_PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: the base64 after an optional `whsec_` prefix.

    Read exactly as the reference `standardwebhooks` package reads a secret given as
    text, so a receiver that passes the same text to it verifies our requests.
    Raises ValueError for a secret the package would refuse.
    """
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        # Lenient like the package: padding may be left out, and characters outside the
        # base64 alphabet are skipped rather than refused.
        key = base64.b64decode(encoded + "==")
    except (binascii.Error, ValueError):
        raise ValueError(
            "not a Standard Webhooks secret: give base64, with or without the 'whsec_' "
            "prefix (for example what `openssl rand -base64 32` prints)"
        ) from None
    if not key:
        raise ValueError("empty once read as base64; give 24 or more random bytes in base64")
    return key


def signature_headers(
    secret: str, message_id: str, timestamp: datetime, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers that sign `body` sent at `timestamp`."""
    seconds = str(int(timestamp.timestamp()))
    signed = message_id.encode() + b"." + seconds.encode() + b"." + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": seconds,
        "webhook-signature": "v1," + base64.b64encode(digest).decode("ascii"),
    }
