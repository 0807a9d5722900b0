"""Terms of survey comments (real SudachiPy) and their counts per segment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from surveys.comment_terms import Comment, CommentAnalyzer, Term, TermCount, analyse_comments
from surveys.rules import Segment, segment_of

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def analyzer() -> CommentAnalyzer:
    return CommentAnalyzer()  # one tokenizer for the module: loading it takes a while


def labels(analyzer: CommentAnalyzer, text: str) -> list[str]:
    return [term.label for term in analyzer.terms(text)]


def comment(segment: Segment, text: str, minutes: int = 0) -> Comment:
    return Comment(segment, text, T0 + timedelta(minutes=minutes))


# --- segments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "scores", "segment"),
    [
        ("nps", range(0, 7), Segment.DETRACTORS),
        ("nps", range(7, 9), Segment.PASSIVES),
        ("nps", range(9, 11), Segment.PROMOTERS),
        ("csat", range(1, 3), Segment.DETRACTORS),
        ("csat", range(3, 4), Segment.PASSIVES),
        ("csat", range(4, 6), Segment.PROMOTERS),
        ("ces", range(1, 4), Segment.DETRACTORS),
        ("ces", range(4, 5), Segment.PASSIVES),
        ("ces", range(5, 8), Segment.PROMOTERS),
    ],
)
def test_every_score_of_each_range(kind: str, scores: range, segment: Segment) -> None:
    assert [segment_of(kind, score) for score in scores] == [segment] * len(scores)


@pytest.mark.parametrize(("kind", "score"), [("nps", -1), ("nps", 11), ("csat", 0),
                                             ("csat", 6), ("ces", 0), ("ces", 8)])
def test_scores_off_the_scale_are_refused(kind: str, score: int) -> None:
    with pytest.raises(ValueError, match="not in"):
        segment_of(kind, score)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown survey kind"):
        segment_of("stars", 5)


# --- Japanese -------------------------------------------------------------------------


def test_consecutive_nouns_make_one_compound(analyzer: CommentAnalyzer) -> None:
    assert labels(analyzer, "配送料金が高い") == ["配送料金", "高い"]
    # joined from two words: key and label are the joined forms
    assert analyzer.terms("待ち時間が長い")[0] == Term("待ち時間", "待ち時間")
    assert labels(analyzer, "電話対応が遅い") == ["電話対応", "遅い"]


def test_particles_adverbs_and_auxiliaries_are_dropped(analyzer: CommentAnalyzer) -> None:
    assert labels(analyzer, "スタッフの対応がとても丁寧でした") == ["スタッフ", "対応", "丁寧"]


def test_adjectives_in_dictionary_form(analyzer: CommentAnalyzer) -> None:
    assert labels(analyzer, "返信が早くて助かりました") == ["返信", "早い"]
    assert labels(analyzer, "届くのが遅かったです") == ["遅い"]
    # spelling variants share a key
    assert analyzer.terms("いい対応")[0].key == analyzer.terms("良い対応")[0].key


def test_verb_with_yasui_or_nikui_is_a_term(analyzer: CommentAnalyzer) -> None:
    assert labels(analyzer, "アプリが使いにくい") == ["アプリ", "使いにくい"]
    assert analyzer.terms("わかりやすい")[0].key == analyzer.terms("分かりやすかった")[0].key


def test_a_negated_word_is_not_counted_as_the_word(analyzer: CommentAnalyzer) -> None:
    fast = analyzer.terms("早い")[0]
    not_fast = analyzer.terms("返信が早くなかった")
    assert [t.label for t in not_fast] == ["返信", "早くない"]
    assert fast.key not in {t.key for t in not_fast}
    assert labels(analyzer, "丁寧ではありませんでした") == ["丁寧ではない"]
    assert labels(analyzer, "特に問題ない") == ["問題ない"]
    # 説明なし and 説明がない are one term, and neither is 説明
    assert analyzer.terms("説明なし")[0].key == analyzer.terms("説明がない")[0].key
    assert analyzer.terms("説明なし")[0].key != analyzer.terms("説明")[0].key
    # English too: the word after a negator, skipping fillers, up to the clause's end.
    assert labels(analyzer, "The agent was not very helpful") == ["agent", "not helpful"]
    assert labels(analyzer, "My parcel didn't arrive") == ["parcel", "not arrive"]
    assert labels(analyzer, "I can't log in") == ["not log"]
    assert labels(analyzer, "No update. Helpful staff") == [
        "no update", "helpful", "staff", "helpful staff",
    ]
    assert analyzer.terms("not helpful")[0].key != analyzer.terms("helpful")[0].key


def test_light_nouns_pronouns_numbers_and_honorifics_give_nothing(
    analyzer: CommentAnalyzer,
) -> None:
    assert labels(analyzer, "こと もの ため 私 それ") == []
    assert labels(analyzer, "3日で届き、10分待ちました") == []
    assert labels(analyzer, "担当者さんのご対応") == ["担当者", "対応"]
    # お/ご do not make a second term
    assert analyzer.terms("ご対応")[0].key == analyzer.terms("対応")[0].key


def test_evaluative_nouns_stand_alone(analyzer: CommentAnalyzer) -> None:
    assert labels(analyzer, "サポート最高") == ["サポート", "最高"]


def test_width_variants_are_folded(analyzer: CommentAnalyzer) -> None:
    assert analyzer.terms("ｻﾎﾟｰﾄ") == analyzer.terms("サポート")


# --- English --------------------------------------------------------------------------


def test_english_words_are_stemmed_and_lower_cased(analyzer: CommentAnalyzer) -> None:
    (deliveries,) = analyzer.terms("Deliveries")
    (delivery,) = analyzer.terms("delivery")
    assert deliveries.key == delivery.key
    assert (deliveries.label, delivery.label) == ("deliveries", "delivery")


def test_adjacent_content_words_make_a_phrase(analyzer: CommentAnalyzer) -> None:
    terms = analyzer.terms("Customer service was great")
    assert [t.label for t in terms] == ["customer", "service", "customer service", "great"]
    service = analyzer.terms("services")[0]
    assert terms[2].key == f"customer {service.key}"


def test_no_phrase_across_punctuation_or_stop_words(analyzer: CommentAnalyzer) -> None:
    assert "fast delivery" not in labels(analyzer, "Fast. Delivery was late")
    assert "support team" not in labels(analyzer, "support for the team")
    assert "support team" in labels(analyzer, "support team")


def test_stop_words_and_fillers_are_dropped(analyzer: CommentAnalyzer) -> None:
    assert labels(analyzer, "I really got a lot of everything, thanks!") == []
    # contractions do not leave their halves behind (they negate the next word)
    assert labels(analyzer, "It didn't arrive and I don't know why") == [
        "not arrive", "not know",
    ]
    # sentiment is not a filler
    assert labels(analyzer, "slow but helpful") == ["slow", "helpful"]


def test_mixed_japanese_and_english(analyzer: CommentAnalyzer) -> None:
    assert labels(analyzer, "サポートの方がとても helpful でした。返信も早い") == [
        "サポート",
        "helpful",
        "返信",
        "早い",
    ]


@pytest.mark.parametrize("text", ["", "   \n\t ", "😀👍🎉", "!!!???…", "★☆→", "1️⃣ 2️⃣", "、。！？"])
def test_nothing_to_analyse_gives_no_terms(analyzer: CommentAnalyzer, text: str) -> None:
    assert analyzer.terms(text) == ()


def test_a_long_comment_is_analysed_up_to_its_first_2000_characters(
    analyzer: CommentAnalyzer,
) -> None:
    opening = "配送料金が高い。" * 250  # 2,000 characters
    text = opening + "スタッフが丁寧。" * 375  # 5,000 in all
    assert len(text) == 5000
    assert labels(analyzer, text) == ["配送料金", "高い"]  # スタッフ is past the limit
    # one unbroken run, in one tokenizer call
    assert labels(analyzer, "返金" * 2500) == ["返金" * 1000]
    assert labels(analyzer, "refund " * 715) == ["refund", "refund refund"]


def test_terms_are_distinct_in_order_of_first_appearance(analyzer: CommentAnalyzer) -> None:
    assert labels(analyzer, "対応が遅い。対応も遅い。返信が遅い") == ["対応", "遅い", "返信"]


# --- aggregation ----------------------------------------------------------------------


def by_term(rows: list[TermCount]) -> dict[str, TermCount]:
    return {row.term: row for row in rows}


def test_counts_are_per_comment_not_per_occurrence(analyzer: CommentAnalyzer) -> None:
    current = [
        comment(Segment.DETRACTORS, "遅い。遅い。本当に遅い"),
        comment(Segment.DETRACTORS, "返信が遅い"),
    ]
    rows = by_term(analyse_comments(current, [], analyzer)[Segment.DETRACTORS])
    assert rows["遅い"].count == 2
    # even when given terms repeat one
    twice = (Term("slow", "slow"), Term("slow", "slow"))
    current = [Comment(Segment.DETRACTORS, "slow, slow", T0, terms=twice)] * 2
    rows = analyse_comments(current, [], analyzer)[Segment.DETRACTORS]
    assert [(r.term, r.count) for r in rows] == [("slow", 2)]


def test_segments_are_kept_apart(analyzer: CommentAnalyzer) -> None:
    current = [
        comment(Segment.PROMOTERS, "対応が早い"),
        comment(Segment.PROMOTERS, "対応が丁寧"),
        comment(Segment.PROMOTERS, "対応が良かった"),
        comment(Segment.DETRACTORS, "対応が遅い"),
        comment(Segment.DETRACTORS, "対応が雑"),
    ]
    result = analyse_comments(current, [], analyzer)
    assert set(result) == set(Segment)
    assert by_term(result[Segment.PROMOTERS])["対応"].count == 3
    assert by_term(result[Segment.DETRACTORS])["対応"].count == 2
    assert result[Segment.PASSIVES] == []


def test_only_recurring_terms_are_listed(analyzer: CommentAnalyzer) -> None:
    current = [
        comment(Segment.PASSIVES, "delivery was slow"),
        comment(Segment.PASSIVES, "delivery was fine"),
        comment(Segment.PASSIVES, "delivery was slow"),
    ]
    rows = analyse_comments(current, [], analyzer)[Segment.PASSIVES]
    assert [(r.term, r.count) for r in rows] == [("delivery", 3), ("slow", 2)]
    rows = analyse_comments(current, [], analyzer, min_count=3)[Segment.PASSIVES]
    assert [r.term for r in rows] == ["delivery"]
    rows = analyse_comments(current, [], analyzer, min_count=1)[Segment.PASSIVES]
    assert "fine" in by_term(rows)


def test_top_and_ordering_by_count_then_label(analyzer: CommentAnalyzer) -> None:
    current = [
        comment(Segment.DETRACTORS, "refund wait"),
        comment(Segment.DETRACTORS, "refund wait"),
        comment(Segment.DETRACTORS, "refund app"),
        comment(Segment.DETRACTORS, "app"),
        comment(Segment.DETRACTORS, "billing"),
        comment(Segment.DETRACTORS, "billing"),
    ]
    rows = analyse_comments(current, [], analyzer)[Segment.DETRACTORS]
    assert [(r.term, r.count) for r in rows] == [
        ("refund", 3),
        ("app", 2),
        ("billing", 2),
        ("refund wait", 2),
        ("wait", 2),
    ]
    rows = analyse_comments(current, [], analyzer, top=2)[Segment.DETRACTORS]
    assert [r.term for r in rows] == ["refund", "app"]


def test_the_most_common_label_is_shown(analyzer: CommentAnalyzer) -> None:
    current = [
        comment(Segment.DETRACTORS, "Deliveries are late"),
        comment(Segment.DETRACTORS, "deliveries late again"),
        comment(Segment.DETRACTORS, "delivery late"),
    ]
    rows = by_term(analyse_comments(current, [], analyzer)[Segment.DETRACTORS])
    assert rows["deliveries"].count == 3
    assert "delivery" not in rows


def test_examples_are_newest_first_limited_and_cut(analyzer: CommentAnalyzer) -> None:
    long_text = "返金が遅い" + "。" * 300
    current = [
        comment(Segment.DETRACTORS, "返金が遅い（1）", minutes=1),
        comment(Segment.DETRACTORS, long_text, minutes=4),
        comment(Segment.DETRACTORS, "返金が遅い（3）", minutes=3),
        comment(Segment.DETRACTORS, "返金が遅い（2）", minutes=2),
    ]
    rows = by_term(analyse_comments(current, [], analyzer)[Segment.DETRACTORS])
    newest, second, third = rows["返金"].examples
    assert newest == long_text[:199] + "…" and len(newest) == 200
    assert (second, third) == ("返金が遅い（3）", "返金が遅い（2）")
    rows = by_term(analyse_comments(current, [], analyzer, examples=1)[Segment.DETRACTORS])
    assert rows["返金"].examples == (newest,)


def test_previous_period_counts_and_change(analyzer: CommentAnalyzer) -> None:
    current = [comment(Segment.DETRACTORS, "返信が遅い")] * 3
    previous = [
        comment(Segment.DETRACTORS, "返信が遅い"),
        comment(Segment.DETRACTORS, "返信が来ない"),
        comment(Segment.DETRACTORS, "遅すぎる"),
        comment(Segment.DETRACTORS, "遅かった"),
        comment(Segment.DETRACTORS, "遅い"),
        comment(Segment.PROMOTERS, "返信が早い"),  # another segment: not counted
    ]
    rows = by_term(analyse_comments(current, previous, analyzer)[Segment.DETRACTORS])
    assert (rows["返信"].count, rows["返信"].previous, rows["返信"].change) == (3, 2, 1)
    assert (rows["遅い"].count, rows["遅い"].previous, rows["遅い"].change) == (3, 4, -1)


def test_pre_analysed_terms_are_used_as_given(analyzer: CommentAnalyzer) -> None:
    given = (Term("refund", "refunds"),)
    current = [
        Comment(Segment.PASSIVES, "配送料金が高い", T0, terms=given),
        Comment(Segment.PASSIVES, "配送料金が高い", T0, terms=given),
    ]
    previous = [Comment(Segment.PASSIVES, "nothing here", T0, terms=given)]
    rows = analyse_comments(current, previous, analyzer)[Segment.PASSIVES]
    assert [(r.term, r.count, r.previous) for r in rows] == [("refunds", 2, 1)]
    assert rows[0].examples == ("配送料金が高い",)  # the same text once


class CountingAnalyzer(CommentAnalyzer):
    """The real analyzer, counting the texts it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def terms(self, text: str) -> tuple[Term, ...]:
        self.texts.append(text)
        return super().terms(text)


def test_a_text_is_analysed_once_per_call() -> None:
    counting = CountingAnalyzer()
    current = [comment(Segment.PROMOTERS, "対応が早い")] * 5
    previous = [comment(Segment.PROMOTERS, "対応が早い"), comment(Segment.PASSIVES, "普通")]
    result = analyse_comments(current, previous, counting)
    assert sorted(counting.texts) == ["対応が早い", "普通"]
    assert by_term(result[Segment.PROMOTERS])["対応"] == TermCount("対応", 5, 1, ("対応が早い",))


def test_bad_parameters_are_refused(analyzer: CommentAnalyzer) -> None:
    with pytest.raises(ValueError):
        analyse_comments([], [], analyzer, min_count=0)
    with pytest.raises(ValueError):
        analyse_comments([], [], analyzer, top=-1)
