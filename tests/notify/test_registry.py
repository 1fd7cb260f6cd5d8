"""The notifier registry: every channel type of the config has a notifier."""

from __future__ import annotations

from typing import get_args

from worker.notify import NOTIFIERS
from worker.settings.config import Channel


def test_every_channel_type_of_the_config_can_deliver() -> None:
    union, _field = get_args(Channel)
    types = {get_args(model.model_fields["type"].annotation)[0] for model in get_args(union)}
    assert types == set(NOTIFIERS) == {"file", "webhook", "email", "apprise"}
