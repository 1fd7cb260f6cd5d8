"""The message each webhook format posts for a digest: pure functions of the digest.

`json` posts the digest document itself, as the channel's digest.json template gives it
(see worker.digest.render). `slack`, `discord` and `teams` post the service's own
incoming-webhook message, each built in a module of its own. A digest is always one
message: a digest split over several messages could be half delivered, and its retry would
post the first half again. So a long digest keeps as many of its items, in digest order, as
the service's limits allow, and the message ends with how many were left out. Article text
is escaped for each service, so no title or summary can change the message's markup.
"""

from __future__ import annotations

from collections.abc import Callable

from worker.model import Alert, Digest
from worker.notify.messages.discord import discord_alert, discord_message
from worker.notify.messages.shared import Message, encode
from worker.notify.messages.slack import slack_alert, slack_message
from worker.notify.messages.teams import teams_alert, teams_message

__all__ = [
    "ALERT_FORMATS",
    "FORMATS",
    "alert_message",
    "discord_message",
    "encode",
    "message_for",
    "slack_message",
    "teams_message",
]

FORMATS: dict[str, Callable[[Digest], Message]] = {
    "slack": slack_message,
    "discord": discord_message,
    "teams": teams_message,
}


# An alert is a few lines of text, never taken for a digest: the `json` format posts its
# document, `"type": "alert"`, and no template of the channel's reshapes it.
ALERT_FORMATS: dict[str, Callable[[Alert], Message]] = {
    "json": Alert.document,
    "slack": slack_alert,
    "discord": discord_alert,
    "teams": teams_alert,
}


def alert_message(format_name: str, alert: Alert) -> Message:
    """The message of `format_name` (json, slack, discord or teams) for an alert."""
    return ALERT_FORMATS[format_name](alert)


def message_for(format_name: str, digest: Digest) -> Message:
    """The message of `format_name` (slack, discord or teams) for `digest`."""
    return FORMATS[format_name](digest)
