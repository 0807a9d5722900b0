"""Settings: read once from the environment by the caller, validated, then passed around.

Nothing in the project reads the environment except `Settings.from_env`, which the CLI
calls with `os.environ`; tests call it with a plain dict.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from faq.cli import demo_faq_dir
from faq.decision import Thresholds
from faq.encoder import EncoderError, check_encoder
from faq.glossary import GlossaryError, resolve_glossary
from faq.semantic import SemanticConfig, is_off
from faq.word_vectors import check_word_vectors
from handoff.hours import (
    ALWAYS_OPEN,
    BusinessHours,
    parse_holidays,
    parse_schedule,
    parse_timezone,
)
from surveys.kind_rules import KindRule, parse_kind_rules

T = TypeVar("T")

SUPPORTED_LOCALES = ("ja", "en")


class SettingsError(ValueError):
    """A setting has a bad value; the message names the variable and what is expected."""


@dataclass(frozen=True)
class Settings:
    """Everything the server can be configured with. See README "Configuration"."""

    database_url: str = "sqlite+aiosqlite:///helpdesk.db"
    database_schema: str | None = None
    faq_dir: Path = field(default_factory=demo_faq_dir)
    host: str = "127.0.0.1"
    port: int = 8080
    admin_token: str | None = None
    public_url: str = "http://127.0.0.1:8080"
    default_locale: str = "ja"
    texts_file: Path | None = None
    answer_threshold: float = Thresholds.answer
    suggest_threshold: float = Thresholds.suggest
    answer_margin: float = Thresholds.margin
    faq_reload_seconds: float = 2.0
    # opt-in semantic evidence (faq.semantic): packaged model names or model directories
    faq_encoder: str | None = None
    # None: the encoder's own locales (faq.encoder.TextEncoder.locales)
    faq_encoder_locales: frozenset[str] | None = None
    faq_word_vectors: str | None = None
    # JMdict's English-to-Japanese glossary (faq.glossary); None: English read as is
    faq_glossary: Path | None = None
    # where the FAQ encoder's vectors are kept between runs; None: not kept
    faq_cache_dir: Path | None = None
    max_message_chars: int = 2000
    max_body_bytes: int = 64 * 1024
    log_level: str = "INFO"
    auto_migrate: bool = True
    identity_secret: str | None = None
    link_code_minutes: int = 10
    # A web chat token is refused this long after its session was last used.
    chat_session_days: int = 30
    # How long a new WebSocket may take to send its auth frame before it is closed.
    websocket_auth_seconds: float = 10.0
    line: LineSettings | None = None
    slack: SlackSettings | None = None
    business_hours: BusinessHours = field(default_factory=BusinessHours)
    unclaimed_reminder_minutes: int = 10
    # A customer who writes again within this many days of a case's close is asked
    # whether it is about that case (bot.returning); 0 turns this off.
    returning_days: int = 7
    survey_delay_minutes: int = 10
    survey_throttle_hours: int = 24
    nps_interval_days: int = 90
    # Which survey kind a conversation gets (surveys.kind_rules); None: NPS when the
    # customer had none within nps_interval_days, CSAT otherwise.
    survey_kinds: tuple[KindRule, ...] | None = None
    survey_expiry_days: int = 7
    survey_skip_small_talk: bool = True
    survey_skip_unanswered_handoff: bool = True
    review_url: str | None = None
    survey_comment_minutes: int = 30
    survey_tick_seconds: float = 30.0
    # Due surveys one claim takes and queues together (surveys.dispatcher).
    survey_batch: int = 500
    # Local time (business time zone) of the daily Slack digest; None: no digest.
    digest_time: time | None = time(9, 0)
    # A process that dies mid-send leaves its claimed outbox rows to others after this.
    send_lease_seconds: float = 60.0
    # The work loops' safety poll: new rows wake them at once, retries at their due time;
    # only a dead replica's leased rows wait for this (bot.claims.WorkLoop).
    work_poll_seconds: float = 30.0
    limits: LimitSettings = field(default_factory=lambda: LimitSettings())
    metrics_token: str | None = None
    ready_timeout: float = 2.0
    database_connect_timeout: float = 5.0
    database_pool_size: int = 5

    @property
    def semantic(self) -> SemanticConfig:
        """The opt-in semantic models of the FAQ matcher."""
        return SemanticConfig(
            self.faq_encoder, self.faq_encoder_locales, self.faq_word_vectors,
            self.faq_cache_dir,
        )

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(
            answer=self.answer_threshold,
            suggest=self.suggest_threshold,
            margin=self.answer_margin,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from `HELPDESK_*` variables; raise SettingsError on a bad value."""
        r = _Reader(env)
        host = r.get("HELPDESK_HOST", str, cls.host)
        port = r.get("HELPDESK_PORT", _port, cls.port)
        default_cache: Path | None = _default_cache_dir(env)
        settings = cls(
            database_url=r.get("HELPDESK_DATABASE_URL", _database_url, cls.database_url),
            database_schema=r.get("HELPDESK_DATABASE_SCHEMA", _schema, None),
            faq_dir=r.get("HELPDESK_FAQ_DIR", _directory, demo_faq_dir()),
            host=host,
            port=port,
            admin_token=r.get("HELPDESK_ADMIN_TOKEN", _admin_token, None),
            public_url=r.get("HELPDESK_PUBLIC_URL", _url, f"http://{host}:{port}"),
            default_locale=r.get("HELPDESK_DEFAULT_LOCALE", _locale, cls.default_locale),
            texts_file=r.get("HELPDESK_TEXTS_FILE", _file, None),
            answer_threshold=r.get("HELPDESK_ANSWER_THRESHOLD", _unit, cls.answer_threshold),
            suggest_threshold=r.get("HELPDESK_SUGGEST_THRESHOLD", _unit, cls.suggest_threshold),
            answer_margin=r.get("HELPDESK_ANSWER_MARGIN", _unit, cls.answer_margin),
            faq_reload_seconds=r.get(
                "HELPDESK_FAQ_RELOAD_SECONDS", _positive_float, cls.faq_reload_seconds
            ),
            faq_encoder=r.get("HELPDESK_FAQ_ENCODER", _model(check_encoder), None),
            faq_encoder_locales=r.get(
                "HELPDESK_FAQ_ENCODER_LOCALES", _locales, None
            ),
            faq_word_vectors=r.get(
                "HELPDESK_FAQ_WORD_VECTORS", _model(check_word_vectors), None
            ),
            faq_glossary=r.get("HELPDESK_FAQ_GLOSSARY", _glossary, _glossary("auto")),
            faq_cache_dir=r.get("HELPDESK_FAQ_CACHE_DIR", _cache_dir, default_cache),
            max_message_chars=r.get(
                "HELPDESK_MAX_MESSAGE_CHARS", _positive_int, cls.max_message_chars
            ),
            max_body_bytes=r.get("HELPDESK_MAX_BODY_BYTES", _positive_int, cls.max_body_bytes),
            log_level=r.get("HELPDESK_LOG_LEVEL", _log_level, cls.log_level),
            auto_migrate=r.get("HELPDESK_AUTO_MIGRATE", _bool, cls.auto_migrate),
            identity_secret=r.get("HELPDESK_IDENTITY_SECRET", _secret, None),
            link_code_minutes=r.get(
                "HELPDESK_LINK_CODE_MINUTES", _positive_int, cls.link_code_minutes
            ),
            chat_session_days=r.get(
                "HELPDESK_CHAT_SESSION_DAYS", _chat_session_days, cls.chat_session_days
            ),
            websocket_auth_seconds=r.get(
                "HELPDESK_WEBSOCKET_AUTH_SECONDS",
                _websocket_auth_seconds,
                cls.websocket_auth_seconds,
            ),
            line=_line_settings(r),
            slack=_slack_settings(r),
            business_hours=BusinessHours(
                ranges=r.get("HELPDESK_BUSINESS_HOURS", parse_schedule, ALWAYS_OPEN),
                timezone=r.get("HELPDESK_TIMEZONE", parse_timezone, parse_timezone("Asia/Tokyo")),
                holidays=r.get("HELPDESK_HOLIDAYS", parse_holidays, frozenset()),
            ),
            returning_days=r.get(
                "HELPDESK_RETURNING_DAYS", _non_negative_int, cls.returning_days
            ),
            unclaimed_reminder_minutes=r.get(
                "HELPDESK_UNCLAIMED_REMINDER_MINUTES", _positive_int, cls.unclaimed_reminder_minutes
            ),
            survey_delay_minutes=r.get(
                "HELPDESK_SURVEY_DELAY_MINUTES", _non_negative_int, cls.survey_delay_minutes
            ),
            survey_throttle_hours=r.get(
                "HELPDESK_SURVEY_THROTTLE_HOURS", _non_negative_int, cls.survey_throttle_hours
            ),
            nps_interval_days=r.get(
                "HELPDESK_NPS_INTERVAL_DAYS", _non_negative_int, cls.nps_interval_days
            ),
            survey_kinds=r.get("HELPDESK_SURVEY_KINDS", parse_kind_rules, None),
            survey_expiry_days=r.get(
                "HELPDESK_SURVEY_EXPIRY_DAYS", _positive_int, cls.survey_expiry_days
            ),
            survey_skip_small_talk=r.get(
                "HELPDESK_SURVEY_SKIP_SMALL_TALK", _bool, cls.survey_skip_small_talk
            ),
            survey_skip_unanswered_handoff=r.get(
                "HELPDESK_SURVEY_SKIP_UNANSWERED_HANDOFF", _bool, cls.survey_skip_unanswered_handoff
            ),
            review_url=r.get("HELPDESK_REVIEW_URL", _url, None),
            survey_comment_minutes=r.get(
                "HELPDESK_SURVEY_COMMENT_MINUTES", _positive_int, cls.survey_comment_minutes
            ),
            survey_tick_seconds=r.get(
                "HELPDESK_SURVEY_TICK_SECONDS", _positive_float, cls.survey_tick_seconds
            ),
            survey_batch=r.get("HELPDESK_SURVEY_BATCH", _positive_int, cls.survey_batch),
            digest_time=r.get("HELPDESK_DIGEST_TIME", _time_or_off, cls.digest_time),
            send_lease_seconds=r.get(
                "HELPDESK_SEND_LEASE_SECONDS", _positive_float, cls.send_lease_seconds
            ),
            work_poll_seconds=r.get(
                "HELPDESK_WORK_POLL_SECONDS", _positive_float, cls.work_poll_seconds
            ),
            limits=_limit_settings(r),
            metrics_token=r.get("HELPDESK_METRICS_TOKEN", _secret, None),
            ready_timeout=r.get(
                "HELPDESK_READY_TIMEOUT_SECONDS", _positive_float, cls.ready_timeout
            ),
            database_connect_timeout=r.get(
                "HELPDESK_DATABASE_CONNECT_TIMEOUT_SECONDS",
                _positive_float,
                cls.database_connect_timeout,
            ),
            database_pool_size=r.get(
                "HELPDESK_DATABASE_POOL_SIZE", _positive_int, cls.database_pool_size
            ),
        )
        if settings.suggest_threshold > settings.answer_threshold:
            raise SettingsError(
                "HELPDESK_SUGGEST_THRESHOLD must not be above HELPDESK_ANSWER_THRESHOLD "
                f"({settings.suggest_threshold} > {settings.answer_threshold})"
            )
        timeouts = [p.request_timeout for p in (settings.line, settings.slack) if p is not None]
        if timeouts and settings.send_lease_seconds <= max(timeouts):
            # A send still waiting for the platform would be claimed and sent again.
            raise SettingsError(
                "HELPDESK_SEND_LEASE_SECONDS must be longer than the LINE and Slack request "
                f"timeouts ({settings.send_lease_seconds} <= {max(timeouts)})"
            )
        return settings


@dataclass(frozen=True)
class LineSettings:
    """The LINE Messaging API channel; present only when secret and token are both set."""

    channel_secret: str
    access_token: str
    api_base_url: str = "https://api.line.me"
    add_friend_url: str | None = None
    request_timeout: float = 10.0


def _line_settings(r: _Reader) -> LineSettings | None:
    secret = r.get("LINE_CHANNEL_SECRET", _secret, None)
    token = r.get("LINE_CHANNEL_ACCESS_TOKEN", _secret, None)
    if (secret is None) != (token is None):
        raise SettingsError(
            "LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN must be set together"
        )
    if secret is None or token is None:
        return None
    return LineSettings(
        channel_secret=secret,
        access_token=token,
        api_base_url=r.get("LINE_API_BASE_URL", _url, LineSettings.api_base_url),
        add_friend_url=r.get("HELPDESK_LINE_ADD_FRIEND_URL", _url, None),
        request_timeout=r.get(
            "LINE_REQUEST_TIMEOUT_SECONDS", _positive_float, LineSettings.request_timeout
        ),
    )


@dataclass(frozen=True)
class SlackSettings:
    """The Slack agent desk; present only when secret, token and channel are all set."""

    signing_secret: str
    bot_token: str
    handoff_channel: str
    # slack-sdk joins method names onto this URL, so it always ends in "/".
    api_base_url: str = "https://slack.com/api/"
    request_timeout: float = 10.0
    # The user group whose members are the agents; None: the handoff channel's members.
    agent_usergroup: str | None = None


SLACK_REQUIRED = ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_HANDOFF_CHANNEL")


def _slack_settings(r: _Reader) -> SlackSettings | None:
    secret = r.get("SLACK_SIGNING_SECRET", _secret, None)
    token = r.get("SLACK_BOT_TOKEN", _slack_token, None)
    channel = r.get("SLACK_HANDOFF_CHANNEL", _slack_channel, None)
    given = [v is not None for v in (secret, token, channel)]
    if any(given) and not all(given):
        missing = [name for name, g in zip(SLACK_REQUIRED, given, strict=True) if not g]
        raise SettingsError(
            f"{', '.join(SLACK_REQUIRED)} must be set together (missing: {', '.join(missing)})"
        )
    if secret is None or token is None or channel is None:
        return None
    return SlackSettings(
        signing_secret=secret,
        bot_token=token,
        handoff_channel=channel,
        api_base_url=r.get("SLACK_API_BASE_URL", _url, SlackSettings.api_base_url.rstrip("/"))
        + "/",
        request_timeout=r.get(
            "SLACK_REQUEST_TIMEOUT_SECONDS", _positive_float, SlackSettings.request_timeout
        ),
        agent_usergroup=r.get("HELPDESK_SLACK_AGENT_USERGROUP", _slack_usergroup, None),
    )


def _slack_token(raw: str) -> str:
    if not raw.startswith("xoxb-"):
        raise ValueError("expected a bot token starting with xoxb-")
    return raw


def _slack_channel(raw: str) -> str:
    # The id, not the name: names change, and chat.update needs the id anyway.
    if not re.fullmatch(r"[CG][A-Z0-9]{6,}", raw):
        raise ValueError("expected a channel id like C0123456789 (not a #name)")
    return raw


def _default_cache_dir(env: Mapping[str, str]) -> Path:
    # the XDG base directory convention, as most Linux tools keep their caches
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "helpdesk"


def _cache_dir(raw: str) -> Path | None:
    if is_off(raw):
        return None
    path = Path(raw)
    if path.exists() and not path.is_dir():
        raise ValueError("not a directory")
    return path


def _glossary(raw: str) -> Path | None:
    try:
        return resolve_glossary(raw)
    except GlossaryError as exc:
        raise ValueError(f"{exc}; auto, off or the path of a glossary file") from None


def _slack_usergroup(raw: str) -> str:
    # The id (S...), as a handle (@support) can be renamed and the API wants the id.
    if not re.fullmatch(r"S[A-Z0-9]{6,}", raw):
        raise ValueError("expected a user group id like S0123456789 (not an @handle)")
    return raw


@dataclass(frozen=True)
class LimitSettings:
    """Limits of the public endpoints (README "Security and limits"); 0 turns a rate off."""

    session_per_minute: int = 20
    address_per_minute: int = 120
    new_sessions_per_minute: int = 10
    # Proxies in front of the server that append to X-Forwarded-For (0: trust none).
    trusted_proxies: int = 0
    cors_origins: frozenset[str] = frozenset()
    websockets_per_session: int = 5
    webhook_body_bytes: int = 1024 * 1024
    # Admission control (channels.web.admission): widget API requests at once, and how
    # long one more may wait for a slot before its 503; 0 in flight turns it off.
    web_max_in_flight: int = 16
    web_queue_seconds: float = 0.25


def _limit_settings(r: _Reader) -> LimitSettings:
    d = LimitSettings
    return LimitSettings(
        session_per_minute=r.get(
            "HELPDESK_RATE_LIMIT_SESSION_PER_MINUTE", _non_negative_int, d.session_per_minute
        ),
        address_per_minute=r.get(
            "HELPDESK_RATE_LIMIT_ADDRESS_PER_MINUTE", _non_negative_int, d.address_per_minute
        ),
        new_sessions_per_minute=r.get(
            "HELPDESK_RATE_LIMIT_NEW_SESSIONS_PER_MINUTE",
            _non_negative_int,
            d.new_sessions_per_minute,
        ),
        trusted_proxies=r.get("HELPDESK_TRUST_FORWARDED_FOR", _proxy_count, d.trusted_proxies),
        cors_origins=r.get("HELPDESK_CORS_ORIGINS", _origins, frozenset()),
        websockets_per_session=r.get(
            "HELPDESK_MAX_WEBSOCKETS_PER_SESSION", _positive_int, d.websockets_per_session
        ),
        webhook_body_bytes=r.get(
            "HELPDESK_MAX_WEBHOOK_BODY_BYTES", _positive_int, d.webhook_body_bytes
        ),
        web_max_in_flight=r.get(
            "HELPDESK_WEB_MAX_IN_FLIGHT", _non_negative_int, d.web_max_in_flight
        ),
        web_queue_seconds=r.get(
            "HELPDESK_WEB_QUEUE_SECONDS", _positive_float, d.web_queue_seconds
        ),
    )


def _proxy_count(raw: str) -> int:
    """`false`/`true`, or how many proxies append to X-Forwarded-For before us."""
    try:
        return 1 if _bool(raw) else 0
    except ValueError:
        pass
    try:
        return _non_negative_int(raw)
    except ValueError:
        raise ValueError("expected true, false or a number of proxies") from None


def _origins(raw: str) -> frozenset[str]:
    return frozenset(_origin(part) for part in raw.split(",") if part.strip())


def _origin(raw: str) -> str:
    """An origin as browsers send it: scheme://host[:port], lower case, no default port."""
    text = raw.strip()
    if text == "*":
        raise ValueError("list exact origins; * is not accepted")
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or port == -1
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise ValueError(f"expected origins like https://www.example.com, not {text}")
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def get(self, name: str, parse: Callable[[str], T], default: T) -> T:
        raw = self._env.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            return parse(raw.strip())
        except ValueError as exc:
            raise SettingsError(f"{name}: {exc} (got {_shown(name, raw)!r})") from None


def _shown(name: str, raw: str) -> str:
    # Secrets must not be echoed back in an error message, nor a password in a URL.
    if name.endswith(("TOKEN", "SECRET")):
        return "<hidden>"
    return _URL_PASSWORD.sub(r"\1<hidden>@", raw)


# Up to the last "@": a password written unescaped may contain "@" and "/".
_URL_PASSWORD = re.compile(r"(://[^/@:]*:).*@")


def _port(raw: str) -> int:
    value = _int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("expected a port number from 0 to 65535")
    return value


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("expected a whole number") from None


def _positive_int(raw: str) -> int:
    value = _int(raw)
    if value <= 0:
        raise ValueError("expected a whole number above 0")
    return value


def _non_negative_int(raw: str) -> int:
    value = _int(raw)
    if value < 0:
        raise ValueError("expected a whole number, 0 or more")
    return value


# Ten years: far beyond any sensible session, and well inside what dates can hold.
MAX_CHAT_SESSION_DAYS = 3650
# An unauthenticated socket holds a connection; a client that has one to send sends its
# auth frame at once, so minutes would only help a client that is not going to.
MAX_WEBSOCKET_AUTH_SECONDS = 300.0


def _chat_session_days(raw: str) -> int:
    value = _int(raw)
    if not 1 <= value <= MAX_CHAT_SESSION_DAYS:
        raise ValueError(f"expected a whole number of days from 1 to {MAX_CHAT_SESSION_DAYS}")
    return value


def _websocket_auth_seconds(raw: str) -> float:
    value = _float(raw)
    if not 0 < value <= MAX_WEBSOCKET_AUTH_SECONDS:
        raise ValueError(
            f"expected a number of seconds above 0, at most {MAX_WEBSOCKET_AUTH_SECONDS:g}"
        )
    return value


def _float(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError("expected a number") from None


def _positive_float(raw: str) -> float:
    value = _float(raw)
    if value <= 0:
        raise ValueError("expected a number above 0")
    return value


def _unit(raw: str) -> float:
    value = _float(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError("expected a number from 0 to 1")
    return value


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _locale(raw: str) -> str:
    if raw not in SUPPORTED_LOCALES:
        raise ValueError(f"expected one of {', '.join(SUPPORTED_LOCALES)}")
    return raw


def _locales(raw: str) -> frozenset[str]:
    locales = frozenset(part.strip() for part in raw.split(",") if part.strip())
    if not locales:
        raise ValueError("expected a comma-separated list of locales")
    return frozenset(_locale(locale) for locale in locales)


def _model(check: Callable[[str], Path]) -> Callable[[str], str | None]:
    """A parser of an opt-in model setting: ``off`` (or empty) for none, else a name whose
    package or files ``check`` finds."""

    def parse(raw: str) -> str | None:
        if is_off(raw):
            return None
        try:
            check(raw)
        except EncoderError as exc:
            raise ValueError(str(exc)) from None
        return raw

    return parse


def _database_url(raw: str) -> str:
    if not raw.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ValueError("expected a sqlite+aiosqlite:// or postgresql+asyncpg:// URL")
    return raw


def _schema(raw: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", raw):
        raise ValueError("expected a lower-case PostgreSQL schema name")
    return raw


def _url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return raw.rstrip("/")


def _directory(raw: str) -> Path:
    path = Path(raw)
    if not path.is_dir():
        raise ValueError("no such directory")
    return path


def _file(raw: str) -> Path:
    path = Path(raw)
    if not path.is_file():
        raise ValueError("no such file")
    return path


def _admin_token(raw: str) -> str:
    # A short admin token is guessable; refuse it rather than run insecurely.
    if len(raw) < 16:
        raise ValueError("must be at least 16 characters")
    return raw


def _secret(raw: str) -> str:
    if len(raw) < 16:
        raise ValueError("must be at least 16 characters")
    return raw


def _time_or_off(raw: str) -> time | None:
    if raw.lower() == "off":
        return None
    if not re.fullmatch(r"\d{1,2}:\d{2}", raw):
        raise ValueError("expected a time of day like 09:00, or off")
    hours, minutes = (int(part) for part in raw.split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError("expected a time of day like 09:00, or off")
    return time(hours, minutes)


def _log_level(raw: str) -> str:
    upper = raw.upper()
    if upper not in logging.getLevelNamesMapping():
        raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
    return upper
