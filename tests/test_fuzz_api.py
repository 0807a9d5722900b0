"""Property-based fuzzing of every endpoint in the OpenAPI document, on SQLite and
PostgreSQL, with LINE and Slack on (their APIs faked) and webhooks signed exactly as the
platforms sign them, most of the time.

Every request must get a response below 500 whose status the document lists (with a
body that matches its schema when it is JSON), and neither the request nor the
background work it causes (inbox, outbox, Slack outbox, waited for after each example)
may log an error or an exception. Runs are bounded and random, so each one searches
further; a failure prints what reproduces it (see FUZZ).
"""

from __future__ import annotations

import json
import operator
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from schemathesis import Case, GenerationMode
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation
from sqlmodel import select

from bot.models import Handoff, Survey, SurveyStatus
from bot.openapi import openapi_document
from bot.postbacks import encode_survey_answer
from bot.storable import text_problem
from channels.web.api import WS_MAX_MESSAGE_BYTES
from channels.web.sessions import identity_hash
from tests.conftest import Database
from tests.fuzz import strategies as fs
from tests.fuzz.live_app import ADMIN_TOKEN, CORS_ORIGIN, IDENTITY_SECRET, LiveApp
from tests.raw_http import Reply, request_bytes

# Examples per endpoint and per kind of request. An endpoint that takes nothing (a page,
# the health check) gets a few; the whole file stays well under two minutes on two cores.
EXAMPLES = 10
FEW = 2
# How many times the examples of an operation are drawn at most, for one to get through.
ROUNDS = 5

# Random: every run searches afresh. A failure is reported with its falsifying example
# and a @reproduce_failure blob (print_blob); `pytest --hypothesis-seed=N` draws a whole
# run's examples from one seed.
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    database=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
)
LONE_SURROGATE = text_problem("\ud800")
Operation = APIOperation[Any, Any, Any, Any]
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# Headers the client library owns; the rest of a generated request is sent as it is.
CLIENT_HEADERS = {"content-length", "user-agent", "accept-encoding", "connection",
                  "x-schemathesis-testcaseid"}  # fmt: skip


def document() -> dict[str, Any]:
    return openapi_document(line=True, slack=True, max_message_chars=2000)


class Conformance:
    """A response's status is one the document lists for the operation, and a JSON
    body matches the schema given for it."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._spec = spec

    def check(self, method: str, path: str, reply: Reply) -> None:
        responses = self._spec["paths"][path][method.lower()]["responses"]
        described = responses.get(str(reply.status))
        assert described is not None, (
            f"{method} {path} answered {reply.status}, which the document does not list: "
            f"{reply.body[:300]!r}"
        )
        content = described.get("content", {})
        if not content:
            return
        assert reply.content_type in content, (
            f"{method} {path} {reply.status} answered {reply.content_type}, documented "
            f"{sorted(content)}: {reply.body[:300]!r}"
        )
        if reply.content_type != "application/json":
            return
        schema = content["application/json"]["schema"]
        # The document's components ride along so that its $refs resolve.
        validator = Draft202012Validator({**schema, "components": self._spec["components"]})
        body = json.loads(reply.body)
        errors = sorted(validator.iter_errors(body), key=str)
        assert not errors, f"{method} {path} {reply.status}: {errors[0].message} in {body!r:.300}"


class Fuzzer:
    """Sends one generated request, then checks it and the work it caused."""

    def __init__(self, live: LiveApp) -> None:
        self.live = live
        self.spec = document()
        self.conformance = Conformance(self.spec)
        self.statuses: Counter[tuple[str, str, int]] = Counter()

    def exchange(
        self,
        method: str,
        path: str,
        query: str = "",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Reply:
        errors = self.live.errors
        before = len(errors.records)
        try:
            reply = self.live.send(method, path + query, headers or {}, body)
        except ValueError:
            reject()  # a header value no HTTP client can send
        self.statuses[(method, path, reply.status)] += 1
        what = f"{method} {path}{query[:200]} {(body or b'')[:300]!r}"
        assert reply.status < 500, f"{what} -> {reply.status} {reply.body[:300]!r}"
        self.conformance.check(method, path, reply)
        if method == "POST" and reply.status < 300:
            # It may have stored events or queued messages: let the app work them now,
            # so that an error they cause is pinned on this example.
            self.live.settle()
        assert len(errors.records) == before, f"{what} logged:\n{errors.describe(before)}"
        return reply

    def exchange_raw(self, method: str, path: str, request: bytes) -> Reply:
        """`exchange` for a request written byte for byte (header values that no client
        library sends)."""
        errors = self.live.errors
        before = len(errors.records)
        reply = self.live.send_raw(request)
        self.statuses[(method, path, reply.status)] += 1
        what = f"{request!r:.600}"
        assert reply.status < 500, f"{what} -> {reply.status} {reply.body[:300]!r}"
        self.conformance.check(method, path, reply)
        assert len(errors.records) == before, f"{what} logged:\n{errors.describe(before)}"
        return reply

    def finish(self) -> None:
        """Whatever the examples left queued is also worked without an error."""
        self.live.settle()
        assert not self.live.errors.records, self.live.errors.describe()

    def accepted(self, method: str, path: str) -> int:
        """How many requests to the operation were answered with a success: a run
        that only bounced off the first check has fuzzed nothing behind it."""
        return sum(n for (m, p, status), n in self.statuses.items()
                   if (m, p) == (method, path) and status < 300)  # fmt: skip


@pytest.fixture
def live(database: Database, faq_dir: Path) -> Iterator[LiveApp]:
    app = LiveApp({**database.env, "HELPDESK_FAQ_DIR": str(faq_dir)})
    with app.running():
        yield app


@pytest.fixture
def fuzzer(live: LiveApp) -> Fuzzer:
    return Fuzzer(live)


def new_chat_token(fuzzer: Fuzzer) -> str:
    reply = fuzzer.exchange("POST", "/api/chat/sessions", headers=JSON, body=b"{}")
    assert reply.status == 201
    return str(json.loads(reply.body)["token"])


def open_cases(fuzzer: Fuzzer) -> fs.SlackKnown:
    """Hand off a web and a LINE conversation, so Slack has case threads to hit."""
    token = new_chat_token(fuzzer)
    auth = {**JSON, "Authorization": f"Bearer {token}"}
    body = json.dumps({"text": "オペレーターと話したい"}).encode()
    assert fuzzer.exchange("POST", "/api/chat/messages", headers=auth, body=body).status == 200
    event = {
        "type": "message", "webhookEventId": "01SEEDEVENT", "replyToken": "seed",
        "source": {"type": "user", "userId": fs.LINE_USERS[0]},
        "timestamp": int(fuzzer.live.clock().timestamp() * 1000),
        "message": {"id": "1", "type": "text", "text": "talk to a human"},
    }  # fmt: skip
    body = json.dumps({"destination": "Ubot", "events": [event]}).encode()
    headers = {**JSON, **fs.line_headers(body, fs.Signing("right"))}
    assert fuzzer.exchange("POST", "/webhooks/line", headers=headers, body=body).status == 200

    async def cases(live: LiveApp) -> list[int]:
        async with live.services.sessions() as session:
            return list((await session.exec(select(Handoff.conversation_id))).all())

    known = fs.SlackKnown(
        tuple(str(c.ts) for c in fuzzer.live.slack_api.roots()),
        tuple(fuzzer.live.run(cases)),
    )
    assert len(known.thread_ts) == 2 and len(known.cases) == 2, known
    return known


# -- every operation, generated from the document -------------------------------------


def operations() -> list[Operation]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # schemathesis warns about what it will not test
        schema = schemathesis.openapi.from_dict(document())
        found: list[Operation] = []
        for result in schema.get_all_operations():
            if isinstance(result, Err):
                raise result.err()
            found.append(result.ok())
        return found


def case_strategy(operation: Operation) -> st.SearchStrategy[Case[Any]]:
    positive = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    # Without parameters, a body or credentials there is nothing to get wrong.
    if not takes_input(operation.definition.raw):
        return positive
    negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    return st.one_of(positive, negative)


def prepared(case: Case[Any], base_url: str) -> tuple[str, dict[str, str], bytes | None]:
    """The generated request as schemathesis would send it: path and query, headers
    and body bytes."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    try:
        request = requests.Request(**kwargs).prepare()
    except (ValueError, requests.RequestException):
        reject()  # a header value requests itself refuses to send
    headers = {
        k: v if isinstance(v, str) else v.decode("latin-1")
        for k, v in request.headers.items()
        if k.lower() not in CLIENT_HEADERS
    }
    body = request.body.encode() if isinstance(request.body, str) else request.body
    assert body is None or isinstance(body, bytes)
    return request.path_url, headers, body


def credentials(path: str, chat_token: str) -> str | None:
    # /metrics takes the admin token when no metrics token of its own is set.
    if path.startswith(("/api/handoffs", "/api/reports/", "/metrics")):
        return ADMIN_TOKEN
    # The WebSocket takes its token in a frame (test_websocket_frames), not in a request.
    if path in ("/api/chat/messages", "/api/chat/link-code"):
        return chat_token
    return None


def sign(path: str, headers: dict[str, str], body: bytes, signing: fs.Signing) -> None:
    for name in ("X-Line-Signature", "X-Slack-Signature", "X-Slack-Request-Timestamp"):
        headers.pop(name, None)
    if path == "/webhooks/line":
        headers.update(fs.line_headers(body, signing))
    elif path == "/slack/events":
        headers.update(fs.slack_headers(body, signing))


def takes_input(raw: dict[str, Any]) -> bool:
    """Whether an operation reads parameters, a body or credentials."""
    return bool(raw.get("parameters") or raw.get("requestBody") or raw.get("security"))


def fuzz_generated(fuzzer: Fuzzer, operation: Operation, chat_token: str) -> None:
    method, path = operation.method.upper(), operation.path
    examples = EXAMPLES if takes_input(operation.definition.raw) else FEW

    @settings(FUZZ, max_examples=examples)
    @given(case=case_strategy(operation), own_key=st.booleans(), signing=fs.signings())
    def one(case: Case[Any], own_key: bool, signing: fs.Signing) -> None:
        path_url, headers, body = prepared(case, fuzzer.live.base_url)
        key = credentials(path, chat_token)
        if own_key and key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if body is not None or path in ("/webhooks/line", "/slack/events"):
            sign(path, headers, body or b"", signing)
        path_only, _, query = path_url.partition("?")
        assert path_only == path
        fuzzer.exchange(method, path, "?" + query if query else "", headers, body)

    # Random draws may all bounce off the first checks (no key, a day out of range):
    # draw again, a bounded number of times, until one gets through.
    for _ in range(ROUNDS):
        one()
        if path == "/api/chat/ws" or fuzzer.accepted(method, path) > 0:
            return


@pytest.fixture(scope="module", autouse=True)
def generators_loaded() -> list[Operation]:
    """The document's operations, with schemathesis and hypothesis fully loaded before
    any app thread starts.

    Both import much of themselves on first use, and pytest rewrites their modules as
    they load (they are pytest plugins), with ast.parse. Doing that while the app's
    threads run has hit CPython 3.11's thread-unsafe AST recursion counter ("SystemError:
    AST constructor recursion depth mismatch", python/cpython#106905)."""
    found = operations()
    warm = st.one_of(
        *(case_strategy(operation) for operation in found),
        fs.line_bodies(0), fs.slack_event_bodies(fs.SlackKnown(("1.0",), (1,))),
        fs.slack_action_bodies(fs.SlackKnown(("1.0",), (1,))), fs.chat_message_bodies(),
        fs.bodies(), fs.query_strings(["after"]), header_values(),
    )  # fmt: skip

    @settings(FUZZ, max_examples=len(found) * 2)
    @given(value=warm)
    def draw(value: object) -> None:
        if isinstance(value, Case):
            value.as_transport_kwargs(base_url="http://127.0.0.1")

    draw()
    return found


def test_requests_generated_from_the_document(
    fuzzer: Fuzzer, generators_loaded: list[Operation]
) -> None:
    chat_token = new_chat_token(fuzzer)
    generated = generators_loaded
    for operation in generated:
        fuzz_generated(fuzzer, operation, chat_token)
    fuzzer.finish()
    for operation in generated:
        method, path = operation.method.upper(), operation.path
        # Only a WebSocket upgrade succeeds there, and these requests are plain GETs.
        if path != "/api/chat/ws":
            assert fuzzer.accepted(method, path) > 0, f"no {method} {path} got through"


# -- any body, any content type, any query, on every operation ------------------------


def fuzz_garbage(fuzzer: Fuzzer, method: str, path: str, chat_token: str) -> None:
    operation = fuzzer.spec["paths"][path][method.lower()]
    names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
    examples = EXAMPLES if method == "POST" else EXAMPLES // 2 if names else FEW

    @settings(FUZZ, max_examples=examples)
    @given(
        body=st.one_of(st.none(), fs.bodies()),
        content_type=fs.content_types(),
        query=fs.query_strings(names),
        own_key=st.booleans(),
        signing=fs.signings(),
    )
    def one(
        body: bytes | None,
        content_type: str | None,
        query: str,
        own_key: bool,
        signing: fs.Signing,
    ) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        key = credentials(path, chat_token)
        if own_key and key is not None:
            headers["Authorization"] = f"Bearer {key}"
        sign(path, headers, body or b"", signing)
        fuzzer.exchange(method, path, query, headers, body)

    one()


def test_garbage_bodies_content_types_and_queries_on_every_operation(fuzzer: Fuzzer) -> None:
    chat_token = new_chat_token(fuzzer)
    for path, item in fuzzer.spec["paths"].items():
        for method in item:
            fuzz_garbage(fuzzer, method.upper(), path, chat_token)
    fuzzer.finish()


# -- header values that are not UTF-8, on every operation that reads them -------------

# Examples per operation and header: enough for a value that only breaks one parser
# (say a bearer token with a byte from 0x80 on /metrics) to come up many times over.
RAW_EXAMPLES = 50
# Where each header is read: on every operation, on POSTs, on the widget API, or on one
# path. The names are lower case, as aiohttp matches them.
HEADER_PLACES: dict[str, str] = {
    "authorization": "*",
    "content-type": "POST",
    "origin": "/api/chat/",
    "x-forwarded-for": "/api/chat/",
    "accept": "/metrics",
    "x-line-signature": "/webhooks/line",
    "x-slack-signature": "/slack/events",
    "x-slack-request-timestamp": "/slack/events",
    "x-slack-retry-num": "/slack/events",
}
# Starts of values that get a header past its first check, so that what follows is
# parsed too (a request's own right value is one more start).
HEADER_PREFIXES: dict[str, tuple[bytes, ...]] = {
    "authorization": (b"Bearer ", b"bearer  ", b"Basic "),
    "content-type": (b"application/json; charset=", b"application/x-www-form-urlencoded; ",
                     b"multipart/form-data; boundary="),
    "origin": (b"https://", CORS_ORIGIN.encode()),
    "x-forwarded-for": (b"203.0.113.7, ", b"[2001:db8::1]:443, ", b"fe80::1%"),
    "accept": (b"application/openmetrics-text; version=", b"text/plain; q="),
    "x-slack-signature": (b"v0=",),
}  # fmt: skip
# Slack's signed event: an event_id, so that a retry of it is looked up.
SLACK_EVENT = json.dumps({
    "type": "event_callback", "event_id": "EvRAWHEADER", "team_id": "T1",
    "event": {"type": "message", "channel": "C0OTHER000", "user": "UALICE", "text": "hi",
              "ts": "1790001000.000001"},
}).encode()  # fmt: skip
RAW_BODIES = {
    "/webhooks/line": b'{"destination": "Ubot", "events": []}',
    "/slack/events": SLACK_EVENT,
}


def header_values(prefixes: tuple[bytes, ...] = ()) -> st.SearchStrategy[bytes]:
    """What HTTP allows in a header value: visible ASCII, spaces, tabs and any byte from
    0x80 (which aiohttp hands on decoded as UTF-8 with surrogate escapes), or UTF-8
    proper, often after one of `prefixes`."""
    allowed = st.one_of(st.integers(0x20, 0x7E), st.just(0x09), st.integers(0x80, 0xFF))
    raw = st.lists(allowed, max_size=40).map(bytes)
    # Any character but controls, which HTTP does not allow; surrogates go out as the
    # three bytes UTF-8 would give them, which no decoder accepts.
    visible = st.characters(exclude_categories=["Cc"])
    utf8 = st.text(visible, max_size=12).map(lambda t: t.encode("utf-8", "surrogatepass"))
    rest = st.one_of(raw, utf8)
    if not prefixes:
        return rest
    return st.builds(operator.add, st.sampled_from((b"", *prefixes)), rest)


@dataclass(frozen=True)
class RawTarget:
    """One header of one operation, and the rest of a request that gets through to where
    the header is read."""

    method: str
    path: str
    name: str
    target: str  # path and query
    headers: tuple[tuple[str, bytes], ...]
    body: bytes
    # A credential the operation cannot do without: a value that is not ASCII is a 401.
    guarded: bool

    @property
    def prefixes(self) -> tuple[bytes, ...]:
        own = tuple(value for name, value in self.headers if name == self.name)
        return own + HEADER_PREFIXES.get(self.name, ())

    def request(self, value: bytes, whole: bool) -> bytes:
        """The request with `value` in the header; `whole`: with the other headers and
        the body, else with that header alone."""
        others = [(n, v) for n, v in self.headers if n != self.name] if whole else []
        return request_bytes(
            self.method, self.target, [*others, (self.name, value)], self.body if whole else b""
        )


def raw_targets(spec: dict[str, Any], chat_token: str) -> list[RawTarget]:
    targets: list[RawTarget] = []
    for path, item in spec["paths"].items():
        for method in (m.upper() for m in item):
            headers: list[tuple[str, bytes]] = []
            target = path
            key = credentials(path, chat_token)
            if path == "/api/chat/ws":
                target = f"{path}?token={key}"
            elif key is not None:
                headers.append(("authorization", f"Bearer {key}".encode()))
            body = b""
            if method == "POST":
                body = RAW_BODIES.get(path, b"{}")
                headers.append(("content-type", b"application/json"))
                signed = {}
                if path == "/webhooks/line":
                    signed = fs.line_headers(body, fs.Signing("right"))
                elif path == "/slack/events":
                    signed = fs.slack_headers(body, fs.Signing("right"))
                headers += [(n.lower(), v.encode()) for n, v in signed.items()]
            for name, place in HEADER_PLACES.items():
                if place not in ("*", method) and not path.startswith(place):
                    continue
                guarded = name in {n for n, _ in headers} and name != "content-type"
                targets.append(RawTarget(method, path, name, target, tuple(headers), body, guarded))
    return targets


def fuzz_raw_header(fuzzer: Fuzzer, target: RawTarget) -> None:
    @settings(FUZZ, max_examples=RAW_EXAMPLES)
    @given(value=header_values(target.prefixes), whole=st.booleans())
    def one(value: bytes, whole: bool) -> None:
        reply = fuzzer.exchange_raw(target.method, target.path, target.request(value, whole))
        if target.guarded and not value.isascii():
            # Refused with a reason, as any wrong credential is.
            what = f"{target.method} {target.path} {target.name}: {value!r}"
            assert reply.status == 401, f"{what} -> {reply.status}"
            assert json.loads(reply.body)["error"], what

    one()


def test_header_values_that_are_not_utf8_on_every_operation(fuzzer: Fuzzer) -> None:
    targets = raw_targets(fuzzer.spec, new_chat_token(fuzzer))
    for target in targets:
        fuzz_raw_header(fuzzer, target)
    fuzzer.finish()
    read = {t.name for t in targets}
    assert read == set(HEADER_PLACES), set(HEADER_PLACES) - read
    # The signed requests got through: what was fuzzed was read past the signature.
    for method, path in (("POST", "/webhooks/line"), ("POST", "/slack/events")):
        assert fuzzer.accepted(method, path) > 0, f"no {method} {path} got through"


# -- the channels, with payloads shaped like the platforms' ----------------------------


def test_signed_line_webhooks(fuzzer: Fuzzer) -> None:
    now_ms = int(fuzzer.live.clock().timestamp() * 1000)

    @settings(FUZZ, max_examples=EXAMPLES * 4)
    @given(body=fs.line_bodies(now_ms), signing=fs.signings(), json_type=st.booleans())
    def one(body: bytes, signing: fs.Signing, json_type: bool) -> None:
        headers = {**(JSON if json_type else {}), **fs.line_headers(body, signing)}
        fuzzer.exchange("POST", "/webhooks/line", headers=headers, body=body)

    one()
    fuzzer.finish()
    assert fuzzer.accepted("POST", "/webhooks/line") >= EXAMPLES


def test_signed_slack_requests(fuzzer: Fuzzer) -> None:
    known = open_cases(fuzzer)
    kinds: list[tuple[dict[str, str], st.SearchStrategy[bytes]]] = [
        (JSON, fs.slack_event_bodies(known)),
        (FORM, fs.slack_action_bodies(known)),
        (FORM, fs.slack_command_bodies(known)),
    ]
    for content_type, bodies in kinds:
        fuzz_slack(fuzzer, content_type, bodies)
    fuzzer.finish()
    assert fuzzer.accepted("POST", "/slack/events") >= EXAMPLES


def fuzz_slack(
    fuzzer: Fuzzer, content_type: dict[str, str], bodies: st.SearchStrategy[bytes]
) -> None:
    @settings(FUZZ, max_examples=EXAMPLES * 2)
    @given(body=bodies, signing=fs.signings(), retry=st.sampled_from([None, "1", "x"]))
    def one(body: bytes, signing: fs.Signing, retry: str | None) -> None:
        headers = {**content_type, **fs.slack_headers(body, signing)}
        if retry is not None:
            headers["X-Slack-Retry-Num"] = retry
        fuzzer.exchange("POST", "/slack/events", headers=headers, body=body)

    one()


def test_websocket_frames(fuzzer: Fuzzer) -> None:
    token = new_chat_token(fuzzer)
    live = fuzzer.live
    frames = st.one_of(
        fs.json_bodies(fs.json_values()).map(lambda b: b.decode("utf-8", "replace")),
        fs.texts(),
        st.binary(max_size=64),
        st.builds(
            lambda n: "x" * n, st.integers(WS_MAX_MESSAGE_BYTES - 50, WS_MAX_MESSAGE_BYTES + 50)
        ),
    )

    @settings(FUZZ, max_examples=EXAMPLES * 2)
    @given(frame=frames, first=st.booleans())
    def one(frame: str | bytes, first: bool) -> None:
        before = len(live.errors.records)
        outcome = live.websocket(token, frame, first=first)
        raw = frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else frame
        # The server reads frames up to WS_MAX_MESSAGE_BYTES (1009 past that; exactly at
        # the limit depends on compression) and closes with 1007 on text that is not UTF-8.
        # In place of the auth frame, anything else closes with 4400 (4401 for an auth
        # frame with a made-up token).
        if len(raw) > WS_MAX_MESSAGE_BYTES:
            expected = {"closed 1009"}
        elif len(raw) == WS_MAX_MESSAGE_BYTES:
            expected = {"closed 1009", "pong"} if not first else {"closed 1009", "closed 4400"}
        elif isinstance(frame, str) and text_problem(frame) == LONE_SURROGATE:
            expected = {"closed 1007"}
        elif first:
            expected = {"closed 4400", "closed 4401"}
        else:
            expected = {"pong"}
        assert outcome in expected, (len(raw), frame[:100], first, outcome)
        assert len(live.errors.records) == before, live.errors.describe(before)

    one()
    fuzzer.finish()


class ChatSessions:
    """The web chat sessions the examples talk through; new ones join as created."""

    def __init__(self, fuzzer: Fuzzer) -> None:
        self.fuzzer = fuzzer
        self.tokens = [new_chat_token(fuzzer) for _ in range(3)]

    def resolve_by_the_faq(self) -> None:
        """An answered, resolved conversation: its survey falls due 10 minutes later."""
        auth = {**JSON, "Authorization": f"Bearer {self.tokens[0]}"}
        for text in ("パスワード忘れた", "解決しました"):
            body = json.dumps({"text": text}).encode()
            reply = self.fuzzer.exchange("POST", "/api/chat/messages", headers=auth, body=body)
            assert reply.status == 200

    def answer_sent_surveys(self) -> None:
        """Tap a score on every survey out, so the examples that follow run into the
        "anything to add?" comment step."""

        async def sent(live: LiveApp) -> list[int]:
            async with live.services.sessions() as session:
                query = select(Survey.id).where(Survey.status == SurveyStatus.SENT)
                return [i for i in (await session.exec(query)).all() if i is not None]

        auth = {**JSON, "Authorization": f"Bearer {self.tokens[0]}"}
        for survey_id in self.fuzzer.live.run(sent):
            body = json.dumps({"postback": encode_survey_answer(survey_id, 3)}).encode()
            reply = self.fuzzer.exchange("POST", "/api/chat/messages", headers=auth, body=body)
            assert reply.status == 200

    def pick(self, data: st.DataObject) -> str:
        # An index, not sampled_from(tokens): the list grows, and a strategy must not
        # depend on state.
        return self.tokens[data.draw(st.integers(0, 2**16), label="session") % len(self.tokens)]

    def fuzz(self) -> None:
        """Messages, history reads, new sessions and reports."""
        fuzzer = self.fuzzer

        def hashed(external_id: str) -> str:
            return identity_hash(IDENTITY_SECRET, external_id)

        def runs(examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
            return settings(FUZZ, max_examples=examples)

        @runs(EXAMPLES)
        @given(data=st.data(), body=fs.chat_message_bodies())
        def message(data: st.DataObject, body: bytes) -> None:
            auth = {**JSON, "Authorization": f"Bearer {self.pick(data)}"}
            fuzzer.exchange("POST", "/api/chat/messages", headers=auth, body=body)

        @runs(FEW)
        @given(data=st.data(), query=fs.query_strings(["after"]))
        def history(data: st.DataObject, query: str) -> None:
            auth = {"Authorization": f"Bearer {self.pick(data)}"}
            fuzzer.exchange("GET", "/api/chat/messages", query, headers=auth)

        @runs(FEW)
        @given(body=fs.chat_session_bodies(hashed))
        def session(body: bytes) -> None:
            reply = fuzzer.exchange("POST", "/api/chat/sessions", headers=JSON, body=body)
            if reply.status == 201:
                self.tokens.append(json.loads(reply.body)["token"])

        @runs(FEW)
        @given(
            path=st.sampled_from(
                ["/api/reports/summary", "/api/reports/daily", "/api/reports/conversations.csv"]
            ),
            query=fs.query_strings(["from", "to", "channel"]),
        )
        def report(path: str, query: str) -> None:
            auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            fuzzer.exchange("GET", path, query, headers=auth)

        for run in (message, history, session, report):
            run()


def test_web_chat_conversations(fuzzer: Fuzzer) -> None:
    open_cases(fuzzer)
    sessions = ChatSessions(fuzzer)
    sessions.resolve_by_the_faq()
    live = fuzzer.live

    async def tick_surveys(app: LiveApp) -> None:
        await app.services.surveys.tick()

    # Then surveys of resolved conversations fall due and are answered; then link codes,
    # reply tokens and the FCR window have run out.
    for minutes in (0, 11, 60 * 24 * 8):
        live.clock.advance(minutes=minutes)
        live.run(tick_surveys)
        live.settle()
        sessions.answer_sent_surveys()
        sessions.fuzz()
    fuzzer.finish()
    assert fuzzer.accepted("POST", "/api/chat/messages") >= EXAMPLES
