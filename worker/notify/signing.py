"""Standard Webhooks signatures (https://www.standardwebhooks.com/): pure, the clock passed in.

A request carries `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64>`,
the HMAC-SHA256 of `<id>.<timestamp>.<body>` under the channel's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from worker.settings.config import signing_key

__all__ = ["signature_headers"]


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
