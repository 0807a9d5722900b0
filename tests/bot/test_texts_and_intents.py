"""The bot's sentences (with admin overrides), language detection and intents."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.intents import Intent, detect_intent
from bot.locale_detect import detect_locale
from bot.texts import DEFAULT_TEXTS, Texts, TextsError


def test_every_sentence_exists_in_both_languages() -> None:
    assert set(DEFAULT_TEXTS["ja"]) == set(DEFAULT_TEXTS["en"])


def test_override_file_replaces_one_sentence(tmp_path: Path) -> None:
    f = tmp_path / "texts.yaml"
    f.write_text("ja:\n  greeting: いらっしゃいませ！\n", encoding="utf-8")
    texts = Texts.load(f)
    assert texts.get("greeting", "ja") == "いらっしゃいませ！"
    assert texts.get("greeting", "en") == DEFAULT_TEXTS["en"]["greeting"]
    assert texts.get("did_it_help", "ja") == DEFAULT_TEXTS["ja"]["did_it_help"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("ja:\n  greting: x\n", "ja.greting: unknown key"),
        ("fr:\n  greeting: x\n", "unknown locale 'fr'"),
        ("ja:\n  greeting: ''\n", "ja.greeting: expected non-empty text"),
        ("- a\n- b\n", "expected a mapping of locale"),
        ("ja: [\n", "not valid YAML"),
    ],
)
def test_bad_override_file_names_the_problem(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "texts.yaml"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(TextsError) as err:
        Texts.load(f)
    assert str(err.value).startswith(str(f)) and message in str(err.value)


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("パスワード", "ja"),
        ("ﾊﾟｽﾜｰﾄﾞ", "ja"),
        ("iPhoneで同期できない", "ja"),
        ("I forgot my password", "en"),
        ("ＰＡＳＳＷＯＲＤ", "en"),
        ("12345 !!", None),
    ],
)
def test_detect_locale(text: str, locale: str | None) -> None:
    assert detect_locale(text) == locale


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("オペレーター", Intent.HUMAN),
        ("ｵﾍﾟﾚｰﾀｰ お願いします", Intent.HUMAN),
        ("人と話したい", Intent.HUMAN),
        ("担当者に代わってください", Intent.HUMAN),
        ("talk to a human", Intent.HUMAN),
        ("Can I speak to someone?", Intent.HUMAN),
        ("agent", Intent.HUMAN),
        ("解決しました！", Intent.SOLVED),
        ("it worked, thanks", Intent.SOLVED),
        ("解決しない", None),
        ("still not solved", None),
        ("ありがとう", Intent.THANKS),
        ("thanks", Intent.THANKS),
        ("こんにちは", Intent.GREETING),
        ("Hello!", Intent.GREETING),
        ("パスワードを忘れました", None),
        ("how do I change my agent settings in the app", None),
        ("ありがとうございます。ところでノートを共有する方法とエクスポート方法を教えて", None),
    ],
)
def test_detect_intent(text: str, intent: Intent | None) -> None:
    assert detect_intent(text) == intent


def test_placeholders_are_filled_and_must_match_in_overrides(tmp_path: Path) -> None:
    texts = Texts.load(None)
    assert texts.format("queue_position", "en", position=3).startswith("You are number 3")
    f = tmp_path / "texts.yaml"
    f.write_text("en:\n  queue_position: 'Place: {place}'\n", encoding="utf-8")
    with pytest.raises(TextsError, match=r"en.queue_position: must use exactly the placeholders"):
        Texts.load(f)
    f.write_text("ja:\n  outside_hours: '{opens}に再開します'\n", encoding="utf-8")
    assert Texts.load(f).format("outside_hours", "ja", opens="明日") == "明日に再開します"
