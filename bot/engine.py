"""The conversation engine: one Inbound in, stored, decided, replies stored and queued.

The engine never talks to a platform. Replies become message rows plus outbox rows in the
same transaction as the customer's message, and so are the domain events
(`bot.event_outbox`), which are delivered after the commit.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.db import SessionFactory
from bot.event_outbox import EventOutbox
from bot.events import (
    ConversationOpened,
    ConversationResolved,
    CustomerMessageDuringHandoff,
    DomainEvent,
    FaqAnswered,
    HandoffRequested,
)
from bot.intents import Intent, detect_intent
from bot.linking import parse_code, redeem_code
from bot.locale_detect import detect_locale
from bot.messages import Button, Inbound, Outbound
from bot.metrics import Metrics
from bot.models import (
    Conversation,
    ConversationStatus,
    Handoff,
    HandoffReason,
    Identity,
    Message,
    Resolution,
    Role,
    UnansweredQuestion,
)
from bot.postbacks import Postback, PostbackKind, parse_postback
from bot.returning import ReturningCustomers
from bot.search_runner import SearchRunner
from bot.store import identity_and_open_conversation, message_row, to_outbound
from bot.texts import Texts
from bot.turn_outcome import TurnOutcome
from bot.turn_writes import TurnMessage, mark_processed, queue_replies, write_messages
from faq.decision import Decision, Thresholds, decide
from faq.matcher import Match, Matcher
from faq.model import FaqEntry

EventT = TypeVar("EventT", bound=DomainEvent)

# A second "that didn't help" in one conversation goes to a person (the rule).
NOT_HELPFUL_LIMIT = 2
# How many matches to fetch: enough for choices and for alternatives after a "no".
SEARCH_DEPTH = 8
# Quick replies: LINE shows at most 13, and more than a dozen choices help nobody.
MAX_BUTTONS = 13
# Candidates kept with an unanswered question: what the matcher almost chose.
UNANSWERED_CANDIDATES = 3


class MatcherSource(Protocol):
    """Anything holding the current FAQ matcher (the hot-reloading FaqLibrary in the app)."""

    @property
    def matcher(self) -> Matcher: ...


@dataclass(frozen=True)
class SurveyReplies:
    """What the survey hook made of a customer's message: the surveyed conversation it
    belongs to, and what the bot says back."""

    conversation_id: int
    texts: tuple[str, ...]


class SurveyHook(Protocol):
    """Survey answers and comments, handled in the surveyed (resolved) conversation
    instead of opening a new one. Implemented by `surveys.responder.SurveyResponder`."""

    async def answer(
        self, session: AsyncSession, identity: Identity, postback: str, now: datetime
    ) -> SurveyReplies | None:
        """Record a survey button; None when it is not a survey answer of this customer."""
        ...

    async def awaiting_comment(
        self, session: AsyncSession, identity: Identity, now: datetime
    ) -> int | None:
        """The survey whose follow-up question this identity's next text answers, if any."""
        ...

    async def take_comment(
        self, session: AsyncSession, survey_id: int, text: str, now: datetime
    ) -> SurveyReplies:
        """Store `text` as the survey's comment."""
        ...

    async def drop_comment(self, session: AsyncSession, survey_id: int) -> None:
        """Stop waiting for a comment: the customer moved on to something else."""
        ...


class TurnFence(Protocol):
    """A caller's write that commits with the turn and may refuse it: the inbox marks
    its stored event done in the turn's transaction (`bot.inbox.EventClaim`)."""

    async def hold(self, session: AsyncSession) -> bool:
        """Write the mark; False when the work is no longer the caller's (its claim was
        taken over), and the turn is dropped."""
        ...


class TurnGate(Protocol):
    """A caller's check that runs first in the turn's transaction and completes the
    inbound: the web chat reads its bearer token's session there, so a message costs one
    transaction, not one to authenticate and another for the turn."""

    async def admit(self, session: AsyncSession, inbound: Inbound) -> Inbound:
        """The inbound to handle, completed with what the check found (whose customer it
        is); raises to refuse the turn, which then writes nothing."""
        ...


class _Superseded(Exception):
    """The turn's fence refused it: another worker has the event now."""


@dataclass(frozen=True)
class HandleResult:
    """What came of one inbound: the stored customer message and the bot's replies."""

    conversation_id: int | None
    customer_message: Outbound | None
    replies: tuple[Outbound, ...]
    duplicate: bool = False


@dataclass
class _Turn:
    """Everything one `handle` call decides, gathered before the commit."""

    session: AsyncSession
    identity: Identity
    conversation: Conversation
    inbound: Inbound
    customer_message: TurnMessage | None = None
    replies: list[TurnMessage] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)
    outcome: TurnOutcome = TurnOutcome.UNKNOWN_BUTTON
    # whether this turn's own message was recorded as an unanswered question
    unanswered_recorded: bool = False
    # the FAQ search of the customer's text, run before the transaction (see _early_search)
    early_search: tuple[str, list[Match]] | None = None


class Engine:
    def __init__(
        self,
        sessions: SessionFactory,
        faq: MatcherSource,
        texts: Texts,
        events: EventOutbox,
        clock: Clock,
        thresholds: Thresholds,
        default_locale: str,
        on_outbox: Callable[[], None],
        logger: logging.Logger,
        surveys: SurveyHook | None = None,
        metrics: Metrics | None = None,
        returning: ReturningCustomers | None = None,
    ) -> None:
        self._sessions = sessions
        self._returning = returning
        self._metrics = metrics or Metrics.create()
        self._surveys = surveys
        self._faq = faq
        self._texts = texts
        self._events = events
        self._clock = clock
        self._thresholds = thresholds
        self._default_locale = default_locale
        self._on_outbox = on_outbox
        self._log = logger
        self._searches = SearchRunner()

    async def handle(
        self, inbound: Inbound, fence: TurnFence | None = None, gate: TurnGate | None = None
    ) -> HandleResult:
        """Store the inbound, decide, store and queue the replies; dedupe on event_id,
        or by the `fence` when one is given (an inbox claim is as good a dedupe as a
        processed-event row, and costs the turn no extra write). A `gate` admits the
        inbound first, in the same transaction, and may complete it (its customer_ref
        and locale); what it raises leaves the turn unwritten."""
        if inbound.text is None and inbound.postback is None and inbound.media is None:
            if not inbound.follow:
                raise ValueError("an Inbound needs text, a postback, media or follow")
        now = self._clock()
        early = await self._early_search(inbound)
        try:
            async with self._sessions() as session, session.begin():
                if gate is not None:
                    inbound = await gate.admit(session, inbound)
                if fence is not None:
                    if not await fence.hold(session):
                        raise _Superseded
                elif inbound.event_id is not None:
                    await mark_processed(session, inbound.channel, inbound.event_id, now)
                # read (and locked) once: the survey check and the turn both need it
                identity, conversation = await identity_and_open_conversation(
                    session, inbound.channel, inbound.customer_ref, now
                )
                survey_turn = await self._survey_turn(session, inbound, identity, conversation)
                if survey_turn is not None:
                    turn = survey_turn
                else:
                    turn = await self._start_turn(session, inbound, identity, conversation)
                    turn.early_search = early
                    turn.customer_message = await self._store_customer_message(turn)
                    await self._decide(turn)
                    await self._ask_if_returning(turn)
                await self._queue_replies(turn)
                deliveries = await self._events.record(session, turn.events)
        except _Superseded:
            self._log.info(
                "event taken over by another worker; this turn dropped",
                extra={"channel": inbound.channel, "event_id": inbound.event_id},
            )
            return HandleResult(None, None, (), duplicate=True)
        except IntegrityError:
            if inbound.event_id is None or fence is not None:
                raise
            self._log.info(
                "duplicate event ignored",
                extra={"channel": inbound.channel, "event_id": inbound.event_id},
            )
            return HandleResult(None, None, (), duplicate=True)
        self._metrics.message_handled(inbound.channel, turn.outcome)
        for event in turn.events:
            if isinstance(event, HandoffRequested):
                self._metrics.handoff_requested(event.channel, event.reason)
        await self._events.deliver(deliveries)
        if turn.replies:
            self._on_outbox()
        assert turn.conversation.id is not None and turn.customer_message is not None
        self._log.info(
            "message handled",
            extra={
                "channel": inbound.channel,
                "conversation": turn.conversation.id,
                "status": turn.conversation.status,
                "decision": next((m.decision for m in turn.replies if m.decision), None),
            },
        )
        return HandleResult(
            turn.conversation.id,
            to_outbound(turn.customer_message),
            tuple(to_outbound(m) for m in turn.replies),
        )

    # -- the turn ---------------------------------------------------------------------

    async def _start_turn(
        self, session: AsyncSession, inbound: Inbound, identity: Identity,
        conversation: Conversation | None,
    ) -> _Turn:
        now = self._clock()
        events: list[DomainEvent] = []
        assert identity.id is not None
        if conversation is None:
            # Decision: a message after resolution always opens a new conversation; a
            # "reopen" is then visible to the FCR report as a follow-up conversation.
            conversation = Conversation(
                customer_id=identity.customer_id,
                identity_id=identity.id,
                channel=inbound.channel,
                locale=inbound.locale or self._default_locale,
                locale_explicit=inbound.locale is not None,
                opened_at=now,
                returning_of=await self._earlier_case(session, inbound, identity, now),
            )
            session.add(conversation)
            await session.flush()
            events.append(self._event(ConversationOpened, conversation))
        elif inbound.locale is not None and not conversation.locale_explicit:
            conversation.locale = inbound.locale
            conversation.locale_explicit = True
        # A link code is Latin letters whatever language the customer speaks.
        if inbound.text and not conversation.locale_explicit and not parse_code(inbound.text):
            detected = detect_locale(inbound.text)
            if detected is not None:
                conversation.locale = detected
        return _Turn(session, identity, conversation, inbound, events=events)

    async def _survey_turn(
        self, session: AsyncSession, inbound: Inbound, identity: Identity,
        open_conversation: Conversation | None,
    ) -> _Turn | None:
        """A survey answer or comment, stored and answered in the surveyed conversation;
        None when the inbound is anything else. ``open_conversation``: the identity's
        open conversation, if any."""
        hook = self._surveys
        if hook is None or (inbound.postback is None and inbound.text is None):
            return None
        now = self._clock()
        replies: SurveyReplies | None = None
        if inbound.postback is not None:
            replies = await hook.answer(session, identity, inbound.postback, now)
        elif inbound.text is not None:
            survey_id = await hook.awaiting_comment(session, identity, now)
            if survey_id is None:
                return None
            if open_conversation is not None or await self._is_new_request(inbound.text):
                # The rule: the next text after the follow-up question is the comment
                # unless it is plainly a new request; then it is handled as one.
                await hook.drop_comment(session, survey_id)
                return None
            replies = await hook.take_comment(session, survey_id, inbound.text, now)
        if replies is None:
            return None
        conversation = await session.get(Conversation, replies.conversation_id)
        assert conversation is not None
        turn = _Turn(session, identity, conversation, inbound, outcome=TurnOutcome.SURVEY)
        turn.customer_message = await self._store_customer_message(turn)
        for text in replies.texts:
            await self._reply(turn, text)
        return turn

    async def _is_new_request(self, text: str) -> bool:
        """Text that must not be swallowed as a survey comment (besides a message of an
        open conversation): a link code, a request for a person, or a question the FAQ
        answers."""
        if parse_code(text) is not None or detect_intent(text) is Intent.HUMAN:
            return True
        matches = await self._search(text, self._default_locale)
        return decide(matches, self._thresholds).decision is Decision.ANSWER

    async def _store_customer_message(self, turn: _Turn) -> TurnMessage:
        inbound = turn.inbound
        text = inbound.text
        if inbound.postback is not None:
            text = await self._button_label(turn, inbound.postback)
        elif inbound.media is not None:
            text = f"[{inbound.media}]"
        elif inbound.follow:
            text = "[follow]"
        assert text is not None and turn.conversation.id is not None
        return TurnMessage(
            **message_row(
                turn.conversation.id, Role.CUSTOMER, text, self._clock(), postback=inbound.postback
            )
        )

    async def _decide(self, turn: _Turn) -> None:
        status = turn.conversation.status
        inbound = turn.inbound
        if inbound.follow:
            turn.outcome = TurnOutcome.FOLLOW
            await self._greet_follower(turn)
            return
        if inbound.text is not None and (code := parse_code(inbound.text)) is not None:
            turn.outcome = TurnOutcome.LINK
            await self._link(turn, code)
            return
        returning = self._returning_postback(inbound.postback)
        if returning is not None:
            # Asked at the handoff itself, so most answers come while the case waits: the
            # agents get the tap ("yes, the same matter") in the case's thread too.
            if status in (ConversationStatus.WAITING, ConversationStatus.AGENT):
                await self._pass_to_agents(turn)
            await self._returning_answer(turn, returning)
            return
        if status in (ConversationStatus.WAITING, ConversationStatus.AGENT):
            turn.outcome = TurnOutcome.DURING_HANDOFF
            await self._during_handoff(turn)
            return
        if inbound.media is not None:
            turn.outcome = TurnOutcome.UNSUPPORTED
            await self._say(turn, "text_only")
            return
        if inbound.postback is not None:
            # Stays UNKNOWN_BUTTON unless the button leads to one of the outcomes below.
            await self._on_postback(turn, inbound.postback)
            return
        assert inbound.text is not None
        intent = detect_intent(inbound.text)
        if intent is Intent.HUMAN:
            await self._hand_off(turn, HandoffReason.CUSTOMER_REQUEST, "handoff_requested")
        elif intent is Intent.SOLVED:
            await self._resolve(turn, await self._resolution_for(turn), "resolved_by_customer")
        elif intent is Intent.THANKS:
            turn.outcome = TurnOutcome.SMALL_TALK
            await self._say(turn, "thanks_reply")
        elif intent is Intent.GREETING:
            turn.outcome = TurnOutcome.SMALL_TALK
            await self._say(turn, "greeting")
        else:
            await self._answer_from_faq(turn, inbound.text)

    async def _during_handoff(self, turn: _Turn) -> None:
        # The agent sees the message; tell the customer once that it reached the queue.
        conversation = turn.conversation
        assert conversation.id is not None
        await self._pass_to_agents(turn)
        last_bot = await self._last_bot_message(turn.session, conversation.id)
        if conversation.status == ConversationStatus.WAITING and (
            last_bot is not None and last_bot.decision == Decision.HANDOFF
        ):
            await self._say(turn, "already_queued", decision="queued")

    async def _pass_to_agents(self, turn: _Turn) -> None:
        """The customer's message goes to the case's agents (its Slack thread)."""
        assert turn.customer_message is not None
        # the event names the customer's message by its id
        await write_messages(turn.session, [turn.customer_message])
        turn.events.append(
            self._event(
                CustomerMessageDuringHandoff, turn.conversation,
                message_id=turn.customer_message.id,
            )
        )  # fmt: skip

    async def _answer_from_faq(self, turn: _Turn, text: str) -> None:
        early = turn.early_search
        if early is not None and early[0] == text:
            matches = early[1]
        else:
            matches = await self._search(text, turn.conversation.locale)
        outcome = decide(matches, self._thresholds)
        # Marks the message as an FAQ question (see _last_question).
        assert turn.customer_message is not None
        turn.customer_message.decision = outcome.decision
        if outcome.decision is Decision.ANSWER:
            await self._give_answer(turn, outcome.matches[0].entry, outcome.matches[0].score)
        elif outcome.decision is Decision.SUGGEST:
            await self._offer(turn, "suggest_intro", outcome.matches, Decision.SUGGEST)
        else:
            await self._log_unanswered(turn, turn.customer_message, HandoffReason.NO_MATCH, matches)
            await self._hand_off(turn, HandoffReason.NO_MATCH, "handoff_no_match")

    async def _on_postback(self, turn: _Turn, data: str) -> None:
        postback = parse_postback(data)
        if postback is None:
            await self._say(turn, "unknown_button")
            return
        if postback.kind is PostbackKind.HUMAN:
            await self._hand_off(turn, HandoffReason.CUSTOMER_REQUEST, "handoff_requested")
        elif postback.kind is PostbackKind.NONE_OF_THESE:
            await self._hand_off(turn, HandoffReason.NO_MATCH, "handoff_no_match")
        elif postback.kind is PostbackKind.HELPFUL:
            await self._resolve(turn, Resolution.SELF, "glad_it_helped")
        elif postback.kind is PostbackKind.NOT_HELPFUL:
            await self._not_helpful(turn, postback)
        elif postback.kind is PostbackKind.CATEGORY:
            await self._show_category(turn, postback.entry_id or "")
        else:
            entry = self._entry(postback.entry_id)
            if entry is None:
                await self._say(turn, "unknown_button")
            else:
                await self._give_answer(turn, entry, score=None)

    async def _earlier_case(
        self, session: AsyncSession, inbound: Inbound, identity: Identity, now: datetime
    ) -> int | None:
        """The case a conversation this inbound opens may follow up (bot.returning)."""
        if self._returning is None or inbound.text is None or parse_code(inbound.text):
            return None
        return await self._returning.earlier_case(session, identity.customer_id, now)

    async def _ask_if_returning(self, turn: _Turn) -> None:
        """Ask a returning customer about their earlier case, at the end of the first
        reply without buttons of its own (see bot.returning for why)."""
        if self._returning is None or not turn.replies or turn.replies[-1].buttons:
            return
        if turn.conversation.status == ConversationStatus.RESOLVED:
            return
        # After a handoff the notice that follows asks instead (handoff.notices): asked
        # here, its quick reply would be hidden on LINE by the notice after it.
        if turn.outcome in (TurnOutcome.LINK, TurnOutcome.RETURNING, TurnOutcome.HANDOFF):
            return
        # whether there is anything to ask, and whether it was asked, is the prompt's say
        prompt = await self._returning.prompt(turn.session, turn.conversation, self._clock())
        if prompt is not None:
            await self._reply(turn, prompt.text, buttons=prompt.buttons)

    @staticmethod
    def _returning_postback(data: str | None) -> Postback | None:
        postback = parse_postback(data) if data is not None else None
        if postback is None or postback.kind not in (
            PostbackKind.RETURNING_YES, PostbackKind.RETURNING_NO,
        ):  # fmt: skip
            return None
        return postback

    async def _returning_answer(self, turn: _Turn, postback: Postback) -> None:
        key = None if self._returning is None else self._returning.answer(
            turn.conversation, postback
        )
        if key is None:
            await self._say(turn, "unknown_button")
            return
        turn.outcome = TurnOutcome.RETURNING
        await self._say(turn, key)

    async def _not_helpful(self, turn: _Turn, postback: Postback) -> None:
        conversation = turn.conversation
        conversation.not_helpful_count += 1
        if conversation.not_helpful_count >= NOT_HELPFUL_LIMIT:
            await self._hand_off(turn, HandoffReason.NOT_HELPFUL, "handoff_not_helpful")
            return
        question = await self._last_question(turn)
        tried = await self._answered_entries(turn)
        alternatives: list[Match] = []
        if question is not None:
            matches = await self._search(question.text, conversation.locale)
            await self._log_unanswered(turn, question, HandoffReason.NOT_HELPFUL, matches)
            alternatives = [
                m
                for m in matches
                if m.entry.id not in tried and m.score >= self._thresholds.suggest
            ][: self._thresholds.max_choices]
        if not alternatives:
            await self._hand_off(turn, HandoffReason.NOT_HELPFUL, "handoff_not_helpful")
            return
        await self._offer(turn, "alternatives_intro", alternatives, Decision.SUGGEST)

    async def _greet_follower(self, turn: _Turn) -> None:
        """A new (or returning) follower: a greeting with the FAQ's main categories."""
        locale = turn.conversation.locale
        buttons = [
            Button(category, Postback(PostbackKind.CATEGORY, category).encode())
            for category in self._top_categories(locale)
        ]
        buttons.append(Button(self._texts.get("talk_to_person", locale), PostbackKind.HUMAN))
        await self._reply(turn, self._texts.get("follow_greeting", locale), buttons=tuple(buttons))

    def _top_categories(self, locale: str) -> list[str]:
        """Categories of the locale's entries, largest first, as many as fit as choices."""
        entries = self._faq.matcher.entries
        counts = Counter(e.category for e in entries if e.locale == locale)
        if not counts:
            counts = Counter(e.category for e in entries)
        return [category for category, _ in counts.most_common(MAX_BUTTONS - 1)]

    async def _show_category(self, turn: _Turn, category: str) -> None:
        locale = turn.conversation.locale
        entries = [e for e in self._faq.matcher.entries if e.category == category]
        in_locale = [e for e in entries if e.locale == locale] or entries
        if not in_locale:
            await self._say(turn, "unknown_button")
            return
        buttons = [
            Button(e.question, Postback(PostbackKind.SHOW_ENTRY, e.id).encode())
            for e in in_locale[: MAX_BUTTONS - 1]
        ]
        buttons.append(Button(self._texts.get("talk_to_person", locale), PostbackKind.HUMAN))
        turn.outcome = TurnOutcome.MENU
        await self._reply(turn, self._texts.get("category_intro", locale), buttons=tuple(buttons))

    async def _link(self, turn: _Turn, code: str) -> None:
        customer_id = await redeem_code(turn.session, code, turn.identity, self._clock())
        if customer_id is None:
            await self._say(turn, "link_code_invalid")
            return
        turn.conversation.customer_id = customer_id
        await self._say(turn, "linked")

    # -- outcomes ---------------------------------------------------------------------

    async def _give_answer(self, turn: _Turn, entry: FaqEntry, score: float | None) -> None:
        locale = turn.conversation.locale
        turn.outcome = TurnOutcome.ANSWER
        await self._reply(
            turn, entry.answer.strip(), faq_entry_id=entry.id, faq_score=score,
            decision=Decision.ANSWER,
        )  # fmt: skip
        yes = Postback(PostbackKind.HELPFUL, entry.id).encode()
        no = Postback(PostbackKind.NOT_HELPFUL, entry.id).encode()
        await self._reply(
            turn,
            self._texts.get("did_it_help", locale),
            buttons=(
                Button(self._texts.get("helpful_yes", locale), yes),
                Button(self._texts.get("helpful_no", locale), no),
            ),
        )
        turn.events.append(
            self._event(FaqAnswered, turn.conversation, entry_id=entry.id, score=score or 1.0)
        )

    async def _offer(
        self, turn: _Turn, intro_key: str, matches: Sequence[Match], decision: str
    ) -> None:
        locale = turn.conversation.locale
        turn.outcome = TurnOutcome.SUGGEST
        buttons = [
            Button(m.entry.question, Postback(PostbackKind.SHOW_ENTRY, m.entry.id).encode())
            for m in matches
        ]
        buttons.append(Button(self._texts.get("talk_to_person", locale), PostbackKind.HUMAN))
        await self._reply(
            turn,
            self._texts.get(intro_key, locale),
            buttons=tuple(buttons),
            faq_entry_id=matches[0].entry.id,
            faq_score=matches[0].score,
            decision=decision,
        )

    async def _hand_off(self, turn: _Turn, reason: HandoffReason, text_key: str) -> None:
        conversation = turn.conversation
        assert conversation.id is not None
        turn.outcome = TurnOutcome.HANDOFF
        question = await self._last_question(turn)
        if question is not None:
            await self._log_unanswered(turn, question, reason)
        now = self._clock()
        handoff = Handoff(conversation_id=conversation.id, reason=reason, requested_at=now)
        turn.session.add(handoff)
        conversation.status = ConversationStatus.WAITING
        await turn.session.flush()
        assert handoff.id is not None
        await self._say(turn, text_key, decision=Decision.HANDOFF)
        turn.events.append(
            self._event(HandoffRequested, conversation, handoff_id=handoff.id, reason=reason)
        )

    async def _resolve(self, turn: _Turn, resolution: Resolution, text_key: str) -> None:
        conversation = turn.conversation
        turn.outcome = TurnOutcome.RESOLVED
        now = self._clock()
        conversation.status = ConversationStatus.RESOLVED
        conversation.resolution = resolution
        conversation.closed_at = now
        await self._say(turn, text_key, decision="resolved")
        turn.events.append(self._event(ConversationResolved, conversation, resolution=resolution))

    async def _resolution_for(self, turn: _Turn) -> Resolution:
        """SELF when the bot answered something in this conversation, else CUSTOMER."""
        return Resolution.SELF if await self._answered_entries(turn) else Resolution.CUSTOMER

    # -- helpers ----------------------------------------------------------------------

    async def _say(self, turn: _Turn, key: str, decision: str | None = None) -> None:
        await self._reply(turn, self._texts.get(key, turn.conversation.locale), decision=decision)

    async def _reply(
        self,
        turn: _Turn,
        text: str,
        *,
        buttons: tuple[Button, ...] = (),
        faq_entry_id: str | None = None,
        faq_score: float | None = None,
        decision: str | None = None,
    ) -> None:
        assert turn.conversation.id is not None
        row = message_row(
            turn.conversation.id, Role.BOT, text, self._clock(), buttons=buttons,
            faq_entry_id=faq_entry_id, faq_score=faq_score, decision=decision,
        )  # fmt: skip
        message = TurnMessage(**row)
        turn.replies.append(message)

    async def _queue_replies(self, turn: _Turn) -> None:
        """Write the turn's messages (one INSERT: the turn keeps them unwritten, so the
        decision set on the customer's message after it was made costs no UPDATE) and
        queue the replies for delivery (another)."""
        assert turn.customer_message is not None
        await write_messages(turn.session, [turn.customer_message, *turn.replies])
        await queue_replies(
            turn.session, turn.conversation.channel, turn.replies, self._clock(),
            turn.inbound.reply_token, turn.inbound.reply_deadline,
        )  # fmt: skip

    async def _early_search(self, inbound: Inbound) -> tuple[str, list[Match]] | None:
        """The FAQ search a plain question will need, run before the turn's transaction:
        the turn holds SQLite's one connection, and the search's trip to a worker thread
        is better made outside it. Only for text in a language of its own (whatever the
        conversation's locale, it searches the same half) that is no link code and no
        small talk; a turn that does not ask the FAQ after all has spent the search."""
        text = inbound.text
        if text is None or inbound.postback is not None or inbound.follow:
            return None
        if detect_locale(text) is None or parse_code(text) or detect_intent(text) is not None:
            return None
        return text, await self._search(text, self._default_locale)

    async def _search(self, text: str, conversation_locale: str) -> list[Match]:
        # The language of the text itself picks the FAQ half to search: a customer in a
        # Japanese session who types English still gets the English entries.
        locale = detect_locale(text) or conversation_locale
        matcher = self._faq.matcher
        return await self._searches.search(matcher, text, SEARCH_DEPTH, locale)

    def _entry(self, entry_id: str | None) -> FaqEntry | None:
        return next((e for e in self._faq.matcher.entries if e.id == entry_id), None)

    async def _button_label(self, turn: _Turn, postback: str) -> str:
        """The label of the button the customer tapped, for the transcript."""
        conversation_id = turn.conversation.id
        assert conversation_id is not None
        query = (
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.role == Role.BOT)
            .order_by(col(Message.id).desc())
            .limit(5)
        )
        for message in (await turn.session.exec(query)).all():
            for button in message.buttons:
                if button.get("postback") == postback:
                    return str(button.get("label"))
        return postback

    async def _last_question(self, turn: _Turn) -> TurnMessage | Message | None:
        """The customer's last message in this conversation that went to the FAQ matcher:
        this turn's own, else the newest written one."""
        own = turn.customer_message
        if own is not None and own.decision is not None:
            return own
        query = (
            select(Message)
            .where(
                Message.conversation_id == turn.conversation.id,
                Message.role == Role.CUSTOMER,
                col(Message.decision).is_not(None),
            )
            .order_by(col(Message.id).desc())
            .limit(1)
        )
        return (await turn.session.exec(query)).first()

    async def _log_unanswered(
        self,
        turn: _Turn,
        question: TurnMessage | Message,
        reason: str,
        matches: Sequence[Match] | None = None,
    ) -> None:
        """Record a question the FAQ did not settle, once per message, for admins."""
        assert turn.conversation.id is not None
        if question is turn.customer_message:
            # this turn's own message: only this turn can have recorded it (no query);
            # written now for its id
            if turn.unanswered_recorded:
                return
            turn.unanswered_recorded = True
            await write_messages(turn.session, [turn.customer_message])
        else:
            known = select(UnansweredQuestion.id).where(
                UnansweredQuestion.message_id == question.id
            )
            if (await turn.session.exec(known)).first() is not None:
                return
        assert question.id is not None
        if matches is None:
            matches = await self._search(question.text, turn.conversation.locale)
        turn.session.add(
            UnansweredQuestion(
                conversation_id=turn.conversation.id,
                message_id=question.id,
                text=question.text,
                locale=turn.conversation.locale,
                reason=reason,
                candidates=[
                    {"id": m.entry.id, "score": round(m.score, 4)}
                    for m in matches[:UNANSWERED_CANDIDATES]
                ],
                created_at=self._clock(),
            )
        )

    async def _answered_entries(self, turn: _Turn) -> set[str]:
        query = select(Message.faq_entry_id).where(
            Message.conversation_id == turn.conversation.id,
            Message.decision == Decision.ANSWER,
        )
        return {e for e in (await turn.session.exec(query)).all() if e}

    async def _last_bot_message(
        self, session: AsyncSession, conversation_id: int
    ) -> Message | None:
        query = (
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.role == Role.BOT)
            .order_by(col(Message.id).desc())
            .limit(1)
        )
        return (await session.exec(query)).first()

    def _event(
        self, event_type: type[EventT], conversation: Conversation, **fields: object
    ) -> EventT:
        assert conversation.id is not None
        return event_type(
            conversation_id=conversation.id,
            customer_id=conversation.customer_id,
            channel=conversation.channel,
            occurred_at=self._clock(),
            **fields,
        )
