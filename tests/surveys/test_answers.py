"""Answering a survey: scores, the optional comment, expiry and late answers."""

from __future__ import annotations

from sqlmodel import func, select

from bot.models import Conversation, SurveyStatus
from bot.texts import DEFAULT_TEXTS
from tests.channels.slack_desk import Desk
from tests.surveys.conftest import line_resolves, line_says, line_taps, surveys, tick

JA = DEFAULT_TEXTS["ja"]


async def sent_survey(desk: Desk) -> int:
    await line_resolves(desk)
    desk.clock.advance(minutes=10)
    assert await tick(desk) == 1
    (survey,) = await surveys(desk)
    assert survey.id is not None
    return survey.id


async def test_score_then_free_text_comment_is_stored(desk: Desk) -> None:
    survey_id = await sent_survey(desk)
    await line_taps(desk, f"survey:{survey_id}:7")
    assert desk.line_api.calls[-1].texts == [JA["survey_thanks"], JA["survey_follow_up"]]
    desk.clock.advance(minutes=3)
    await line_says(desk, "説明が少しわかりにくかったです")
    assert desk.line_api.calls[-1].texts == [JA["survey_comment_thanks"]]
    (survey,) = await surveys(desk)
    assert (survey.status, survey.score) == (SurveyStatus.ANSWERED, 7)
    assert survey.comment == "説明が少しわかりにくかったです"
    # Only one text is taken: the next one is an ordinary message again.
    await line_says(desk, "パスワード忘れた")
    assert "パスワードをお忘れの方" in desk.line_api.calls[-1].texts[0]
    assert (await surveys(desk))[0].comment == "説明が少しわかりにくかったです"


async def test_a_new_question_instead_of_a_comment_is_answered_by_the_faq(desk: Desk) -> None:
    survey_id = await sent_survey(desk)
    await line_taps(desk, f"survey:{survey_id}:8")
    await line_says(desk, "料金プランを教えてください")
    assert "月額600円" in desk.line_api.calls[-1].texts[0]
    (survey,) = await surveys(desk)
    assert survey.score == 8 and survey.comment is None and survey.comment_until is None


async def test_text_after_the_comment_window_is_not_a_comment(desk: Desk) -> None:
    survey_id = await sent_survey(desk)
    await line_taps(desk, f"survey:{survey_id}:9")
    desk.clock.advance(minutes=31)
    await line_says(desk, "ありがとう")
    assert desk.line_api.calls[-1].texts != [JA["survey_comment_thanks"]]
    assert (await surveys(desk))[0].comment is None


async def test_unanswered_survey_expires_and_a_late_answer_is_thanked_not_counted(
    desk: Desk,
) -> None:
    survey_id = await sent_survey(desk)
    desk.clock.advance(days=7)
    await tick(desk)
    (survey,) = await surveys(desk)
    assert survey.status == SurveyStatus.EXPIRED
    await line_taps(desk, f"survey:{survey_id}:10")
    assert desk.line_api.calls[-1].texts == [JA["survey_closed"]]
    (survey,) = await surveys(desk)
    assert survey.status == SurveyStatus.EXPIRED and survey.score is None


async def test_a_second_tap_does_not_change_the_score(desk: Desk) -> None:
    survey_id = await sent_survey(desk)
    await line_taps(desk, f"survey:{survey_id}:3")
    await line_taps(desk, f"survey:{survey_id}:10")
    assert desk.line_api.calls[-1].texts == [JA["survey_closed"]]
    assert (await surveys(desk))[0].score == 3


async def test_another_customers_survey_button_is_ignored(desk: Desk) -> None:
    survey_id = await sent_survey(desk)
    await line_taps(desk, f"survey:{survey_id}:0", user="U" + "f" * 32)
    assert desk.line_api.calls[-1].texts == [JA["unknown_button"]]
    assert (await surveys(desk))[0].status == SurveyStatus.SENT


async def test_answers_stay_in_the_surveyed_conversation(desk: Desk) -> None:
    survey_id = await sent_survey(desk)
    await line_taps(desk, f"survey:{survey_id}:6")
    await line_says(desk, "もっと早く返事がほしい")
    async with desk.services.sessions() as s:
        count = (await s.exec(select(func.count()).select_from(Conversation))).one()
    assert count == 1


async def test_emoji_only_and_very_long_comments_are_kept_and_analysed(desk: Desk) -> None:
    from datetime import timedelta

    from surveys.comment_terms import CommentAnalyzer
    from surveys.kpis import summary
    from surveys.responder import MAX_COMMENT_CHARS

    survey_id = await sent_survey(desk)
    await line_taps(desk, f"survey:{survey_id}:2")
    await line_says(desk, "👎👎👎")
    assert desk.line_api.calls[-1].texts == [JA["survey_comment_thanks"]]
    assert (await surveys(desk))[0].comment == "👎👎👎"

    # A second customer writes LINE's longest text (5,000 characters) as the comment.
    other = "U" + "d" * 32
    await line_resolves(desk, user=other)
    desk.clock.advance(minutes=10)
    assert await tick(desk) == 1
    second = (await surveys(desk))[1]
    await line_taps(desk, f"survey:{second.id}:1", user=other)
    long_comment = "配送料金が高い。" * 625
    assert len(long_comment) == 5000
    await line_says(desk, long_comment, user=other)
    assert desk.line_api.calls[-1].texts == [JA["survey_comment_thanks"]]
    stored = (await surveys(desk))[1].comment
    assert stored is not None and stored == long_comment[:MAX_COMMENT_CHARS]

    now = desk.clock()
    async with desk.services.sessions() as s:
        report = await summary(
            s, now - timedelta(days=1), now + timedelta(days=1), now, comments=CommentAnalyzer()
        )
    # Analysed without error: both are detractors, the emoji name nothing and the long
    # one 配送料金 and 高い once, so nothing recurs in two comments.
    assert set(report.comments) == {"promoters", "passives", "detractors"}
    assert all(terms == [] for terms in report.comments.values())
    analyzer = CommentAnalyzer()
    assert analyzer.terms("👎👎👎") == ()
    assert [t.label for t in analyzer.terms(stored)] == ["配送料金", "高い"]
