"""Settings: defaults, parsing, and a clear message for every bad value."""

from __future__ import annotations

from datetime import date
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
        }
    )
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
