"""The KPI report as a plain-text table, for `helpdesk report`."""

from __future__ import annotations

from surveys.kpis import Ces, Durations, KpiReport
from surveys.rules import Segment


def rate_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _durations(d: Durations) -> str:
    return f"median {duration_text(d.median)}, p90 {duration_text(d.p90)} (n={d.count})"


def ces_text(ces: Ces) -> str:
    if ces.mean is None:
        return "—"
    return f"{ces.mean:.2f} of 7, {rate_text(ces.easy_rate)} easy (n={ces.responses})"


def format_report(report: KpiReport, period: str, channel: str | None) -> str:
    fcr_bot, fcr_agent = report.fcr_bot, report.fcr_agent
    rows = [
        ("period", period + (f", channel {channel}" if channel else "")),
        ("conversations", str(report.conversations)),
        ("self-resolution", rate_text(report.self_resolution_rate)),
        ("containment", rate_text(report.containment_rate)),
        ("handoff", rate_text(report.handoff_rate)),
        ("FCR, bot-resolved", f"{rate_text(fcr_bot.rate)} (n={fcr_bot.eligible})"),
        ("FCR, agent-resolved", f"{rate_text(fcr_agent.rate)} (n={fcr_agent.eligible})"),
        ("first response", _durations(report.first_response)),
        ("resolution time", _durations(report.resolution)),
        ("CSAT", f"{rate_text(report.csat)} (n={len(report.csat_scores)})"),
        ("NPS", "—" if report.nps is None else f"{report.nps:+.1f} (n={len(report.nps_scores)})"),
        ("CES", ces_text(report.ces)),
        *((f"CES, {c}", ces_text(v)) for c, v in report.ces_by_channel.items()),
        *(
            (f"CES, {r}-resolved", ces_text(v))
            for r, v in report.ces_by_resolution.items()
            if v.responses
        ),
        (
            "survey responses",
            f"{rate_text(report.survey_response_rate)} ({report.survey_responses}"
            f" of {report.surveys_sent} sent)",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name.ljust(width)}  {value}" for name, value in rows]
    if report.faq_hits:
        lines.append("")
        lines.append("top FAQ entries: " + ", ".join(f"{i} ({n})" for i, n in report.faq_hits))
    if report.faq_not_helpful:
        lines.append("did not help: " + ", ".join(f"{i} ({n})" for i, n in report.faq_not_helpful))
    if report.unanswered:
        lines.append("top unanswered:")
        lines += [f"  {n:4d}x {q}" for q, n in report.unanswered]
    if any(report.comments.values()):
        lines.append("")
        lines.append("survey comments (comments with the term; change from the period before):")
        for segment in Segment:
            terms = report.comments.get(segment, [])
            listed = ", ".join(f"{t.term} ({t.count}, {t.change:+d})" for t in terms)
            lines.append(f"  {segment.value}: {listed or '—'}")
    return "\n".join(lines)
