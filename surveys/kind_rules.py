"""Which survey a resolved conversation gets: CSAT, NPS or CES, chosen by ordered rules.

The rules are one setting (`HELPDESK_SURVEY_KINDS`), read left to right; the first rule
whose conditions hold names the kind:

    nps every 90d, ces bot, csat

reads "NPS if this customer had none in the last 90 days; otherwise CES after a
conversation the bot resolved alone; otherwise CSAT". A rule is a kind followed by any
of these conditions:

* `bot`: the conversation was never handed to people;
* `self`: the customer confirmed that an FAQ answer solved it (self-resolved);
* `agent`: it was handed to people;
* `every <n>d` (or `<n>h`): this customer got no survey of this kind within that time,
  on any linked channel (the fatigue rule of NPS, but any kind may have one).

When no rule holds, no survey is sent, and the skipped row says so. The fatigue rules
that apply to every survey (one per customer per throttle period, blocked identities,
small talk, unanswered handoffs) are `surveys.rules`, applied whatever the kind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.models import SurveyKind


class Handled(StrEnum):
    BOT = "bot"  # never handed to people
    SELF = "self"  # the customer confirmed an FAQ answer helped
    AGENT = "agent"  # handed to people


@dataclass(frozen=True)
class KindRule:
    kind: SurveyKind
    handled: Handled | None = None  # None: either way
    every: timedelta | None = None  # at most one of this kind per customer per `every`

    def __str__(self) -> str:
        parts = [str(self.kind)]
        if self.handled is not None:
            parts.append(str(self.handled))
        if self.every is not None:
            hours = int(self.every.total_seconds() // 3600)
            parts.append(f"every {hours // 24}d" if hours % 24 == 0 else f"every {hours}h")
        return " ".join(parts)


def default_rules(nps_interval: timedelta) -> tuple[KindRule, ...]:
    """NPS when the customer had none within `nps_interval`, CSAT otherwise: the
    behaviour before the rules existed, kept as the default."""
    return (KindRule(SurveyKind.NPS, every=nps_interval), KindRule(SurveyKind.CSAT))


_EVERY = re.compile(r"every\s+(\d{1,5})\s*([dh])")


def parse_kind_rules(text: str) -> tuple[KindRule, ...]:
    """Rules from their setting text; ValueError naming the rule that cannot be read."""
    rules: list[KindRule] = []
    for raw in text.split(","):
        rule = raw.strip().lower()
        if not rule:
            continue
        kind_name, _, rest = rule.partition(" ")
        try:
            kind = SurveyKind(kind_name)
        except ValueError:
            known = ", ".join(k.value for k in SurveyKind)
            raise ValueError(f"{raw.strip()!r}: unknown survey kind (one of {known})") from None
        handled: Handled | None = None
        every: timedelta | None = None
        rest = rest.strip()
        while rest:
            match = _EVERY.match(rest)
            if match is not None and every is None:
                amount = int(match.group(1))
                if amount == 0:
                    raise ValueError(f"{raw.strip()!r}: 'every' needs a period above zero")
                unit = timedelta(days=1) if match.group(2) == "d" else timedelta(hours=1)
                every = amount * unit
                rest = rest[match.end() :].strip()
                continue
            word, _, rest = rest.partition(" ")
            rest = rest.strip()
            if word in tuple(Handled) and handled is None:
                handled = Handled(word)
                continue
            raise ValueError(
                f"{raw.strip()!r}: cannot read {word!r} "
                "(conditions: bot, self, agent, every <n>d, every <n>h)"
            )
        rules.append(KindRule(kind, handled, every))
    if not rules:
        raise ValueError("no rule given (e.g. 'nps every 90d, ces bot, csat')")
    return tuple(rules)


def choose_kind(
    rules: tuple[KindRule, ...],
    *,
    handed_off: bool,
    self_resolved: bool,
    due_at: datetime,
    last_due: Mapping[str, datetime],
) -> SurveyKind | None:
    """The kind of the first rule that holds, or None. `last_due` maps a kind to the
    latest due time of the customer's earlier surveys of that kind."""
    for rule in rules:
        if rule.handled is Handled.BOT and handed_off:
            continue
        if rule.handled is Handled.AGENT and not handed_off:
            continue
        if rule.handled is Handled.SELF and not self_resolved:
            continue
        last = last_due.get(rule.kind)
        if rule.every is not None and last is not None and due_at - last < rule.every:
            continue
        return rule.kind
    return None
