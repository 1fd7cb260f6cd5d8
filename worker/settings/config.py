"""config.yaml as frozen models: what to watch, where the rules are, where digests go."""

from __future__ import annotations

import base64
import binascii
import importlib.util
import re
import ssl
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from worker.errors import ConfigError, Problem
from worker.settings.opml import read_opml
from worker.settings.schedule import Schedule, parse_duration, parse_schedule
from worker.settings.yamlfile import Key, YamlFile, format_key, read_yaml

__all__ = [
    "AppriseChannel",
    "Channel",
    "Config",
    "EmailChannel",
    "Feed",
    "FileChannel",
    "HttpSettings",
    "IngestSettings",
    "Retention",
    "RetrySettings",
    "Smtp",
    "Throttle",
    "Timing",
    "WatchFolder",
    "WebhookChannel",
    "load_config",
    "named_rule_files",
    "signing_key",
]

SECRET_PREFIX = "whsec_"
DEFAULT_PATTERNS = ("*.txt", "*.md", "*.json", "*.jsonl", "*.html")
_CHANNEL_NAME = re.compile(r"[A-Za-z0-9_-]+")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _resolve(path: Path, info: ValidationInfo) -> Path:
    """Relative paths are read from the config file's folder, which the loader passes in."""
    folder = (info.context or {}).get("folder", Path.cwd())
    return (Path(folder) / path.expanduser()).resolve()


def _existing_folder(path: Path, info: ValidationInfo) -> Path:
    path = _resolve(path, info)
    if not path.exists():
        raise ValueError(f"folder '{path}' does not exist; create it or fix the path")
    if not path.is_dir():
        raise ValueError(f"'{path}' is a file, not a folder; give a folder")
    return path


def _existing(path: Path, info: ValidationInfo) -> Path:
    path = _resolve(path, info)
    if not path.exists():
        raise ValueError(f"'{path}' does not exist; create it or fix the path")
    return path


def _certificate_bundle(path: Path, info: ValidationInfo) -> Path:
    path = _existing(path, info)
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError):
        raise ValueError(f"'{path}' is not a PEM file of CA certificates") from None
    return path


def _empty_to_none(value: object) -> object:
    """`${SMTP_USER:-}` leaves an empty string; for an optional setting that means unset."""
    return None if value == "" else value


def _duration(value: object) -> object:
    """`5s`, `15m`, `2h`, `1d`: one shape, the one schedules use too."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration; write a number and s, m, h or d, as 30s")
    return parse_duration(value)


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        message = f"unknown time zone '{name}'; use a name like 'Europe/Berlin' or 'UTC'"
        raise ValueError(message) from None
    return name


def _valid_schedule(text: str) -> str:
    return parse_schedule(text).text


def _web_address(url: SecretStr) -> SecretStr:
    # The message never repeats the address: it may carry a token.
    parts = urlsplit(url.get_secret_value())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// address")
    return url


def signing_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: the base64 after an optional `whsec_`.

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


def _signing_secret(secret: SecretStr | None) -> SecretStr | None:
    if secret is not None:
        signing_key(secret.get_secret_value())  # the message never repeats the secret
    return secret


def _http_headers(headers: dict[str, str]) -> dict[str, str]:
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"'{name}' is not an HTTP header name")
        if not _HEADER_VALUE.fullmatch(value):
            # The message leaves the value out: it may be a token.
            raise ValueError(f"the value of '{name}' may hold only printable ASCII characters")
    return headers


def _apprise_installed(urls: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
    # Apprise is an optional extra; whether each URL is one it knows is checked with the
    # channels' notifiers (worker.notify.channel_mistakes), which speak Apprise.
    if importlib.util.find_spec("apprise") is None:
        raise ValueError("needs Apprise, which is not installed: pip install 'wirewatch[apprise]'")
    return urls


def _host_port(listen: str) -> str:
    host, colon, port = listen.rpartition(":")
    if not colon or not host.strip("[]") or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"'{listen}' is not HOST:PORT; write it like 127.0.0.1:9464")
    return listen


def _email_address(address: str) -> str:
    if "@" not in address:
        raise ValueError(f"'{address}' is not an email address")
    return address


def _channel_name(name: str) -> str:
    if not _CHANNEL_NAME.fullmatch(name):
        raise ValueError(f"channel name '{name}' may use only a-z, A-Z, digits, - and _")
    return name


ResolvedPath = Annotated[Path, AfterValidator(_resolve)]
ExistingFolder = Annotated[Path, AfterValidator(_existing_folder)]
Duration = Annotated[timedelta, BeforeValidator(_duration)]
OptionalText = Annotated[str | None, BeforeValidator(_empty_to_none)]
OptionalSecret = Annotated[SecretStr | None, BeforeValidator(_empty_to_none)]
SigningSecret = Annotated[OptionalSecret, AfterValidator(_signing_secret)]
HttpHeaders = Annotated[dict[str, str], AfterValidator(_http_headers)]
ScheduleText = Annotated[str, AfterValidator(_valid_schedule)]
ZoneName = Annotated[str, AfterValidator(_known_zone)]
EmailAddress = Annotated[str, AfterValidator(_email_address)]
ChannelName = Annotated[str, AfterValidator(_channel_name)]
OptionalCertificates = Annotated[
    Annotated[Path, AfterValidator(_certificate_bundle)] | None, BeforeValidator(_empty_to_none)
]


# A value written as one item or as a list of them (the input that schema tells editors of)
_Listed = Annotated[list[str], Field(min_length=1)]


class WatchFolder(_Model):
    """A folder whose article files are ingested."""

    path: ExistingFolder = Field(
        description="The folder, relative to the config file; it must exist."
    )
    patterns: tuple[str, ...] = Field(
        default=DEFAULT_PATTERNS,
        min_length=1,
        description="Which file names are articles; other files are left alone.",
    )
    recursive: bool = Field(default=True, description="Watch the folders inside it too.")
    polling: bool = Field(
        default=False,
        description="Look for changes every so often instead of being told by the kernel: "
        "for network file systems (NFS, SMB).",
    )
    alert_existing: bool = Field(
        examples=[False],
        default=True,
        description="false: the files already there at the first scan on a state are "
        "stored and matched, but not sent; files arriving later are.",
    )


def _feed_address(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"'{url}' is not an http or https address; write it like https://...")
    return url.strip()


class Feed(_Model):
    """An RSS, Atom or JSON feed, polled every so often; each entry is an article."""

    type: Literal["feed"] = Field(description="Always `feed`.")
    url: Annotated[str, AfterValidator(_feed_address)] = Field(
        description="The feed's http:// or https:// address."
    )
    name: OptionalText = Field(
        default=None,
        description="The source digests and `status` show; the feed's address when not given.",
    )
    every: Duration = Field(
        default="10m", validate_default=True, description="How often the feed is polled."
    )
    fetch: Literal["summary", "full"] = Field(
        default="summary",
        description="summary: the entry's own text; full: the main text of the page it links to.",
    )
    headers: HttpHeaders = Field(
        examples=[{"Authorization": "Bearer ${COURIER_TOKEN}"}],
        default_factory=dict,
        description="HTTP headers sent with each request.",
    )
    allow_private: bool = Field(
        examples=[True],
        default=False,
        description="Let the feed's entry links and redirects lead to loopback, private and "
        "link-local addresses (a feed of your intranet).",
    )
    timeout: Duration = Field(
        examples=["30s"],
        default="30s",
        validate_default=True,
        description="The longest one request may take.",
    )
    max_mb: float = Field(
        examples=[10], default=10, gt=0, description="The largest body read, in MB once unpacked."
    )

    @field_validator("every", "timeout")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than 0s; write it like '10m'")
        return value

    @property
    def title(self) -> str:
        """The feed as digests and `status` name it."""
        return self.name or self.url


class IngestSettings(_Model):
    """How articles are read: size limit, how long a file must be still, how often to rescan."""

    max_file_mb: float = Field(
        default=5,
        gt=0,
        description="Larger files are recorded as failed, not read (in MB).",
    )
    settle_seconds: float = Field(
        examples=[0.5],
        default=2.0,
        ge=0,
        description="How long a file (or an edit of the config) must stay unchanged before "
        "it counts as complete, where the kernel does not say when a writer closed it.",
    )
    rescan_seconds: float = Field(
        examples=[300],
        default=300,
        gt=0,
        description="How often the folders are scanned for files the watcher missed.",
    )
    rematch_window: Duration = Field(
        default="24h",
        validate_default=True,
        description="Rules added or changed while the daemon runs are matched against the "
        "articles stored this recently too.",
    )


class Timing(_Model):
    """How long wirewatch waits for what; the defaults suit a daemon that runs for months."""

    lease: Duration = Field(
        default="15s",
        validate_default=True,
        description="A digest being sent is claimed this long, renewed meanwhile; a process "
        "that died mid-send is taken over once its claim runs out.",
    )
    sweep: Duration = Field(
        default="30s",
        validate_default=True,
        description="How often each channel looks for retries that are due and, when "
        "immediate, for matches another process stored.",
    )
    stop_grace: Duration = Field(
        examples=["10s"],
        default="5s",
        validate_default=True,
        description="How long a stop, or a restart on a new config, waits for the sends in flight.",
    )
    busy_timeout: Duration = Field(
        examples=["5s"],
        default="30s",
        validate_default=True,
        description="How long a write waits for another process's lock on the state.",
    )
    quiet: Duration = Field(
        examples=["0.05s"],
        default="0.05s",
        validate_default=True,
        description="An immediate channel sends once no new article has come for this long: a "
        "lone article goes out at once, a burst of articles closer than this goes in one digest.",
    )
    batch: Duration = Field(
        default="2s",
        validate_default=True,
        description="The longest an immediate channel holds a burst: it sends at the latest "
        "this long after the first match it holds.",
    )


class Retention(_Model):
    """How long what was ingested and sent is kept; a window left out keeps it for good."""

    articles: Duration | None = Field(
        default=None,
        description="Articles and their matches are removed this long after they were "
        "stored, unless a digest not yet delivered holds them; kept for good when not given.",
    )
    digests: Duration | None = Field(
        default=None,
        description="Sent digests are removed this long after they were sent; kept for good "
        "when not given.",
    )

    @property
    def configured(self) -> bool:
        """Whether anything is ever pruned."""
        return self.articles is not None or self.digests is not None


class HttpSettings(_Model):
    """The HTTP endpoint of the daemon: /metrics, /healthz and /readyz."""

    listen: Annotated[str, AfterValidator(_host_port)] = Field(
        description="HOST:PORT to serve on; an edit takes effect at the next restart."
    )

    @property
    def address(self) -> tuple[str, int]:
        """The host (an IPv6 one without its brackets) and the port."""
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class RetrySettings(_Model):
    """How a digest the receiver did not take is tried again."""

    delays: tuple[Duration, ...] = Field(
        default=("5s", "1m", "5m", "30m", "2h", "6h"),
        min_length=1,
        validate_default=True,
        description="The wait after the 1st, 2nd, ... failed attempt; the last one repeats.",
    )
    give_up_after: Duration = Field(
        examples=["24h"],
        default="24h",
        validate_default=True,
        description="A digest still failing this long after its first failure is dead.",
    )
    jitter: float = Field(
        examples=[0.1],
        default=0.2,
        ge=0,
        lt=1,
        description="Each wait varies by up to this share of it (0.2: ±20%).",
    )


class Throttle(_Model):
    """At most `max` digests in any trailing `per`: past it, matches wait for the next."""

    max: int = Field(gt=0, description="The most digests sent in any trailing `per`.")
    per: Duration = Field(description="The period `max` counts digests over, like `1h`.")


class _ChannelBase(_Model):
    schedule: ScheduleText = Field(
        default="every 1h",
        description="When it sends: a cron line (`0 8 * * 1-5`), a period (`every 15m`) or "
        "`immediate`.",
    )
    timezone: ZoneName | None = Field(
        examples=["Asia/Shanghai"],
        default=None,
        description="The time zone of its schedule and of the times its digests show; the "
        "config's when not given.",
    )
    retry: RetrySettings = Field(
        default=RetrySettings(),
        description="How a digest the receiver did not take is tried again.",
    )
    rules: tuple[str, ...] | None = Field(
        default=None,
        min_length=1,
        description="Which rules' matches it sends, by id or as `tag:NAME`; every rule when "
        "not given.",
    )
    min_priority: Literal["high", "normal", "low"] = Field(
        examples=["high"],
        default="low",
        description="Leave out the matches of rules of lower priority.",
    )
    # A slot sends one digest, however long the backlog: it lists at most `max_items`
    # matches and counts the rest, which it holds all the same (never sent again).
    max_items: int = Field(
        default=50,
        gt=0,
        le=1000,
        description="A digest lists at most this many matches and counts the rest, which "
        "it holds all the same.",
    )
    # No longer used (a backlog was once sent as many digests of this many): still read,
    # so that a config written for an older wirewatch starts.
    max_matches: int | None = Field(
        default=None,
        deprecated=True,
        gt=0,
        le=1000,
        description="No longer used: read so that an older config still starts.",
    )
    send_empty: bool = Field(
        examples=[True],
        default=False,
        description="Send a digest saying nothing matched when nothing did (not for an "
        "immediate channel).",
    )
    throttle: Throttle | None = Field(
        default=None,
        description="At most `max` digests in any trailing `per`; past it, matches wait "
        "for the next digest allowed.",
    )
    template: ExistingFolder | None = Field(
        examples=["templates/mail/"],
        default=None,
        description="A folder of templates (`subject.txt`, `digest.txt`, `digest.html`, "
        "`digest.json`) replacing the defaults for this channel.",
    )
    # Two articles are one story from `same_story` on (the share of their word runs in
    # common, estimated).
    group_by: Literal["article", "rule"] = Field(
        examples=["rule"],
        default="article",
        description="article: one entry per story, tagged with its rules; rule: a section "
        "per rule.",
    )
    same_story: float = Field(
        examples=[0.3],
        default=0.3,
        gt=0,
        le=1,
        description="How alike two articles must be to be one story (0-1): raise it if "
        "different stories are joined, lower it if rewrites stay apart.",
    )
    realert: Duration = Field(
        examples=["24h"],
        default="24h",
        validate_default=True,
        description="A story's new articles within this of the digest that showed it are an "
        "update line, not a new entry.",
    )

    @property
    def schedule_spec(self) -> Schedule:
        """The parsed `schedule:`."""
        return parse_schedule(self.schedule)

    @model_validator(mode="after")
    def _empty_needs_a_schedule(self) -> _ChannelBase:
        if self.send_empty and self.schedule_spec.immediate:
            raise ValueError(
                "send_empty needs a schedule: an immediate channel sends only when an article "
                "matched; remove send_empty or give a schedule"
            )
        return self


class FileChannel(_ChannelBase):
    """Digests written as files into a folder (created when first needed)."""

    type: Literal["file"] = Field(default="file", description="`file`.")
    path: ResolvedPath = Field(
        description="The folder digests are written into, created when first needed."
    )


class WebhookChannel(_ChannelBase):
    """Digests posted to an HTTP endpoint."""

    type: Literal["webhook"] = Field(default="webhook", description="`webhook`.")
    url: Annotated[SecretStr, AfterValidator(_web_address)] = Field(
        description="The http:// or https:// address posted to; keep tokens in the "
        "environment (`${HOOK_URL}`)."
    )
    format: Literal["json", "slack", "discord", "teams"] = Field(
        default="json",
        description="json: the digest document (or the channel's `digest.json`); slack, "
        "discord, teams: a message in that service's format.",
    )
    secret: SigningSecret = Field(
        examples=["${WEBHOOK_SECRET}"],
        default=None,
        description="Signs every request (Standard Webhooks): base64, with or without the "
        "`whsec_` prefix.",
    )
    headers: HttpHeaders = Field(
        examples=[{"Authorization": "Bearer ${HOOK_TOKEN}"}],
        default_factory=dict,
        description="HTTP headers added to every request.",
    )
    timeout_seconds: float = Field(
        examples=[10], default=10, gt=0, description="The longest one delivery may take, in all."
    )
    connect_timeout_seconds: float = Field(
        examples=[5], default=5, gt=0, description="The longest wait for the connection, within it."
    )


class Smtp(_Model):
    """The mail server an email channel sends through."""

    host: str = Field(min_length=1, description="The mail server's name or address.")
    port: int = Field(default=587, ge=1, le=65535, description="Its port.")
    security: Literal["none", "starttls", "ssl"] = Field(
        default="starttls",
        description="starttls: plain text switched to TLS first (port 587); ssl: TLS from "
        "the first byte (465); none: plain SMTP, for a relay you trust.",
    )
    username: OptionalText = Field(
        default=None, description="Log in as this user; empty means no login."
    )
    password: OptionalSecret = Field(
        default=None,
        validate_default=True,
        description="The password, needed with a username; keep it in the environment.",
    )
    ca_file: OptionalCertificates = Field(
        examples=["/etc/ssl/certs/newsroom-ca.pem"],
        default=None,
        description="A PEM file of CA certificates trusted instead of the system's, for "
        "this channel only.",
    )
    timeout_seconds: float = Field(
        examples=[30], default=30, gt=0, description="The longest one delivery may take, in all."
    )

    @field_validator("username")
    @classmethod
    def _no_login_in_clear_text(cls, username: str | None, info: ValidationInfo) -> str | None:
        if username is not None and info.data.get("security") == "none":
            raise ValueError(
                "logging in with security: none would send the password unencrypted; "
                "use security: starttls or ssl"
            )
        return username

    @field_validator("password")
    @classmethod
    def _password_for_login(
        cls, password: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        # A password without a username is fine: `${SMTP_USER:-}` left empty means no login.
        if password is None and info.data.get("username") is not None:
            raise ValueError("needed when smtp.username is set")
        return password


class EmailChannel(_ChannelBase):
    """Digests sent by email."""

    type: Literal["email"] = Field(default="email", description="`email`.")
    to: tuple[EmailAddress, ...] = Field(
        min_length=1, description="The addresses each digest is sent to, all in `To`."
    )
    sender: EmailAddress = Field(
        alias="from", description="The sender: `Name <address>` or an address."
    )
    smtp: Smtp = Field(description="The mail server it sends through.")
    subject: OptionalText = Field(
        examples=["China–Russia: the morning digest"],
        default=None,
        description="A fixed subject, instead of the digest's own.",
    )
    attachment_max_mb: float = Field(
        examples=[5],
        default=5,
        gt=0,
        description="A digest that counts more than it lists attaches every match it holds "
        "as gzipped CSV, up to this size in MB; a bigger list is only pointed to.",
    )


class AppriseChannel(_ChannelBase):
    """Digests sent to the chat and push services Apprise knows, one URL each."""

    type: Literal["apprise"] = Field(default="apprise", description="`apprise`.")
    urls: Annotated[tuple[SecretStr, ...], AfterValidator(_apprise_installed)] = Field(
        min_length=1,
        description="Apprise URLs (`tgram://…`, `ntfys://…`); keep their tokens in the "
        "environment.",
    )
    format: Literal["markdown", "text"] = Field(
        examples=["text"],
        default="markdown",
        description="markdown: a message with a heading per rule; text: the channel's "
        "`digest.txt`.",
    )
    timeout_seconds: float = Field(
        examples=[30],
        default=30,
        gt=0,
        description="The longest one delivery may take, to every URL.",
    )


Channel = Annotated[
    FileChannel | WebhookChannel | EmailChannel | AppriseChannel, Field(discriminator="type")
]


class Config(_Model):
    """config.yaml: where articles arrive, where the rules are, and where digests go."""

    state: str = Field(
        default="var/wirewatch.db",
        description="Where wirewatch remembers articles, matches and what was sent: a SQLite "
        "file (or `sqlite:///PATH`), or `postgresql://…` for several workers.",
    )
    timezone: ZoneName = Field(
        default="UTC",
        description="The time zone of schedules, and of the times digests, `status` and "
        "the log show.",
    )
    watch: tuple[WatchFolder, ...] = Field(
        default=(),
        description="The folders whose article files are read; none (`[]`) only when "
        "there are feeds.",
    )
    sources: tuple[Feed, ...] = Field(
        default=(), description="Feeds polled for articles, besides the watched folders."
    )
    feeds_from: ResolvedPath | None = Field(
        examples=["feeds.opml"],
        default=None,
        description="An OPML subscription list: each of its feeds is polled every 10 minutes "
        "for its summaries.",
    )
    rules: tuple[Annotated[Path, AfterValidator(_existing)], ...] = Field(
        default=(Path("rules"),),
        min_length=1,
        validate_default=True,
        description="Rule files, or folders of `*.yaml` rule files.",
    )
    ingest: IngestSettings = Field(default=IngestSettings(), description="How articles are read.")
    timing: Timing = Field(default=Timing(), description="How long wirewatch waits for what.")
    retention: Retention = Field(
        default=Retention(), description="How long articles and sent digests are kept."
    )
    http: HttpSettings | None = Field(
        default=None,
        description="The daemon's HTTP endpoint: /metrics, /healthz and /readyz; off when "
        "not given.",
    )
    channels: dict[ChannelName, Channel] = Field(
        default_factory=dict,
        description="Where digests go, each under a name of letters, digits, - and _.",
    )
    # After `channels`, which it names: validated in this order.
    alerts: tuple[str, ...] = Field(
        examples=[["ops"]],
        default=(),
        description="Channels told when wirewatch itself is in trouble, and when it clears.",
    )

    _source: Path = PrivateAttr()
    _document: YamlFile | None = PrivateAttr(default=None)
    _imported: tuple[Feed, ...] = PrivateAttr(default=())

    @field_validator("state")
    @classmethod
    def _state_is_a_file(cls, state: str, info: ValidationInfo) -> str:
        if not _is_file(state):
            return state  # a database: which kinds can be used is the store's to say
        path = _resolve(_sqlite_file(state), info)
        if path.is_dir():
            raise ValueError(
                f"'{path}' is a folder; give the path of a file, like {path / 'wirewatch.db'}"
            )
        blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            raise ValueError(f"'{blocking}' is a file, not a folder; fix the path")
        return state

    @field_validator("alerts", mode="before", json_schema_input_type=str | list[str])
    @classmethod
    def _a_list(cls, alerts: object) -> object:
        return (alerts,) if isinstance(alerts, str) else alerts

    @field_validator("alerts")
    @classmethod
    def _named_channels(cls, alerts: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if "channels" not in info.data:
            return alerts  # the channels have mistakes of their own, said already
        channels = info.data["channels"]
        for name in alerts:
            if name not in channels:
                known = ", ".join(channels) or "none"
                raise ValueError(
                    f"'{name}' is not a channel in channels: (known: {known});"
                    " name a channel, or add one for the alerts"
                )
        return alerts

    @field_validator("rules", mode="before", json_schema_input_type=str | _Listed)
    @classmethod
    def _one_or_more(cls, rules: object) -> object:
        return (rules,) if isinstance(rules, str) else rules

    @field_validator("feeds_from")
    @classmethod
    def _readable_list(cls, path: Path | None) -> Path | None:
        if path is not None:
            read_opml(path)
        return path

    @model_validator(mode="after")
    def _import_feeds(self) -> Config:
        if self.feeds_from is None:
            return self
        written = {feed.url for feed in self.sources}
        self._imported = tuple(
            Feed(type="feed", url=url, name=name)
            for url, name in read_opml(self.feeds_from)
            if url not in written
        )
        return self

    @model_validator(mode="after")
    def _something_to_read(self) -> Config:
        if not self.watch and not self.feeds:
            raise ValueError("watch: give a folder to watch (or feeds in sources:)")
        return self

    @property
    def feeds(self) -> tuple[Feed, ...]:
        """Every feed: those of `sources:`, then those `feeds_from:` lists besides them."""
        return (*self.sources, *self._imported)

    @model_validator(mode="after")
    def _remember_file(self, info: ValidationInfo) -> Config:
        context = info.context or {}
        self._source = context.get("source", Path.cwd() / "config.yaml")
        self._document = context.get("document")
        return self

    @property
    def source(self) -> Path:
        """The config file, absolute."""
        return self._source

    @property
    def tz(self) -> ZoneInfo:
        """The time zone of schedules and dates shown."""
        return ZoneInfo(self.timezone)

    def zone_of(self, channel: Channel) -> ZoneInfo:
        """The time zone of a channel's schedule and of the times its digests show."""
        return ZoneInfo(channel.timezone or self.timezone)

    @property
    def state_url(self) -> str:
        """Where the state is, for `open_store`: a SQLite file's path made absolute, or the
        address of a database as written."""
        if not _is_file(self.state):
            return self.state
        path = (self.source.parent / _sqlite_file(self.state).expanduser()).resolve()
        return f"sqlite:///{path}"

    def rule_files(self) -> list[Path]:
        """Each listed rule file, and the *.yaml and *.yml files of each listed folder, sorted."""
        return _rule_files(self.rules)

    def line_of(self, key: Key) -> int | None:
        """The line of `key` (or its nearest written parent) in the config file."""
        return None if self._document is None else self._document.line_of(key)

    def problem(self, key: Key, message: str) -> Problem:
        """A problem at `key` of the config file, for checks made after loading."""
        return Problem(self.source, self.line_of(key), format_key(key), message)


def _is_file(state: str) -> bool:
    """Whether `state:` names a SQLite file (a path, or sqlite:///PATH) rather than a database."""
    kind, separator, _ = state.partition("://")
    return not separator or kind == "sqlite"


def _sqlite_file(state: str) -> Path:
    """The file of `state:`: a path, or sqlite:///PATH (relative; sqlite:////PATH absolute)."""
    return Path(state.removeprefix("sqlite:///"))


def _rule_files(entries: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for entry in entries:
        if entry.is_dir():
            found = sorted([*entry.glob("*.yaml"), *entry.glob("*.yml")])
            # editors leave hidden lock and swap files beside the ones being edited
            found = [path for path in found if not path.name.startswith(".")]
        else:
            found = [entry]
        files.extend(path for path in found if path not in files)
    return files


def named_rule_files(path: Path) -> list[Path]:
    """The existing rule files a config file names, read from its text alone: a config
    with mistakes still shows which rules to check."""
    source = path.resolve()
    try:
        data = read_yaml(source).data
    except ConfigError:
        return []
    listed = data.get("rules", "rules") if isinstance(data, dict) else "rules"
    entries = [listed] if isinstance(listed, str) else listed if isinstance(listed, list) else []
    paths = [
        (source.parent / Path(e).expanduser()).resolve() for e in entries if isinstance(e, str)
    ]
    return _rule_files(path for path in paths if path.exists())


def load_config(path: Path, environ: Mapping[str, str]) -> Config:
    """Read config.yaml with `${VAR}` taken from `environ`; ConfigError names every mistake."""
    if not path.exists():
        told = "file not found; pass -c PATH, or make a project here with `wirewatch init`"
        raise ConfigError([Problem(path, None, "", told)])
    source = path.resolve()
    document = read_yaml(source, environ)
    context: dict[str, Any] = {"folder": source.parent, "source": source, "document": document}
    return document.validate(Config, context)
