"""Hypothesis strategies for what the outside world can send the server: odd text,
broken JSON, wrong content types, and LINE, Slack and web chat payloads whose every
field may be well-formed, missing or of the wrong type.

Well-formed values are drawn from what the server really issues (the bot's postbacks,
known Slack thread stamps and case numbers), so that generated requests get past the
first checks and reach the engine, the handoff service and the survey hook.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.fakes.clock import ManualClock
from tests.fuzz.live_app import LINE_SECRET, SLACK_CHANNEL, SLACK_SECRET

Json = Any

# Strings that have broken parsers before, or that the bot gives meaning to.
TRICKY_TEXTS = (
    "",
    " ",
    "\u3000",
    "\x00",
    "a\x00b",
    "\ufeff",
    "\u202eevil",
    "e\u0301\u0301\u0301",
    "👨‍👩‍👧‍👦",
    "ｵﾍﾟﾚｰﾀｰ",
    "パスワード忘れた",
    "パスワードを忘れた場合はどうすればいいですか？",
    "料金プランを教えてください",
    "オペレーターと話したい",
    "talk to a human",
    "I forgot my password",
    "解決しました",
    "it worked",
    "no",
    "K7P2-9QXM",
    "ｋ７ｐ２ー９ｑｘｍ",
    "note: internal",
    "<script>alert(1)</script>",
    "*bold* <@U123> <#C123|x> <https://x.test|x>",
    "' OR 1=1 --",
    "%s%s%n",
    "NaN",
    "null",
    "-0",
    "1e400",
    "9" * 40,
    "²",
    "١٢",
    "\ud800",
    "\udfff",
)

# Numbers that overflow 32- and 64-bit columns, or are not quite whole numbers.
TRICKY_NUMBERS = ("0", "-1", "1.5", "1e3", "2147483648", "9223372036854775808", "9" * 40,
                  "²", "١", "１", " 1", "0x10", "")  # fmt: skip

# Days at the edges of what `date` can hold, and days that do not exist.
TRICKY_DAYS = ("0001-01-01", "9999-12-31", "2026-02-30", "2026-13-01", "20261101",
               "2026-11-01T00:00", "２０２６-１１-０１", "")  # fmt: skip


def texts(max_size: int = 40) -> st.SearchStrategy[str]:
    """Odd and meaningful strings, including lone surrogates (sent as JSON escapes)."""
    return st.one_of(
        st.sampled_from(TRICKY_TEXTS),
        st.text(max_size=max_size),
        st.text(st.characters(categories=["Cs", "Co", "Cc", "Cf", "Zs", "Mn"]), max_size=8),
        st.builds(
            lambda c, n: c * n, st.sampled_from(["a", "あ", "😀", "\u0301"]), st.integers(100, 3000)
        ),
    )


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Json]:
    """Any JSON value Python's json module produces, NaN and huge numbers included."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([2**31, 2**63, -(2**63) - 1, 10**40]),
        st.floats(),
        texts(),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts(8), inner, max_size=3),
        max_leaves=max_leaves,
    )


def maybe(good: st.SearchStrategy[Json]) -> st.SearchStrategy[Json]:
    """Mostly a well-formed value, sometimes any JSON value in its place."""
    return st.one_of(good, good, good, json_values(4))


def json_bytes(value: Json, ascii_only: bool) -> bytes:
    if ascii_only:
        return json.dumps(value).encode()
    # Lone surrogates become bytes that are not UTF-8 at all.
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def json_bodies(values: st.SearchStrategy[Json]) -> st.SearchStrategy[bytes]:
    return st.builds(json_bytes, values, st.booleans())


def broken_json() -> st.SearchStrategy[bytes]:
    """Bodies a JSON parser chokes on: truncated, nested past the recursion limit,
    not UTF-8, or not JSON at all."""
    return st.one_of(
        st.sampled_from([
            b"{", b"[", b'{"text": ', b"{'text': 'x'}", b"\xff\xfe{}", b"\x00", b"{}}",
            b"NaN", b"Infinity", b'"\\ud800"', b'{"a": 1e99999}', b"\xef\xbb\xbf{}",
            b"[" * 60_000, b'{"a":' * 30_000, b"payload=%7B", b"payload=%7B%7D",
        ]),
        st.binary(max_size=64),
        st.builds(lambda n: b" " * n + b"{}", st.integers(0, 70_000)),
    )  # fmt: skip


CONTENT_TYPES = (
    None,
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "application/json; charset=no-such-charset",
    "text/plain",
    "text/html; charset=utf-16",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=no-such-charset",
    "multipart/form-data; boundary=zzz",
    "application/octet-stream",
    "*/*",
    "application/json, text/plain",
)


def content_types() -> st.SearchStrategy[str | None]:
    return st.sampled_from(CONTENT_TYPES)


def bodies() -> st.SearchStrategy[bytes]:
    """Any body: valid JSON of any shape, broken JSON, forms, bytes."""
    forms = st.dictionaries(texts(10), texts(), max_size=4).map(
        lambda d: urllib.parse.urlencode(d, errors="surrogatepass").encode()
    )
    return st.one_of(json_bodies(json_values()), broken_json(), forms)


def query_strings(names: Sequence[str]) -> st.SearchStrategy[str]:
    """`?name=value&...` with odd values, repeated names and raw percent-escapes."""
    # Long, but inside aiohttp's 8190-byte request line: a longer one is refused (400)
    # by aiohttp's parser before the app sees it, and logged there as an error.
    value = st.one_of(
        st.sampled_from(TRICKY_NUMBERS + TRICKY_DAYS + TRICKY_TEXTS),
        st.text(max_size=20),
        st.integers(1, 2000).map(lambda n: "9" * n),
    )
    pair = st.tuples(st.sampled_from([*names, "x"]), value).map(
        lambda kv: f"{kv[0]}={urllib.parse.quote(kv[1], errors='surrogatepass')}"
    )
    raw = st.sampled_from(["%", "%zz", "%ff%fe", "&&", "=", "a=%00", "a=%ED%A0%80"])
    return st.lists(st.one_of(pair, pair, raw), max_size=4).map(
        lambda parts: "?" + "&".join(parts) if parts else ""
    )


# -- the bot's own postbacks ----------------------------------------------------------

FAQ_IDS = ("password-reset", "plan-pricing", "cancel-subscription", "export-notes-en", "nope")


def postbacks() -> st.SearchStrategy[str]:
    number = st.one_of(st.integers(0, 30).map(str), st.sampled_from(TRICKY_NUMBERS))
    return st.one_of(
        st.sampled_from(["human", "none", "cat:料金", "cat:", "faq:", "survey:", "survey::"]),
        st.builds(
            lambda k, i: f"{k}:{i}",
            st.sampled_from(["faq", "helpful:yes", "helpful:no"]),
            st.sampled_from(FAQ_IDS),
        ),
        st.builds(lambda s, n: f"survey:{s}:{n}", number, number),
        texts(),
    )


def customer_texts() -> st.SearchStrategy[str]:
    """What customers write: the FAQ's questions, requests for a person, thanks; and odd
    strings."""
    meaningful = st.sampled_from(TRICKY_TEXTS[9:22])
    return st.one_of(meaningful, meaningful, texts())


# -- LINE -----------------------------------------------------------------------------


def line_signature(body: bytes, secret: str = LINE_SECRET) -> str:
    """What LINE sends in X-Line-Signature: base64 HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


LINE_USERS = ("U0000000000000000000000000000001", "U0000000000000000000000000000002", "Uother")


def broken(valid: st.SearchStrategy[dict[str, Json]]) -> st.SearchStrategy[dict[str, Json]]:
    """A well-formed payload with one field, or one field of a field, dropped or given
    a value of any type."""

    @st.composite
    def one_field_broken(draw: st.DrawFn) -> dict[str, Json]:
        payload = draw(valid)
        target = payload
        nested = [k for k, v in payload.items() if isinstance(v, dict)]
        descend: bool = draw(st.booleans())
        if nested and descend:
            inner: str = draw(st.sampled_from(nested))
            target = payload[inner] = dict(payload[inner])
        key: str = draw(st.sampled_from([*sorted(target), "extra"]))
        if draw(st.integers(0, 3)) == 0:
            target.pop(key, None)
        else:
            target[key] = draw(json_values(4))
        return payload

    return one_field_broken()


def line_events(now_ms: int) -> st.SearchStrategy[dict[str, Json]]:
    """One webhook event as LINE sends it, half of the time with one field broken."""
    timestamp = st.one_of(
        st.integers(now_ms - 120_000, now_ms),
        st.sampled_from([0, -1, 2**53, 10**20, -(10**20)]),
    )
    common = {
        "webhookEventId": st.one_of(
            st.uuids().map(lambda u: f"01{u.hex.upper()}"),
            st.sampled_from(["01REPEATED0000000000000001", "01REPEATED0000000000000002"]),
        ),
        "timestamp": timestamp,
        "mode": st.sampled_from(["active", "standby"]),
        "source": st.one_of(
            st.fixed_dictionaries({"type": st.just("user"), "userId": st.sampled_from(LINE_USERS)}),
            st.fixed_dictionaries({"type": st.just("group"), "groupId": st.just("Cgroup")}),
        ),
        "deliveryContext": st.fixed_dictionaries({"isRedelivery": st.booleans()}),
        "replyToken": st.text(max_size=10),
    }
    text = st.fixed_dictionaries(
        {
            "id": st.just("1"),
            "type": st.just("text"),
            "text": customer_texts(),
            "quoteToken": st.just("q"),
        }
    )
    other = st.fixed_dictionaries(
        {"id": st.just("2"), "type": st.sampled_from(["sticker", "image", "video", "location"])}
    )
    valid = st.one_of(
        st.fixed_dictionaries({**common, "type": st.just("message"), "message": text}),
        st.fixed_dictionaries({**common, "type": st.just("message"), "message": other}),
        st.fixed_dictionaries(
            {
                **common,
                "type": st.just("postback"),
                "postback": st.fixed_dictionaries({"data": postbacks()}),
            }
        ),
        st.fixed_dictionaries(
            {
                **common,
                "type": st.just("follow"),
                "follow": st.fixed_dictionaries({"isUnblocked": st.booleans()}),
            }
        ),
        st.fixed_dictionaries({**common, "type": st.sampled_from(["unfollow", "join", "beacon"])}),
    )
    return st.one_of(valid, broken(valid))


def line_bodies(now_ms: int) -> st.SearchStrategy[bytes]:
    envelope = st.fixed_dictionaries(
        {"destination": st.just("Ubot"), "events": st.lists(line_events(now_ms), max_size=4)}
    )
    valid = json_bodies(envelope)
    # Any other body is the garbage test's business.
    return st.one_of(valid, valid, valid, valid, json_bodies(broken(envelope)))


@dataclass(frozen=True)
class Signing:
    """How a webhook request is signed: rightly, wrongly, or not at all."""

    how: str  # "right" | "wrong" | "missing" | "stale" | "garbage-timestamp"


def signings() -> st.SearchStrategy[Signing]:
    return st.sampled_from(
        [Signing("right")] * 12
        + [Signing("wrong"), Signing("missing"), Signing("stale"), Signing("garbage-timestamp")]
    )


def line_headers(body: bytes, signing: Signing) -> dict[str, str]:
    if signing.how == "right":
        return {"X-Line-Signature": line_signature(body)}
    if signing.how == "missing":
        return {}
    return {"X-Line-Signature": line_signature(body, "not-the-channel-secret")}


# -- Slack ----------------------------------------------------------------------------


def slack_signature(timestamp: str, body: bytes, secret: str = SLACK_SECRET) -> str:
    """What Slack sends in X-Slack-Signature: v0= + hex HMAC-SHA256 of v0:{ts}:{body}."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_headers(body: bytes, signing: Signing) -> dict[str, str]:
    # The app checks the timestamp's age against its own clock, and the live app's
    # ManualClock stands still at its start.
    at = int(ManualClock()().timestamp())
    now = str(at)
    if signing.how == "right":
        return {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": slack_signature(now, body)}
    if signing.how == "missing":
        return {}
    if signing.how == "stale":
        old = str(at - 3600)
        return {"X-Slack-Request-Timestamp": old, "X-Slack-Signature": slack_signature(old, body)}
    if signing.how == "garbage-timestamp":
        return {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}
    return {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": slack_signature(now, b"x")}


@dataclass(frozen=True)
class SlackKnown:
    """Stamps and numbers of the cases the app really has, so requests can hit them."""

    thread_ts: tuple[str, ...]
    cases: tuple[int, ...]


AGENTS = ("UALICE", "UBOB", "UBOT")


def slack_event_bodies(known: SlackKnown) -> st.SearchStrategy[bytes]:
    thread = st.one_of(st.sampled_from(known.thread_ts or ("1.0",)), st.text(max_size=12))
    event = st.fixed_dictionaries(
        {"type": maybe(st.sampled_from(["message", "app_mention", "reaction_added"]))},
        optional={
            "subtype": maybe(st.sampled_from(["thread_broadcast", "bot_message",
                                              "message_changed", "file_share"])),
            "channel": maybe(st.sampled_from([SLACK_CHANNEL, "C0OTHER000"])),
            "user": maybe(st.sampled_from(AGENTS)),
            "text": maybe(customer_texts()),
            "ts": maybe(st.integers(1, 10**6).map(lambda n: f"1790001000.{n:06d}")),
            "thread_ts": maybe(thread),
            "bot_id": st.just("B0OTHER"),
        },
    )  # fmt: skip
    callback = st.fixed_dictionaries(
        {"type": maybe(st.just("event_callback")), "event": maybe(event)},
        optional={
            "team_id": st.just("T1"),
            "api_app_id": st.just("A0HELPDESK"),
            "event_id": maybe(st.one_of(st.uuids().map(lambda u: f"Ev{u.hex[:10]}"),
                                        st.just("EvREPEATED"))),
            "event_time": maybe(st.integers(0, 2**40)),
            "authorizations": st.just([{"team_id": "T1", "user_id": "UBOT", "is_bot": True}]),
        },
    )  # fmt: skip
    verification = st.fixed_dictionaries(
        {"type": st.just("url_verification"), "challenge": maybe(texts())},
        optional={"token": st.just("verification-token")},
    )
    return json_bodies(st.one_of(callback, callback, verification))


def slack_action_bodies(known: SlackKnown) -> st.SearchStrategy[bytes]:
    value = st.one_of(
        st.sampled_from(known.cases or (1,)).map(str),
        st.sampled_from(TRICKY_NUMBERS),
        json_values(2),
    )
    action = st.fixed_dictionaries(
        {"action_id": maybe(st.sampled_from(["helpdesk_claim", "helpdesk_resolve",
                                             "helpdesk_transcript", "other_button"])),
         "value": value},
        optional={"block_id": st.just("helpdesk_actions"), "type": st.just("button")},
    )  # fmt: skip
    user = st.fixed_dictionaries(
        {"id": maybe(st.sampled_from(AGENTS))},
        optional={"name": maybe(texts(10)), "username": maybe(texts(10))},
    )
    payload = st.fixed_dictionaries(
        {"type": maybe(st.sampled_from(["block_actions", "view_submission", "shortcut"])),
         "actions": maybe(st.lists(action, min_size=1, max_size=2))},
        optional={
            "user": maybe(user),
            "team": st.just({"id": "T1"}),
            "api_app_id": st.just("A0HELPDESK"),
            "channel": maybe(st.fixed_dictionaries({"id": st.just(SLACK_CHANNEL)})),
            "container": maybe(st.fixed_dictionaries(
                {"channel_id": st.just(SLACK_CHANNEL),
                 "message_ts": st.sampled_from(known.thread_ts or ("1.0",))})),
            "trigger_id": st.just("123.456.abc"),
        },
    )  # fmt: skip
    as_form = st.builds(
        lambda p, ascii_only: urllib.parse.urlencode(
            {"payload": json_bytes(p, ascii_only)}
        ).encode(),
        payload,
        st.booleans(),
    )
    return as_form


def slack_command_bodies(known: SlackKnown) -> st.SearchStrategy[bytes]:
    case = st.one_of(st.sampled_from(known.cases or (1,)).map(str), st.sampled_from(TRICKY_NUMBERS))
    text = st.one_of(
        st.sampled_from(["queue", "stats", "resolve", "help", "", "QUEUE"]),
        case.map(lambda n: f"resolve #{n}"),
        case.map(lambda n: f"resolve {n}"),
        texts(),
    )
    fields = st.fixed_dictionaries(
        {"command": st.sampled_from(["/helpdesk", "/helpdesk", "/other"]), "text": text},
        optional={
            "user_id": st.sampled_from(AGENTS),
            "user_name": texts(10),
            "channel_id": st.sampled_from([SLACK_CHANNEL, "C0OTHER000", ""]),
            "team_id": st.just("T1"),
            "response_url": st.just("https://hooks.slack.test/commands/1"),
            "trigger_id": st.just("123.456.def"),
        },
    )
    return fields.map(lambda f: urllib.parse.urlencode(f, errors="surrogatepass").encode())


# -- web chat -------------------------------------------------------------------------


def chat_message_bodies() -> st.SearchStrategy[bytes]:
    """A text or a postback for the engine to work on (any other body is the garbage
    test's business)."""
    return json_bodies(
        st.one_of(
            st.fixed_dictionaries({"text": customer_texts()}),
            st.fixed_dictionaries({"postback": postbacks()}),
        )
    )


def chat_session_bodies(identity_hash: Any) -> st.SearchStrategy[bytes]:
    """`identity_hash(external_id)` signs as a site's backend would."""

    def with_hash(d: dict[str, Json], sign: bool) -> dict[str, Json]:
        if sign and isinstance(d.get("external_id"), str):
            external = d["external_id"]
            try:
                d = {**d, "identity_hash": identity_hash(external)}
            except UnicodeEncodeError:
                pass
        return d

    fields = st.fixed_dictionaries(
        {},
        optional={
            "locale": maybe(st.sampled_from(["ja", "en", "fr", ""])),
            "external_id": maybe(st.one_of(st.sampled_from(["user-1", "user-2"]), texts())),
            "identity_hash": maybe(st.text(max_size=64)),
        },
    )
    signed = st.builds(with_hash, fields, st.booleans())
    return st.one_of(json_bodies(signed), json_bodies(signed), bodies())
