"""config.yaml: the settings a valid file gives, and one clear line for each mistake."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import trustme

from worker.errors import ConfigError, Problem
from worker.settings.config import EmailChannel, FileChannel, Smtp, WebhookChannel, load_config

SPEC_EXAMPLE = """\
    state: var/wirewatch.db
    timezone: Europe/Berlin
    watch:
      - path: inbox
        patterns: ["*.txt", "*.md"]
        recursive: false
        polling: true
    rules: rules/
    ingest: {max_file_mb: 2.5}
    channels:
      morning-mail:
        type: email
        to: [analyst@example.org]
        from: wirewatch@example.org
        smtp: {host: "${SMTP_HOST:-localhost}", port: 587, security: starttls,
               username: "${SMTP_USER:-}", password: "${SMTP_PASSWORD}"}
        schedule: "0 8 * * 1-5"
        rules: [xi-putin-contacts, "tag:sanctions"]
        max_items: 50
      ops:
        type: webhook
        url: https://hooks.example.org/wirewatch
        format: slack
        secret: "${WEBHOOK_SECRET}"
        schedule: immediate
      local:
        type: file
        path: outbox/
        schedule: "every 1m"
"""

MINIMAL = """\
    watch:
      - path: inbox
"""


def write_config(root: Path, text: str) -> Path:
    """Write `text` as root/config.yaml beside an inbox/ and a rules/ folder."""
    for folder in ("inbox", "rules"):
        (root / folder).mkdir(exist_ok=True)
    path = root / "config.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    """The lines `wirewatch check` would print for this config."""
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ or {})
    return str(caught.value).splitlines()


@pytest.mark.parametrize(
    ("state", "file"),
    [
        ("var/news.db", "var/news.db"),
        ("sqlite:///var/news.db", "var/news.db"),  # relative, as SQLAlchemy reads it
    ],
)
def test_the_state_is_a_file_relative_to_the_config(tmp_path: Path, state: str, file: str) -> None:
    config = load_config(write_config(tmp_path, f"    state: {state}\n" + MINIMAL), {})
    assert config.state_url == f"sqlite:///{tmp_path / file}"


def test_a_sqlite_address_with_four_slashes_is_absolute(tmp_path: Path) -> None:
    absolute = tmp_path / "elsewhere" / "news.db"
    config = load_config(write_config(tmp_path, f"    state: sqlite:///{absolute}\n" + MINIMAL), {})
    assert config.state_url == f"sqlite:///{absolute}"


def test_the_spec_example_loads(tmp_path: Path) -> None:
    environ = {"SMTP_PASSWORD": "hunter2", "WEBHOOK_SECRET": "whsec_c2VjcmV0IGtleQ=="}
    config = load_config(write_config(tmp_path, SPEC_EXAMPLE), environ)
    assert config.source == tmp_path / "config.yaml"
    assert config.state_url == f"sqlite:///{tmp_path / 'var' / 'wirewatch.db'}"
    assert config.tz == ZoneInfo("Europe/Berlin")
    (folder,) = config.watch
    assert (folder.path, folder.patterns) == (tmp_path / "inbox", ("*.txt", "*.md"))
    assert (folder.recursive, folder.polling) == (False, True)
    assert config.ingest.max_file_mb == 2.5
    assert config.ingest.settle_seconds == 2.0
    assert config.ingest.rematch_window == timedelta(hours=24)
    mail, ops, local = config.channels.values()
    assert isinstance(mail, EmailChannel)
    assert (mail.sender, mail.to, mail.max_items) == (
        "wirewatch@example.org",
        ("analyst@example.org",),
        50,
    )
    assert mail.rules == ("xi-putin-contacts", "tag:sanctions")
    assert mail.smtp.host == "localhost"
    assert mail.smtp.username is None  # ${SMTP_USER:-} means: no login
    assert mail.smtp.password is not None
    assert mail.smtp.password.get_secret_value() == "hunter2"
    assert mail.schedule_spec.cron == "0 8 * * 1-5"
    assert isinstance(ops, WebhookChannel)
    assert ops.url.get_secret_value() == "https://hooks.example.org/wirewatch"
    assert "hooks.example.org" not in repr(ops)
    assert ops.schedule_spec.immediate
    assert isinstance(local, FileChannel)
    assert local.path == tmp_path / "outbox"
    assert local.schedule_spec.interval == timedelta(minutes=1)


def test_defaults(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, MINIMAL), {})
    assert config.timezone == "UTC"
    assert config.rules == (tmp_path / "rules",)
    assert config.watch[0].patterns == ("*.txt", "*.md", "*.json", "*.jsonl", "*.html")
    assert config.channels == {}
    assert config.line_of(("watch", 0, "path")) == 2
    assert config.line_of(("watch", 0, "polling")) == 2  # not written: its parent's line


def test_rules_may_list_files_and_folders(tmp_path: Path) -> None:
    for name in ("b.yaml", "a.yml", ".#a.yaml", "notes.txt"):
        (tmp_path / "rules" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "rules" / name).write_text("", encoding="utf-8")
    (tmp_path / "extra.yaml").write_text("", encoding="utf-8")
    path = write_config(tmp_path, MINIMAL + "    rules: [rules, extra.yaml]\n")
    config = load_config(path, {})
    rules = tmp_path / "rules"
    assert config.rule_files() == [rules / "a.yml", rules / "b.yaml", tmp_path / "extra.yaml"]


def test_environment_variables_fill_values_not_keys(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """\
    channels:
      local:
        type: file
        path: "${OUTBOX:-out}/${USER_NAME}"
        max_items: ${MAX_ITEMS:-7}
    """
    )
    config = load_config(write_config(tmp_path, text), {"USER_NAME": "ana"})
    channel = config.channels["local"]
    assert isinstance(channel, FileChannel)
    assert (channel.path, channel.max_items) == (tmp_path / "out" / "ana", 7)


def test_missing_config_file(tmp_path: Path) -> None:
    assert problems(tmp_path / "config.yaml") == [
        f"{tmp_path / 'config.yaml'}: file not found; pass -c PATH, or make a project here with"
        " `wirewatch init`"
    ]


def test_bad_yaml_syntax(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL + "    timezone: [UTC\n    state: x\n")
    assert problems(path) == [
        f"{path}:4: bad YAML: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence at line 3)"
    ]


def test_unknown_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL + "    chanels: {}\n")
    assert problems(path) == [f"{path}:3: chanels: unknown key 'chanels'; did you mean 'channels'?"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("    time_zone: UTC\n", "3: time_zone: unknown key 'time_zone'; did you mean 'timezone'?"),
        (
            "    channels: {a: {type: file, path: out, shedule: immediate}}\n",
            "3: channels.a.shedule: unknown key 'shedule'; did you mean 'schedule'?",
        ),
        (
            "    channels: {a: {type: email, to: [a@x], form: b@x, smtp: {host: h}}}\n",
            "3: channels.a.form: unknown key 'form'; did you mean 'from'?",  # as YAML spells it
        ),
        (
            # a channel named as a type: the name is not taken for the type
            "    channels: {email: {type: email, to: [a@x], from: b@x,\n"
            "                       smtp: {host: h, prot: 25}}}\n",
            "4: channels.email.smtp.prot: unknown key 'prot'; did you mean 'port'?",
        ),
        (
            "    channels: {a: {type: file, path: out, url: 'https://x'}}\n",
            "3: channels.a.url: unknown key 'url'",  # a webhook's key, not a file channel's
        ),
        (
            "    http: {listen: '127.0.0.1:9464', colour: red}\n",
            "3: http.colour: unknown key 'colour'",
        ),
        (
            "    channels: {a: {type: file, path: out, max_matchs: 9}}\n",
            "3: channels.a.max_matchs: unknown key 'max_matchs'; did you mean 'max_items'?",
        ),  # not the key no longer used
    ],
)
def test_unknown_key_names_a_close_key_of_its_place(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write_config(tmp_path, MINIMAL + text)
    assert f"{path}:{expected}" in problems(path)


def test_duplicate_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, "    timezone: UTC\n" + MINIMAL + "    timezone: UTC\n")
    assert problems(path) == [
        f"{path}:4: timezone: duplicate key 'timezone' (first at line 1); keep one"
    ]


def test_missing_environment_variable(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """\
    channels:
      mail:
        type: email
        to: [a@example.org]
        from: b@example.org
        smtp:
          host: localhost
          username: ${SMTP_USER}
    """
    )
    path = write_config(tmp_path, text)
    assert problems(path) == [
        f"{path}:10: channels.mail.smtp.username: environment variable SMTP_USER is not set; "
        "set it, or write ${SMTP_USER:-default} (${SMTP_USER:-} for none)"
    ]


def test_missing_watched_folder(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL + "      - path: nowhere\n")
    assert problems(path) == [
        f"{path}:3: watch[1].path: folder '{tmp_path / 'nowhere'}' does not exist; "
        "create it or fix the path"
    ]


def test_missing_rules_folder(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL + "    rules: [rules/, more-rules/]\n")
    assert problems(path) == [
        f"{path}:3: rules[1]: '{tmp_path / 'more-rules'}' does not exist; create it or fix the path"
    ]


def test_bad_schedule(tmp_path: Path) -> None:
    text = MINIMAL + "    channels:\n      local: {type: file, path: out, schedule: hourly}\n"
    path = write_config(tmp_path, text)
    assert problems(path) == [
        f"{path}:4: channels.local.schedule: 'hourly' is not a schedule; use a 5-field cron "
        "line like '0 8 * * 1-5', 'every 15m' (s, m, h, d) or 'immediate'"
    ]


def test_bad_timezone(tmp_path: Path) -> None:
    path = write_config(tmp_path, "    timezone: Europe/Berlln\n" + MINIMAL)
    assert problems(path) == [
        f"{path}:1: timezone: unknown time zone 'Europe/Berlln'; "
        "use a name like 'Europe/Berlin' or 'UTC'"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("    ingest: {max_file_mb: 0}\n", "3: ingest.max_file_mb: must be greater than 0"),
        (
            "    ingest: {settle_seconds: soon}\n",
            "3: ingest.settle_seconds: must be a valid number, unable to parse string as a number",
        ),
        ("    ingest: 5\n", "3: ingest: must be a mapping of keys to values"),
        (
            "    ingest: {rematch_window: 0s}\n",
            "3: ingest.rematch_window: '0s' is no time at all; write more than 0, as 30s, 15m, 2h"
            " or 1d",
        ),
        ("    rules: []\n", "3: rules: needs at least one entry"),
        (
            "    channels: {my mail: {type: file, path: out}}\n",
            "3: channels.my mail: channel name 'my mail' may use only a-z, A-Z, digits, - and _",
        ),
        (
            "    channels: {a: {type: sms}}\n",
            "3: channels.a.type: unknown type 'sms';"
            " use one of 'file', 'webhook', 'email', 'apprise'",
        ),
        ("    channels: {a: {path: out}}\n", "3: channels.a.type: field required"),
        ("    channels: {a: {type: file}}\n", "3: channels.a.path: field required"),
        (
            "    channels: {a: {type: file, path: out, colour: red}}\n",
            "3: channels.a.colour: unknown key 'colour'",
        ),
        (
            "    channels: {a: {type: file, path: out, max_items: 0}}\n",
            "3: channels.a.max_items: must be greater than 0",
        ),
        (
            "    channels: {a: {type: file, path: out, max_matches: 5000}}\n",
            "3: channels.a.max_matches: must be less than or equal to 1000",
        ),
        (
            "    channels: {a: {type: file, path: out, throttle: {max: 0, per: 1h}}}\n",
            "3: channels.a.throttle.max: must be greater than 0",
        ),
        (
            "    channels: {a: {type: file, path: out, throttle: {max: 6}}}\n",
            "3: channels.a.throttle.per: field required",
        ),
        (
            "    channels: {a: {type: file, path: out, max_items: 5000}}\n",
            "3: channels.a.max_items: must be less than or equal to 1000",
        ),
        (
            "    channels: {a: {type: file, path: out, group_by: story}}\n",
            "3: channels.a.group_by: must be 'article' or 'rule', not 'story'",
        ),
        (
            "    channels: {a: {type: file, path: out, same_story: 2}}\n",
            "3: channels.a.same_story: must be less than or equal to 1",
        ),
        (
            "    channels: {a: {type: file, path: out, realert: soon}}\n",
            "3: channels.a.realert: 'soon' is not a duration; write a number and s, m, h or d, as"
            " 30s, 15m, 2h or 1d",
        ),
        (
            "    channels: {a: {type: file, path: out, rules: [1]}}\n",
            "3: channels.a.rules[0]: must be text, not 1; put it in quotes",
        ),
        (
            "    channels: {a: {type: webhook, url: ftp://x}}\n",
            "3: channels.a.url: must be an http:// or https:// address",
        ),
        (
            "    channels: {a: {type: webhook, url: 'https://x', format: xml}}\n",
            "3: channels.a.format: must be 'json', 'slack', 'discord' or 'teams', not 'xml'",
        ),
        (
            "    channels: {a: {type: email, to: a@x, from: b@x, smtp: {host: h}}}\n",
            "3: channels.a.to: must be a list, like [a, b]",
        ),
        (
            "    channels: {a: {type: email, to: [someone], from: b@x, smtp: {host: h}}}\n",
            "3: channels.a.to[0]: 'someone' is not an email address",
        ),
        (
            "    channels: {a: {type: email, to: [a@x], from: b@x, smtp: {host: h, port: 0}}}\n",
            "3: channels.a.smtp.port: must be greater than or equal to 1",
        ),
        (
            "    channels: {a: {type: email, to: [a@x], from: b@x}}\n",
            "3: channels.a.smtp: field required",
        ),
        (
            "    channels: {news: {type: file, path: out}}\n    alerts: [news, ops]\n",
            "4: alerts: 'ops' is not a channel in channels: (known: news);"
            " name a channel, or add one for the alerts",
        ),
    ],
)
def test_wrong_values_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write_config(tmp_path, MINIMAL + text)
    assert f"{path}:{expected}" in problems(path)


def test_a_state_file_that_cannot_be_made_is_reported(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "plain").write_text("", encoding="utf-8")
    for state, expected in [
        (
            "var",
            f"'{tmp_path / 'var'}' is a folder; give the path of a file, like "
            f"{tmp_path / 'var' / 'wirewatch.db'}",
        ),
        ("plain/wirewatch.db", f"'{tmp_path / 'plain'}' is a file, not a folder; fix the path"),
    ]:
        path = write_config(tmp_path, MINIMAL + f"    state: {state}\n")
        assert problems(path) == [f"{path}:3: state: {expected}"]


def test_every_mistake_is_reported_at_once(tmp_path: Path) -> None:
    text = """\
    timezone: Mars/Olympus
    watch:
      - path: nowhere
        recursive: maybe
    colour: red
    """
    path = write_config(tmp_path, text)
    assert problems(path) == [
        f"{path}:1: timezone: unknown time zone 'Mars/Olympus'; "
        "use a name like 'Europe/Berlin' or 'UTC'",
        f"{path}:3: watch[0].path: folder '{tmp_path / 'nowhere'}' does not exist; "
        "create it or fix the path",
        f"{path}:4: watch[0].recursive: must be true or false",
        f"{path}:5: colour: unknown key 'colour'",
    ]


def test_an_unset_variable_is_reported_once(tmp_path: Path) -> None:
    text = MINIMAL + "    channels:\n      a: {type: webhook, url: '${HOOK_URL}'}\n"
    path = write_config(tmp_path, text)
    assert problems(path) == [
        f"{path}:4: channels.a.url: environment variable HOOK_URL is not set; "
        "set it, or write ${HOOK_URL:-default} (${HOOK_URL:-} for none)"
    ]


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write_config(tmp_path, "    - watch\n")
    assert problems(path) == [f"{path}:1: must be a mapping of keys to values"]


def test_an_empty_file_needs_a_watched_folder(tmp_path: Path) -> None:
    path = write_config(tmp_path, "")
    assert problems(path) == [f"{path}: watch: give a folder to watch (or feeds in sources:)"]


def test_problem_without_a_line() -> None:
    assert (
        str(Problem(Path("config.yaml"), None, "", "file not found"))
        == "config.yaml: file not found"
    )
    assert str(Problem(Path("c.yaml"), 3, "watch[0].path", "bad")) == "c.yaml:3: watch[0].path: bad"


def test_merge_keys_are_refused(tmp_path: Path) -> None:
    text = MINIMAL + "    channels:\n      a:\n        <<: {type: file}\n        path: out\n"
    path = write_config(tmp_path, text)
    assert problems(path) == [
        f"{path}:5: channels.a: merge keys (<<) are not supported; write the keys out",
        f"{path}:4: channels.a.type: field required",
    ]


def mail_channel(smtp: str) -> str:
    return f"    channels: {{a: {{type: email, to: [a@x], from: b@x, smtp: {smtp}}}}}\n"


def smtp_of(path: Path) -> Smtp:
    channel = load_config(path, {}).channels["a"]
    assert isinstance(channel, EmailChannel)
    return channel.smtp


def test_smtp_defaults(tmp_path: Path) -> None:
    smtp = smtp_of(write_config(tmp_path, MINIMAL + mail_channel("{host: h}")))
    assert (smtp.port, smtp.security, smtp.username, smtp.password) == (587, "starttls", None, None)
    assert (smtp.ca_file, smtp.timeout_seconds) == (None, 30)


def test_smtp_ca_file_is_read_from_the_config_folder(tmp_path: Path) -> None:
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    text = MINIMAL + mail_channel("{host: h, ca_file: ca.pem, timeout_seconds: 5}")
    smtp = smtp_of(write_config(tmp_path, text))
    assert (smtp.ca_file, smtp.timeout_seconds) == (tmp_path / "ca.pem", 5)


@pytest.mark.parametrize(
    ("smtp", "expected"),
    [
        (
            "{host: h, security: none, username: u, password: p}",
            "3: channels.a.smtp.username: logging in with security: none would send the "
            "password unencrypted; use security: starttls or ssl",
        ),
        ("{host: h, username: u}", "3: channels.a.smtp.password: needed when smtp.username is set"),
        (
            "{host: h, username: u, password: '${SMTP_PASSWORD:-}'}",
            "3: channels.a.smtp.password: needed when smtp.username is set",
        ),
        (
            "{host: h, timeout_seconds: 0}",
            "3: channels.a.smtp.timeout_seconds: must be greater than 0",
        ),
    ],
)
def test_smtp_mistakes(tmp_path: Path, smtp: str, expected: str) -> None:
    path = write_config(tmp_path, MINIMAL + mail_channel(smtp))
    assert problems(path) == [f"{path}:{expected}"]


def test_smtp_ca_file_must_hold_certificates(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate\n", encoding="utf-8")
    path = write_config(tmp_path, MINIMAL + mail_channel("{host: h, ca_file: ca.pem}"))
    assert problems(path) == [
        f"{path}:3: channels.a.smtp.ca_file: '{tmp_path / 'ca.pem'}' is not a PEM file of "
        "CA certificates"
    ]


def test_a_password_without_a_username_means_no_login(tmp_path: Path) -> None:
    text = MINIMAL + mail_channel("{host: h, username: '${SMTP_USER:-}', password: pw}")
    assert smtp_of(write_config(tmp_path, text)).username is None


WEBHOOK = (
    MINIMAL + "    channels:\n      ops: {type: webhook, url: 'https://hooks.example.org/T0/B0'"
)


def test_webhook_defaults(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, WEBHOOK + "}\n"), {})
    ops = config.channels["ops"]
    assert isinstance(ops, WebhookChannel)
    assert (ops.format, ops.secret, ops.headers) == ("json", None, {})
    assert (ops.timeout_seconds, ops.connect_timeout_seconds) == (10, 5)


@pytest.mark.parametrize("secret", ["whsec_c2VjcmV0IGtleQ==", "c2VjcmV0IGtleQ", ""])
def test_a_webhook_secret_is_base64(tmp_path: Path, secret: str) -> None:
    path = write_config(tmp_path, WEBHOOK + ", secret: '${SECRET:-}'}\n")  # empty: unsigned
    ops = load_config(path, {"SECRET": secret}).channels["ops"]
    assert isinstance(ops, WebhookChannel)
    assert (ops.secret.get_secret_value() if ops.secret else "") == secret


@pytest.mark.parametrize("secret", ["password1", "pässwort", "whsec_"])
def test_a_webhook_secret_that_is_not_base64_is_refused_unrepeated(
    tmp_path: Path, secret: str
) -> None:
    path = write_config(tmp_path, WEBHOOK + ", secret: '${SECRET}'}\n")
    (line,) = problems(path, {"SECRET": secret})
    assert line.startswith(f"{path}:4: channels.ops.secret: ")
    assert "base64" in line
    assert secret == "whsec_" or secret not in line


@pytest.mark.parametrize(
    ("channel", "key"),
    [
        (
            "{type: email, to: [a@x], from: b@x, smtp: {host: h, username: me, "
            "password: 12345678901}}",
            "smtp.password",
        ),
        (
            "{type: webhook, url: 'https://x', headers: {Authorization: 12345678901}}",
            "headers.Authorization",
        ),
    ],
)
def test_a_secret_written_as_a_number_is_not_repeated(
    tmp_path: Path, channel: str, key: str
) -> None:
    path = write_config(tmp_path, MINIMAL + f"    channels: {{a: {channel}}}\n")
    assert problems(path) == [f"{path}:3: channels.a.{key}: must be text; put it in quotes"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ("{'Bad Name': x}", "channels.ops.headers: 'Bad Name' is not an HTTP header name"),
        (
            '{Authorization: "Bearer t\\u00f6ken"}',
            "channels.ops.headers: the value of 'Authorization' may hold only printable ASCII "
            "characters",
        ),
    ],
)
def test_webhook_headers_are_valid_http(tmp_path: Path, headers: str, expected: str) -> None:
    path = write_config(tmp_path, WEBHOOK + f", headers: {headers}}}\n")
    assert problems(path) == [f"{path}:4: {expected}"]


def test_a_variable_set_but_empty_is_a_mistake(tmp_path: Path) -> None:
    path = write_config(tmp_path, WEBHOOK + ", secret: '${SECRET}'}\n")
    assert problems(path, {"SECRET": ""}) == [
        f"{path}:4: channels.ops.secret: environment variable SECRET is empty; "
        "set it, or write ${SECRET:-default} (${SECRET:-} for none)"
    ]


def test_retention_windows_are_durations_and_each_optional(tmp_path: Path) -> None:
    text = MINIMAL + "    retention: {articles: 90d, digests: 180d}\n"
    retention = load_config(write_config(tmp_path, text), {}).retention
    assert (retention.articles, retention.digests) == (timedelta(days=90), timedelta(days=180))
    kept = load_config(write_config(tmp_path, MINIMAL), {}).retention
    assert (kept.articles, kept.digests, kept.configured) == (None, None, False)
    path = write_config(tmp_path, MINIMAL + "    retention: {articles: 90, digest: 1d}\n")
    assert problems(path) == [
        f"{path}:3: retention.articles: 90 is not a duration; write a number and s, m, h or d,"
        " as 30s",
        f"{path}:3: retention.digest: unknown key 'digest'; did you mean 'digests'?",
    ]
