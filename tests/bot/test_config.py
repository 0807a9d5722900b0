"""Settings: defaults, parsing, and a clear message for every bad value."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError
from faq.cli import demo_faq_dir


def test_defaults_are_the_embedded_setup() -> None:
    s = Settings.from_env({})
    assert s.database_url == "sqlite+aiosqlite:///helpdesk.db"
    assert s.faq_dir == demo_faq_dir()
    assert (s.host, s.port, s.public_url) == ("127.0.0.1", 8080, "http://127.0.0.1:8080")
    assert s.admin_token is None
    assert (s.chat_session_days, s.websocket_auth_seconds) == (30, 10.0)


def test_values_are_parsed(tmp_path: Path) -> None:
    s = Settings.from_env(
        {
            "HELPDESK_DATABASE_URL": "postgresql+asyncpg://u@db/helpdesk",
            "HELPDESK_DATABASE_SCHEMA": "support",
            "HELPDESK_FAQ_DIR": str(tmp_path),
            "HELPDESK_HOST": "0.0.0.0",
            "HELPDESK_PORT": "9000",
            "HELPDESK_ADMIN_TOKEN": "x" * 32,
            "HELPDESK_PUBLIC_URL": "https://help.example.com/",
            "HELPDESK_DEFAULT_LOCALE": "en",
            "HELPDESK_ANSWER_THRESHOLD": "0.8",
            "HELPDESK_SUGGEST_THRESHOLD": "0.3",
            "HELPDESK_AUTO_MIGRATE": "false",
            "HELPDESK_CHAT_SESSION_DAYS": "7",
            "HELPDESK_WEBSOCKET_AUTH_SECONDS": "2.5",
        }
    )
    assert (s.chat_session_days, s.websocket_auth_seconds) == (7, 2.5)
    assert s.port == 9000 and s.faq_dir == tmp_path and s.database_schema == "support"
    assert s.public_url == "https://help.example.com"
    assert s.thresholds.answer == 0.8 and s.thresholds.suggest == 0.3
    assert s.auto_migrate is False and s.default_locale == "en"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HELPDESK_PORT", "eighty", "HELPDESK_PORT: expected a whole number"),
        ("HELPDESK_PORT", "70000", "HELPDESK_PORT: expected a port number"),
        ("HELPDESK_DATABASE_URL", "mysql://x", "HELPDESK_DATABASE_URL: expected a sqlite"),
        ("HELPDESK_FAQ_DIR", "/no/such/dir", "HELPDESK_FAQ_DIR: no such directory"),
        ("HELPDESK_DEFAULT_LOCALE", "fr", "HELPDESK_DEFAULT_LOCALE: expected one of ja, en"),
        ("HELPDESK_ANSWER_THRESHOLD", "1.5", "HELPDESK_ANSWER_THRESHOLD: expected a number from"),
        ("HELPDESK_AUTO_MIGRATE", "maybe", "HELPDESK_AUTO_MIGRATE: expected true or false"),
        ("HELPDESK_PUBLIC_URL", "help.example.com", "HELPDESK_PUBLIC_URL: expected an http"),
        ("HELPDESK_LOG_LEVEL", "LOUD", "HELPDESK_LOG_LEVEL: expected DEBUG"),
        ("HELPDESK_DATABASE_SCHEMA", "Robert'); DROP", "HELPDESK_DATABASE_SCHEMA: expected"),
        ("HELPDESK_CHAT_SESSION_DAYS", "0", "HELPDESK_CHAT_SESSION_DAYS: expected a whole number"),
        ("HELPDESK_CHAT_SESSION_DAYS", "3651", "HELPDESK_CHAT_SESSION_DAYS: expected a whole"),
        ("HELPDESK_CHAT_SESSION_DAYS", "1.5", "HELPDESK_CHAT_SESSION_DAYS: expected a whole"),
        ("HELPDESK_WEBSOCKET_AUTH_SECONDS", "0", "HELPDESK_WEBSOCKET_AUTH_SECONDS: expected a"),
        ("HELPDESK_WEBSOCKET_AUTH_SECONDS", "nan", "HELPDESK_WEBSOCKET_AUTH_SECONDS: expected"),
        ("HELPDESK_WEBSOCKET_AUTH_SECONDS", "301", "HELPDESK_WEBSOCKET_AUTH_SECONDS: expected"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({name: value})
    assert str(err.value).startswith(message)


def test_a_short_admin_token_is_refused_without_echoing_it() -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"HELPDESK_ADMIN_TOKEN": "secret1"})
    assert "at least 16" in str(err.value)
    assert "secret1" not in str(err.value)


def test_suggest_above_answer_is_refused() -> None:
    with pytest.raises(SettingsError, match="SUGGEST_THRESHOLD must not be above"):
        Settings.from_env({"HELPDESK_ANSWER_THRESHOLD": "0.4", "HELPDESK_SUGGEST_THRESHOLD": "0.6"})


SLACK_ENV = {
    "SLACK_SIGNING_SECRET": "slack-signing-secret-0123",
    "SLACK_BOT_TOKEN": "xoxb-1234-5678-abcdef",
    "SLACK_HANDOFF_CHANNEL": "C0123456789",
}


def test_slack_is_off_without_settings_and_on_with_all_three() -> None:
    assert Settings.from_env({}).slack is None
    slack = Settings.from_env(SLACK_ENV).slack
    assert slack is not None and slack.handoff_channel == "C0123456789"
    assert slack.api_base_url == "https://slack.com/api/"
    fake = Settings.from_env({**SLACK_ENV, "SLACK_API_BASE_URL": "http://127.0.0.1:9/api"})
    assert fake.slack is not None and fake.slack.api_base_url == "http://127.0.0.1:9/api/"


def test_slack_settings_must_come_together() -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"SLACK_BOT_TOKEN": SLACK_ENV["SLACK_BOT_TOKEN"]})
    assert "must be set together" in str(err.value)
    assert "missing: SLACK_SIGNING_SECRET, SLACK_HANDOFF_CHANNEL" in str(err.value)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-user-token-1234", "SLACK_BOT_TOKEN: expected a bot token"),
        ("SLACK_HANDOFF_CHANNEL", "#support", "SLACK_HANDOFF_CHANNEL: expected a channel id"),
        ("SLACK_SIGNING_SECRET", "short", "SLACK_SIGNING_SECRET: must be at least 16"),
        ("SLACK_API_BASE_URL", "slack.test", "SLACK_API_BASE_URL: expected an http"),
    ],
)
def test_bad_slack_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({**SLACK_ENV, name: value})
    assert str(err.value).startswith(message)
    assert "xoxp-user-token-1234" not in str(err.value)


def test_business_hours_settings() -> None:
    s = Settings.from_env(
        {
            "HELPDESK_BUSINESS_HOURS": "mon-fri 09:00-12:00,13:00-18:00; sat 10:00-14:00",
            "HELPDESK_TIMEZONE": "Europe/London",
            "HELPDESK_HOLIDAYS": "2026-12-25, 2027-01-01",
            "HELPDESK_UNCLAIMED_REMINDER_MINUTES": "5",
        }
    )
    hours = s.business_hours
    assert len(hours.ranges) == 11 and str(hours.timezone) == "Europe/London"
    assert hours.holidays == {date(2026, 12, 25), date(2027, 1, 1)}
    assert s.unclaimed_reminder_minutes == 5
    default = Settings.from_env({})
    assert str(default.business_hours.timezone) == "Asia/Tokyo"
    assert default.unclaimed_reminder_minutes == 10


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HELPDESK_BUSINESS_HOURS", "weekdays 9-5", 'HELPDESK_BUSINESS_HOURS: "weekdays"'),
        ("HELPDESK_BUSINESS_HOURS", "mon 18:00-09:00", 'HELPDESK_BUSINESS_HOURS: "18:00-09:00"'),
        ("HELPDESK_BUSINESS_HOURS", "mon 09:00-25:00", 'HELPDESK_BUSINESS_HOURS: "09:00-25:00"'),
        ("HELPDESK_BUSINESS_HOURS", "mon-fri", 'HELPDESK_BUSINESS_HOURS: "mon-fri": expected'),
        ("HELPDESK_TIMEZONE", "Mars/Olympus", "HELPDESK_TIMEZONE: expected an IANA time zone"),
        ("HELPDESK_HOLIDAYS", "2026-13-01", 'HELPDESK_HOLIDAYS: "2026-13-01": expected an ISO'),
        ("HELPDESK_UNCLAIMED_REMINDER_MINUTES", "0", "HELPDESK_UNCLAIMED_REMINDER_MINUTES: exp"),
    ],
)
def test_bad_business_hours_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({name: value})
    assert str(err.value).startswith(message)


def test_survey_timing_and_digest_settings() -> None:
    defaults = Settings.from_env({})
    assert (defaults.survey_comment_minutes, defaults.survey_tick_seconds) == (30, 30.0)
    assert defaults.digest_time == time(9, 0)
    s = Settings.from_env(
        {
            "HELPDESK_SURVEY_COMMENT_MINUTES": "15",
            "HELPDESK_SURVEY_TICK_SECONDS": "2.5",
            "HELPDESK_DIGEST_TIME": "7:30",
        }
    )
    assert (s.survey_comment_minutes, s.survey_tick_seconds) == (15, 2.5)
    assert s.digest_time == time(7, 30)
    assert Settings.from_env({"HELPDESK_DIGEST_TIME": "OFF"}).digest_time is None


@pytest.mark.parametrize("value", ["24:00", "9", "09:60", "noon", "-1:00"])
def test_a_bad_digest_time_names_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match="HELPDESK_DIGEST_TIME: expected a time of day"):
        Settings.from_env({"HELPDESK_DIGEST_TIME": value})


def test_the_send_lease_must_outlast_the_platform_timeouts() -> None:
    assert Settings.from_env({}).send_lease_seconds == 60.0
    line = {"LINE_CHANNEL_SECRET": "s" * 16, "LINE_CHANNEL_ACCESS_TOKEN": "t" * 16}
    ok = Settings.from_env({**line, "HELPDESK_SEND_LEASE_SECONDS": "5",
                            "LINE_REQUEST_TIMEOUT_SECONDS": "2"})  # fmt: skip
    assert ok.send_lease_seconds == 5.0
    with pytest.raises(SettingsError, match="HELPDESK_SEND_LEASE_SECONDS must be longer"):
        Settings.from_env({**line, "HELPDESK_SEND_LEASE_SECONDS": "5"})


def test_limit_defaults() -> None:
    limits = Settings.from_env({}).limits
    assert (limits.session_per_minute, limits.address_per_minute) == (20, 120)
    assert limits.new_sessions_per_minute == 10
    assert limits.trusted_proxies == 0 and limits.cors_origins == frozenset()
    assert limits.websockets_per_session == 5
    assert limits.webhook_body_bytes == 1024 * 1024


def test_limit_values_are_parsed() -> None:
    limits = Settings.from_env(
        {
            "HELPDESK_RATE_LIMIT_SESSION_PER_MINUTE": "0",
            "HELPDESK_RATE_LIMIT_ADDRESS_PER_MINUTE": "600",
            "HELPDESK_RATE_LIMIT_NEW_SESSIONS_PER_MINUTE": "3",
            "HELPDESK_TRUST_FORWARDED_FOR": "2",
            "HELPDESK_CORS_ORIGINS": "https://WWW.Example.com:443/, http://localhost:3000,"
            " http://[::1]:8080",
            "HELPDESK_MAX_WEBSOCKETS_PER_SESSION": "2",
            "HELPDESK_MAX_WEBHOOK_BODY_BYTES": "262144",
        }
    ).limits
    assert (limits.session_per_minute, limits.address_per_minute) == (0, 600)
    assert limits.new_sessions_per_minute == 3 and limits.trusted_proxies == 2
    # As browsers send them: lower case, no default port, no trailing slash.
    assert limits.cors_origins == {
        "https://www.example.com", "http://localhost:3000", "http://[::1]:8080",
    }  # fmt: skip
    assert limits.websockets_per_session == 2 and limits.webhook_body_bytes == 262144


@pytest.mark.parametrize(("raw", "proxies"), [("true", 1), ("yes", 1), ("false", 0), ("3", 3)])
def test_trust_forwarded_for_is_a_flag_or_a_count(raw: str, proxies: int) -> None:
    settings = Settings.from_env({"HELPDESK_TRUST_FORWARDED_FOR": raw})
    assert settings.limits.trusted_proxies == proxies


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HELPDESK_RATE_LIMIT_SESSION_PER_MINUTE", "-1", "HELPDESK_RATE_LIMIT_SESSION_PER_MINUTE: "
         "expected a whole number, 0 or more"),
        ("HELPDESK_RATE_LIMIT_ADDRESS_PER_MINUTE", "lots", "HELPDESK_RATE_LIMIT_ADDRESS_PER_MIN"),
        ("HELPDESK_TRUST_FORWARDED_FOR", "maybe", "HELPDESK_TRUST_FORWARDED_FOR: expected true,"),
        ("HELPDESK_CORS_ORIGINS", "*", "HELPDESK_CORS_ORIGINS: list exact origins"),
        ("HELPDESK_CORS_ORIGINS", "https://a.example, https://b.example/chat",
         "HELPDESK_CORS_ORIGINS: expected origins like https://www.example.com, not https://b"),
        ("HELPDESK_CORS_ORIGINS", "www.example.com", "HELPDESK_CORS_ORIGINS: expected origins"),
        ("HELPDESK_MAX_WEBSOCKETS_PER_SESSION", "0", "HELPDESK_MAX_WEBSOCKETS_PER_SESSION: exp"),
        ("HELPDESK_MAX_WEBHOOK_BODY_BYTES", "1e6", "HELPDESK_MAX_WEBHOOK_BODY_BYTES: expected"),
    ],
)  # fmt: skip
def test_bad_limits_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({name: value})
    assert str(err.value).startswith(message)


def test_a_bad_database_url_is_shown_without_its_password() -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"HELPDESK_DATABASE_URL": "mysql://app:s3cr@t/pw@db.internal/helpdesk"})
    assert "HELPDESK_DATABASE_URL: expected" in str(err.value)
    assert "mysql://app:<hidden>@db.internal/helpdesk" in str(err.value)
    assert "s3cr" not in str(err.value) and "pw@" not in str(err.value)


def test_monitoring_settings() -> None:
    default = Settings.from_env({})
    assert default.metrics_token is None
    assert default.ready_timeout == 2.0 and default.database_connect_timeout == 5.0
    s = Settings.from_env(
        {
            "HELPDESK_METRICS_TOKEN": "m" * 24,
            "HELPDESK_READY_TIMEOUT_SECONDS": "0.5",
            "HELPDESK_DATABASE_CONNECT_TIMEOUT_SECONDS": "3",
        }
    )
    assert s.metrics_token == "m" * 24
    assert s.ready_timeout == 0.5 and s.database_connect_timeout == 3.0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HELPDESK_METRICS_TOKEN", "scrape-me", "HELPDESK_METRICS_TOKEN: must be at least 16"),
        ("HELPDESK_READY_TIMEOUT_SECONDS", "0", "HELPDESK_READY_TIMEOUT_SECONDS: expected a num"),
        ("HELPDESK_DATABASE_CONNECT_TIMEOUT_SECONDS", "soon", "HELPDESK_DATABASE_CONNECT_TIME"),
    ],
)
def test_bad_monitoring_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({name: value})
    assert str(err.value).startswith(message)
    assert "scrape-me" not in str(err.value)


def test_database_pool_size() -> None:
    assert Settings.from_env({}).database_pool_size == 5
    assert Settings.from_env({"HELPDESK_DATABASE_POOL_SIZE": "3"}).database_pool_size == 3
    with pytest.raises(SettingsError, match="HELPDESK_DATABASE_POOL_SIZE: expected a whole"):
        Settings.from_env({"HELPDESK_DATABASE_POOL_SIZE": "0"})
