"""Settings: defaults, parsing, and a clear message for every bad value."""

from __future__ import annotations

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
