"""The bot's own sentences, in Japanese and English, in one place.

Admins override any of them with a YAML file (`HELPDESK_TEXTS_FILE`):

    ja:
      greeting: こんにちは！ご用件をどうぞ。
    en:
      greeting: Hi! How can we help?
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_TEXTS: dict[str, dict[str, str]] = {
    "ja": {
        "greeting": "こんにちは！ご質問をどうぞ。わからないことはスタッフにおつなぎします。",
        "did_it_help": "この回答で解決しましたか？",
        "helpful_yes": "解決した",
        "helpful_no": "解決しない",
        "glad_it_helped": "お役に立ててよかったです。ほかにもご質問があればいつでもどうぞ。",
        "suggest_intro": "次のどれかに近いでしょうか？",
        "none_of_these": "どれでもない",
        "talk_to_person": "スタッフと話す",
        "alternatives_intro": "申し訳ありません。こちらはいかがでしょうか？",
        "handoff_no_match": (
            "申し訳ありません、この内容にはお答えできませんでした。"
            "スタッフにおつなぎしますので、このままお待ちください。"
        ),
        "handoff_requested": "スタッフにおつなぎします。このままお待ちください。",
        "handoff_not_helpful": (
            "お役に立てず申し訳ありません。スタッフにおつなぎしますので、このままお待ちください。"
        ),
        "already_queued": "スタッフにおつなぎしています。メッセージはスタッフに届きます。",
        "resolved_by_customer": "ありがとうございました。ほかにもご質問があればいつでもどうぞ。",
        "thanks_reply": "どういたしまして。ほかにもご質問があればどうぞ。",
        "unknown_button": "そのボタンは期限切れです。もう一度ご質問を入力してください。",
        "follow_greeting": (
            "友だち追加ありがとうございます！ご質問をメッセージで送るか、"
            "下のカテゴリーからお選びください。"
        ),
        "category_intro": "よくあるご質問です。お選びください。",
        "text_only": "申し訳ありません、テキストのメッセージにのみお答えできます。",
        "linked": "お問い合わせ履歴をつなぎました。こちらで続けてご質問いただけます。",
        "link_code_invalid": "このコードは無効か期限切れです。もう一度発行してください。",
        "agent_joined": "スタッフの{agent}が対応いたします。",
        "resolved_by_agent": (
            "お問い合わせは解決済みとさせていただきました。ありがとうございました。"
            "ほかにもご質問があればいつでもどうぞ。"
        ),
        "queue_position": (
            "現在{position}番目にお待ちいただいています。順番にスタッフがお返事します。"
        ),
        "outside_hours": "ただいま営業時間外です。{opens}以降にスタッフがお返事します。",
        "agent_sender_name": "スタッフ",
        "survey_csat_question": (
            "今回のサポートにどのくらい満足されましたか？"
            "1（不満）〜5（とても満足）でお選びください。"
        ),
        "survey_nps_question": (
            "私たちのサービスを友人や同僚にすすめる可能性はどのくらいありますか？"
            "0（まったくない）〜10（とてもある）でお選びください。"
        ),
        "survey_ces_question": (
            "今回、問題の解決はどのくらい簡単でしたか？"
            "1（とても大変）〜7（とても簡単）でお選びください。"
        ),
        "survey_thanks": "ご回答ありがとうございます。",
        "survey_follow_up": "よろしければ、その点数の一番の理由を教えてください。",
        "survey_follow_up_detractor": "よろしければ、どうすればよかったか教えてください。",
        "survey_comment_thanks": "貴重なご意見をありがとうございます。今後の改善に役立てます。",
        "survey_closed": "ありがとうございます。このアンケートは受付を終了しました。",
        "survey_score_invalid": "{low}〜{high}の数字をボタンでお選びください。",
        "survey_review": "よろしければレビューで感想をお聞かせください：{url}",
        "returning_question": "{date}の「{topic}」についてのご質問の続きでしょうか？",
        "returning_question_no_topic": "{date}のお問い合わせの続きでしょうか？",
        "returning_yes": "はい、前回の続きです",
        "returning_no": "いいえ、別の件です",
        "returning_linked": "承知しました。前回のお問い合わせとあわせて対応いたします。",
        "returning_new": "承知しました。新しいお問い合わせとして承ります。",
    },
    "en": {
        "greeting": "Hi! Ask me anything. If I can't help, I'll put you through to our team.",
        "did_it_help": "Did this answer your question?",
        "helpful_yes": "Yes, solved",
        "helpful_no": "No",
        "glad_it_helped": "Glad that helped. Ask any time if there is anything else.",
        "suggest_intro": "Is it one of these?",
        "none_of_these": "None of these",
        "talk_to_person": "Talk to a person",
        "alternatives_intro": "Sorry about that. Does one of these help?",
        "handoff_no_match": (
            "Sorry, I couldn't find an answer to that. "
            "I'm passing you to a member of our team; please stay here."
        ),
        "handoff_requested": "I'm connecting you to a member of our team; please stay here.",
        "handoff_not_helpful": (
            "Sorry I couldn't help. I'm passing you to a member of our team; please stay here."
        ),
        "already_queued": "You're in the queue for our team; they'll see this message.",
        "resolved_by_customer": "Thanks! Ask any time if there is anything else.",
        "thanks_reply": "You're welcome. Anything else I can help with?",
        "unknown_button": "That button has expired. Please type your question again.",
        "follow_greeting": ("Thanks for adding us! Send your question, or pick a topic below."),
        "category_intro": "Frequently asked questions. Pick one:",
        "text_only": "Sorry, I can only read text messages.",
        "linked": "Your conversations are now linked. You can carry on here.",
        "link_code_invalid": "That code is invalid or has expired. Please get a new one.",
        "agent_joined": "{agent} from our team is now helping you.",
        "resolved_by_agent": (
            "We've marked your question as resolved. Thanks for getting in touch; "
            "write any time if there is anything else."
        ),
        "queue_position": "You are number {position} in the queue; our team will be with you soon.",
        "outside_hours": "Our team is away right now. An agent will reply after {opens}.",
        "agent_sender_name": "Staff",
        "survey_csat_question": (
            "How satisfied are you with this support? "
            "Choose from 1 (not at all) to 5 (very satisfied)."
        ),
        "survey_nps_question": (
            "How likely are you to recommend us to a friend or colleague? "
            "Choose from 0 (not at all likely) to 10 (extremely likely)."
        ),
        "survey_ces_question": (
            "How easy was it to get your issue solved? "
            "Choose from 1 (very difficult) to 7 (very easy)."
        ),
        "survey_thanks": "Thank you for your answer.",
        "survey_follow_up": "What is the main reason for your score?",
        "survey_follow_up_detractor": "What should we have done better?",
        "survey_comment_thanks": "Thank you for your feedback; it helps us improve.",
        "survey_closed": "Thank you! This survey has already closed.",
        "survey_score_invalid": "Please choose a score from {low} to {high} with the buttons.",
        "survey_review": "If you have a moment, a review would mean a lot to us: {url}",
        "returning_question": "Is this about your question on {date} (“{topic}”)?",
        "returning_question_no_topic": "Is this about your question on {date}?",
        "returning_yes": "Yes, the same matter",
        "returning_no": "No, something new",
        "returning_linked": "Thanks, we'll take it up together with your earlier question.",
        "returning_new": "Thanks, we'll treat this as a new question.",
    },
}


class TextsError(ValueError):
    """The override file is malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class Texts:
    """Looks up a sentence by key and locale, falling back to the other locale's text."""

    table: Mapping[str, Mapping[str, str]]
    fallback_locale: str = "en"

    def get(self, key: str, locale: str) -> str:
        by_locale = self.table.get(locale) or self.table[self.fallback_locale]
        return by_locale.get(key) or self.table[self.fallback_locale][key]

    def format(self, key: str, locale: str, **values: object) -> str:
        """The sentence with its `{placeholders}` filled in from `values`."""
        return self.get(key, locale).format(**values)

    @classmethod
    def load(cls, override_file: Path | None) -> Texts:
        """The defaults, with any sentences from `override_file` replacing them."""
        table = {locale: dict(texts) for locale, texts in DEFAULT_TEXTS.items()}
        if override_file is None:
            return cls(table)
        try:
            data = yaml.safe_load(override_file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise TextsError(f"{override_file}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise TextsError(f"{override_file}: expected a mapping of locale to sentences")
        for locale, texts in data.items():
            if locale not in table:
                raise TextsError(f"{override_file}: unknown locale {locale!r}")
            if not isinstance(texts, dict):
                raise TextsError(f"{override_file}: {locale}: expected a mapping of key to text")
            for key, text in texts.items():
                if key not in table[locale]:
                    known = ", ".join(sorted(table[locale]))
                    raise TextsError(
                        f"{override_file}: {locale}.{key}: unknown key (known keys: {known})"
                    )
                if not isinstance(text, str) or not text.strip():
                    raise TextsError(f"{override_file}: {locale}.{key}: expected non-empty text")
                _check_placeholders(override_file, f"{locale}.{key}", text, table[locale][key])
                table[locale][key] = text
        return cls(table)


def placeholders(text: str) -> set[str]:
    """The `{names}` a sentence expects; ValueError when its braces are malformed."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _check_placeholders(file: Path, where: str, text: str, default: str) -> None:
    # A sentence with placeholders is filled with `.format`: an override must use the
    # same names, or the bot would fail at the moment it speaks.
    expected = placeholders(default)
    if not expected:
        return
    try:
        found = placeholders(text)
    except ValueError as exc:
        raise TextsError(f"{file}: {where}: malformed placeholder: {exc}") from None
    if found != expected:
        names = ", ".join(f"{{{n}}}" for n in sorted(expected))
        raise TextsError(f"{file}: {where}: must use exactly the placeholders {names}")
