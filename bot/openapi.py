"""The OpenAPI 3.1 description of the server's HTTP API, served at `/api/openapi.json`.

The document is built from plain dicts when the app is created, for the channels that
app has on, so what it lists is what the router serves; `tests/bot/test_openapi.py`
walks the router and fails on any difference either way.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

OPENAPI_PATH = "/api/openapi.json"
API_VERSION = "0.1.0"
# The widget's postbacks are the bot's own button data; LINE caps postback data at 300.
MAX_POSTBACK_CHARS = 300
MAX_EXTERNAL_ID_CHARS = 200

Schema = dict[str, Any]


def openapi_document(
    *, line: bool, slack: bool, max_message_chars: int, server_url: str | None = None
) -> dict[str, Any]:
    """The description of every route an app with these channels registers."""
    paths: dict[str, Any] = {
        **_web_chat_paths(max_message_chars),
        **_admin_paths(),
        **_page_paths(),
        "/healthz": {"get": _health()},
        "/readyz": {"get": _ready()},
        "/metrics": {"get": _metrics()},
        OPENAPI_PATH: {"get": _spec()},
    }
    if line:
        paths["/webhooks/line"] = {"post": _line_webhook()}
    if slack:
        paths["/slack/events"] = {"post": _slack_events()}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "helpdesk",
            "version": API_VERSION,
            "description": (
                "Web chat API, admin and reports APIs (admin bearer token), the LINE and "
                'Slack webhooks, and the pages. Errors are JSON `{"error": reason}`.'
            ),
        },
        "paths": dict(sorted(_with_operational_errors(paths).items())),
        "components": {"schemas": _schemas(), "securitySchemes": _security_schemes()},
    }
    if server_url is not None:
        document["servers"] = [{"url": server_url}]
    return document


def register_openapi(router: web.UrlDispatcher, document: dict[str, Any]) -> None:
    """`GET /api/openapi.json`, open to anyone: the API is public, its keys are not."""

    async def spec(request: web.Request) -> web.Response:
        return web.json_response(document)

    router.add_get(OPENAPI_PATH, spec)


# -- building blocks ------------------------------------------------------------------

# Routes that answer without the database: no 503 from them.
_NO_DATABASE = ("/healthz", "/readyz", OPENAPI_PATH, "/", "/widget.js")


def _with_operational_errors(paths: dict[str, Any]) -> dict[str, Any]:
    """Add the answers any route may give whatever its input: 413 to a body over the
    limit (refused by its declared length before the route is reached), 429 from the
    widget API's rate limits, 503 while the database is unreachable (and, on the widget
    API, while the process is saturated: channels.web.admission)."""
    for path, operations in paths.items():
        for operation in operations.values():
            responses = operation["responses"]
            responses.setdefault("413", _errors(413)["413"])
            if path.startswith("/api/chat/"):
                responses.setdefault("429", _retry_later("Rate limited: retry after the wait"))
            if path.startswith("/api/chat/"):
                responses.setdefault(
                    "503", _retry_later("The database is unreachable, or the server is busy")
                )
            elif path not in _NO_DATABASE and not path.startswith("/dashboard"):
                responses.setdefault("503", _retry_later("The database is unreachable"))
    return paths


def _retry_later(description: str) -> dict[str, Any]:
    answer = _json(_ref("Error"), description)
    answer["headers"] = {
        "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
    }
    return answer


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Schema, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    reasons = {
        400: "Malformed request: the reason says what is wrong",
        401: "Missing or invalid credentials (for a chat token, `code` says whether it is "
        "`invalid_token` or `session_expired`)",
        403: "The API is turned off in the server's settings",
        413: "Request body or a field too large",
    }
    return {str(code): _json(_ref("Error"), reasons[code]) for code in codes}


def _text(media_type: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


def _query(name: str, schema: Schema, description: str, *, required: bool = False) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


def _header(name: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": description,
    }


# -- web chat -------------------------------------------------------------------------

_CHAT_AUTH: list[dict[str, list[str]]] = [{"chatToken": []}]


def _web_chat_paths(max_message_chars: int) -> dict[str, Any]:
    message_body = {
        "oneOf": [
            {
                "type": "object",
                "required": ["text"],
                "properties": {
                    "text": {"type": "string", "minLength": 1, "maxLength": max_message_chars}
                },
                "additionalProperties": False,
            },
            {
                "type": "object",
                "required": ["postback"],
                "properties": {
                    "postback": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": MAX_POSTBACK_CHARS,
                    }
                },
                "additionalProperties": False,
            },
        ]
    }
    return {
        "/api/chat/sessions": {
            "post": {
                "operationId": "createChatSession",
                "tags": ["web chat"],
                "summary": "Start a web chat session (optionally as a site's signed-in user)",
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _ref("ChatSessionRequest")}},
                },
                "responses": {
                    "201": _json(_ref("ChatSessionCreated"), "The session and its bearer token"),
                    **_errors(400, 401, 413),
                },
            }
        },
        "/api/chat/messages": {
            "post": {
                "operationId": "postChatMessage",
                "tags": ["web chat"],
                "summary": "Send a typed text or a button's postback; get the bot's replies",
                "security": _CHAT_AUTH,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": message_body}},
                },
                "responses": {
                    "200": _json(_ref("ChatExchange"), "The stored message and the replies"),
                    **_errors(400, 401, 413),
                },
            },
            "get": {
                "operationId": "getChatMessages",
                "tags": ["web chat"],
                "summary": "The session's history, oldest first",
                "security": _CHAT_AUTH,
                "parameters": [
                    _query(
                        "after",
                        {"type": "integer"},
                        "Only messages with a larger id than this one",
                    )
                ],
                "responses": {
                    "200": _json(_ref("MessageList"), "Messages after `after`"),
                    **_errors(400, 401),
                },
            },
        },
        "/api/chat/ws": {
            "get": {
                "operationId": "chatWebSocket",
                "tags": ["web chat"],
                "summary": "WebSocket of live messages (the token goes in the first frame)",
                "description": (
                    "The URL carries no token (URLs end up in logs). The client's first "
                    'frame must be `{"type": "auth", "token": TOKEN}` within '
                    "HELPDESK_WEBSOCKET_AUTH_SECONDS; the server answers "
                    '`{"type": "ready"}`, then pushes `{"type": "message", "message": '
                    'Message}` and answers `{"type": "ping"}` with `{"type": "pong"}`. '
                    "Otherwise it closes the socket: 4400 `auth_required` (the first frame "
                    "was not an auth frame), 4401 `invalid_token` or `session_expired`, "
                    "4408 `auth_timeout`, 1008 `too_many_websockets`. A request that is not "
                    'a WebSocket upgrade, or that has a `token` in its query (`"code": '
                    '"token_in_url"`), gets 400.'
                ),
                "responses": {
                    "101": {"description": "Switched to the WebSocket protocol"},
                    **_errors(400),
                },
            }
        },
        "/api/chat/link-code": {
            "post": {
                "operationId": "createLinkCode",
                "tags": ["web chat"],
                "summary": "A one-time code that joins another channel to this customer",
                "security": _CHAT_AUTH,
                "responses": {
                    "201": _json(_ref("LinkCode"), "The code and when it expires"),
                    **_errors(401),
                },
            }
        },
        "/api/chat/config": {
            "get": {
                "operationId": "getChatConfig",
                "tags": ["web chat"],
                "summary": "What the widget may offer",
                "responses": {"200": _json(_ref("ChatConfig"), "The widget's options")},
            }
        },
    }


# -- admin and reports ----------------------------------------------------------------

_ADMIN_AUTH: list[dict[str, list[str]]] = [{"adminToken": []}]


def _period_parameters() -> list[Schema]:
    day = {"type": "string", "format": "date"}
    return [
        _query("from", day, "First day (in HELPDESK_TIMEZONE); default 6 days before `to`"),
        _query("to", day, "Last day, included; default today"),
        _query("channel", {"type": "string"}, "Only this channel (web, line)"),
    ]


def _admin_paths() -> dict[str, Any]:
    def report(operation_id: str, summary: str, ok: dict[str, Any]) -> dict[str, Any]:
        return {
            "get": {
                "operationId": operation_id,
                "tags": ["reports"],
                "summary": summary,
                "security": _ADMIN_AUTH,
                "parameters": _period_parameters(),
                "responses": {"200": ok, **_errors(400, 401, 403)},
            }
        }

    return {
        "/api/handoffs": {
            "get": {
                "operationId": "listHandoffs",
                "tags": ["admin"],
                "summary": "Conversations waiting for a person, oldest first",
                "security": _ADMIN_AUTH,
                "responses": {
                    "200": _json(_ref("HandoffQueue"), "The queue"),
                    **_errors(401, 403),
                },
            }
        },
        "/api/reports/summary": report(
            "reportSummary",
            "The KPIs of a period",
            _json(
                {"allOf": [_ref("KpiReport"), _ref("CommentTerms")]},
                "The period's KPIs and what the survey comments say",
            ),
        ),
        "/api/reports/daily": report(
            "reportDaily",
            "The KPIs of each day of a period",
            _json(_ref("DailyReports"), "One report per day"),
        ),
        "/api/reports/conversations.csv": report(
            "reportConversationsCsv",
            "One CSV row per conversation opened in the period",
            _text("text/csv", "The conversations as CSV, with a header row"),
        ),
    }


# -- pages, health, this document -----------------------------------------------------


def _page_paths() -> dict[str, Any]:
    def page(operation_id: str, summary: str, media_type: str) -> dict[str, Any]:
        return {
            "get": {
                "operationId": operation_id,
                "tags": ["pages"],
                "summary": summary,
                "responses": {"200": _text(media_type, summary)},
            }
        }

    script = "application/javascript"
    return {
        "/": page("demoPage", "The demo page with the chat widget", "text/html"),
        "/widget.js": page("widgetScript", "The embeddable chat widget", script),
        "/dashboard": page(
            "dashboardPage", "The KPI dashboard (reads the reports API)", "text/html"
        ),
        "/dashboard.js": page("dashboardScript", "The dashboard's script", script),
    }


def _health() -> dict[str, Any]:
    return {
        "operationId": "health",
        "tags": ["operations"],
        "summary": "The process is up",
        "responses": {"200": _json(_ref("Health"), "Always ok while the process serves")},
    }


def _ready() -> dict[str, Any]:
    return {
        "operationId": "ready",
        "tags": ["operations"],
        "summary": "The database answers: send traffic here",
        "responses": {
            "200": _json(_ref("Ready"), "The database answered SELECT 1 in time"),
            "503": _json(_ref("NotReady"), "The database is unreachable or too slow"),
        },
    }


def _metrics() -> dict[str, Any]:
    return {
        "operationId": "metrics",
        "tags": ["operations"],
        "summary": "Prometheus metrics (text format, or OpenMetrics on request)",
        # Open when no metrics or admin token is set; else either token as a bearer.
        "security": [{"metricsToken": []}, {}],
        "responses": {
            "200": {
                "description": "The metrics exposition",
                "content": {
                    media_type: {"schema": {"type": "string"}}
                    for media_type in ("text/plain", "application/openmetrics-text")
                },
            },
            **_errors(400, 401),
        },
    }


def _spec() -> dict[str, Any]:
    return {
        "operationId": "openapi",
        "tags": ["operations"],
        "summary": "This document",
        "responses": {"200": _json({"type": "object"}, "The OpenAPI 3.1 description")},
    }


# -- webhooks -------------------------------------------------------------------------


def _line_webhook() -> dict[str, Any]:
    return {
        "operationId": "lineWebhook",
        "tags": ["webhooks"],
        "summary": "LINE Messaging API webhook: events are stored, then processed",
        "parameters": [
            _header(
                "X-Line-Signature",
                "base64 HMAC-SHA256 of the raw body with the channel secret",
            )
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("LineWebhookBody")}},
        },
        "responses": {
            "200": _json({"type": "object"}, "Every event stored (or already stored)"),
            **_errors(400, 413),
            "401": _json(_ref("Error"), "Missing or wrong X-Line-Signature"),
        },
    }


def _slack_events() -> dict[str, Any]:
    ok: dict[str, Any] = {
        "description": (
            "Handled: an empty body, the url_verification challenge, or the text a "
            "slash command answers with"
        ),
        "content": {
            "application/json": {
                "schema": {"anyOf": [_ref("SlackChallengeAnswer"), _ref("SlackCommandAnswer")]}
            },
            "text/plain": {"schema": {"type": "string"}},
        },
    }
    return {
        "operationId": "slackEvents",
        "tags": ["webhooks"],
        "summary": "Slack Events API, interactivity (buttons) and the /helpdesk command",
        "parameters": [
            _header("X-Slack-Signature", "v0= and hex HMAC-SHA256 of v0:{timestamp}:{body}"),
            _header("X-Slack-Request-Timestamp", "Unix seconds; older than 5 minutes is refused"),
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"oneOf": [_ref("SlackUrlVerification"), _ref("SlackEventCallback")]}
                },
                "application/x-www-form-urlencoded": {
                    "schema": {"oneOf": [_ref("SlackInteraction"), _ref("SlackSlashCommand")]}
                },
            },
        },
        "responses": {
            "200": ok,
            **_errors(400, 413),
            "401": _json(_ref("Error"), "Missing or wrong signature, or a stale timestamp"),
            "404": _json(_ref("Error"), "A request no listener handles (unknown action)"),
        },
    }


# -- schemas --------------------------------------------------------------------------


def _nullable(schema: Schema) -> Schema:
    return {**schema, "type": [schema["type"], "null"]}


def _object(properties: dict[str, Schema], required: list[str] | None = None) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def _schemas() -> dict[str, Schema]:
    string, integer, number = {"type": "string"}, {"type": "integer"}, {"type": "number"}
    rate = _nullable({"type": "number", "description": "Percent; null with nothing to divide"})
    seconds = _nullable(number)
    # CES on the 1-7 scale: the mean and the percent of 5-7 ("easy") answers.
    ces = {"mean": _nullable(number), "easy_rate": rate, "responses": integer}
    counted = {
        "type": "array",
        "items": _object({"id": string, "count": integer}),
    }
    return {
        "Error": _object(
            {
                "error": string,
                "code": {
                    "type": "string",
                    "description": "For clients to act on, where the reason alone would not "
                    "do: invalid_token, session_expired, token_in_url",
                },
            },
            required=["error"],
        ),
        "Health": _object({"status": {"type": "string", "const": "ok"}}),
        "Ready": _object({"status": {"type": "string", "const": "ready"}}),
        "NotReady": _object(
            {"status": {"type": "string", "const": "unavailable"}, "reason": {"type": "string"}}
        ),
        "ChatSessionRequest": _object(
            {
                "locale": {"type": "string", "enum": ["ja", "en"]},
                "external_id": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_EXTERNAL_ID_CHARS,
                    "description": "The site's user id (needs HELPDESK_IDENTITY_SECRET)",
                },
                "identity_hash": {
                    "type": "string",
                    "description": "hex HMAC-SHA256 of external_id with the identity secret",
                },
            },
            required=[],
        ),
        "ChatSessionCreated": _object({"session_id": string, "token": string}),
        "Button": _object({"label": string, "postback": string}),
        "Message": _object(
            {
                "id": integer,
                "role": {"type": "string", "enum": ["customer", "bot", "agent", "system"]},
                "text": string,
                "buttons": {"type": "array", "items": _ref("Button")},
                "created_at": _nullable({"type": "string", "format": "date-time"}),
            }
        ),
        "ChatExchange": _object(
            {"message": _ref("Message"), "messages": {"type": "array", "items": _ref("Message")}}
        ),
        "MessageList": _object({"messages": {"type": "array", "items": _ref("Message")}}),
        "LinkCode": _object(
            {
                "code": string,
                "expires_at": {"type": "string", "format": "date-time"},
                "line_url": _nullable(string),
            }
        ),
        "ChatConfig": _object({"line_url": _nullable(string)}),
        "HandoffQueue": _object(
            {
                "handoffs": {
                    "type": "array",
                    "items": _object(
                        {
                            "conversation_id": integer,
                            "customer_id": integer,
                            "channel": string,
                            "locale": string,
                            "reason": string,
                            "requested_at": {"type": "string", "format": "date-time"},
                            "waiting_seconds": integer,
                            "last_customer_text": _nullable(string),
                            "follows_up": _nullable(integer),
                            "previous_cases": {"type": "array", "items": _ref("PastCase")},
                        }
                    ),
                }
            }
        ),
        "PastCase": _object(
            {
                "conversation_id": integer,
                "channel": string,
                "opened_at": {"type": "string", "format": "date-time"},
                "closed_at": _nullable({"type": "string", "format": "date-time"}),
                "topic": string,
                "outcome": string,
                "handed_off": {"type": "boolean"},
                "survey": _nullable(_object({"kind": string, "score": integer})),
            }
        ),
        "KpiReport": _object(
            {
                "from": {"type": "string", "format": "date-time"},
                "to": {"type": "string", "format": "date-time"},
                "conversations": integer,
                "self_resolution_rate": rate,
                "containment_rate": rate,
                "handoff_rate": rate,
                "fcr": _object(
                    {
                        "bot": _object({"rate": rate, "eligible": integer}),
                        "agent": _object({"rate": rate, "eligible": integer}),
                    }
                ),
                "first_response_seconds": _object({"median": seconds, "p90": seconds}),
                "resolution_seconds": _object({"median": seconds, "p90": seconds}),
                "csat": _object({"score": rate, "responses": integer}),
                "nps": _object({"score": _nullable(number), "responses": integer}),
                "ces": _object(
                    {
                        **ces,
                        "by_channel": {"type": "object", "additionalProperties": _object(ces)},
                        "by_resolution": _object({"bot": _object(ces), "agent": _object(ces)}),
                    }
                ),
                "surveys": _object({"sent": integer, "responses": integer, "response_rate": rate}),
                "volume": {
                    "type": "object",
                    "description": "day -> channel -> conversations",
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": integer,
                    },
                },
                "faq_hits": counted,
                "faq_not_helpful": counted,
                "unanswered": {
                    "type": "array",
                    "items": _object({"question": string, "count": integer}),
                },
            }
        ),
        "CommentTerms": _object(
            {
                "comments": _object(
                    {
                        segment: {"type": "array", "items": _ref("CommentTerm")}
                        for segment in ("promoters", "passives", "detractors")
                    }
                )
            }
        ),
        "CommentTerm": _object(
            {
                "term": string,
                "count": {"type": "integer", "description": "comments of the period with it"},
                "previous": {"type": "integer", "description": "the same, period before"},
                "change": integer,
                "examples": {"type": "array", "items": string},
            }
        ),
        "DailyReports": _object(
            {
                "days": {
                    "type": "array",
                    "items": {
                        "allOf": [
                            _ref("KpiReport"),
                            _object({"day": {"type": "string", "format": "date"}}),
                        ]
                    },
                }
            }
        ),
        **_line_schemas(),
        **_slack_schemas(),
    }


def _line_schemas() -> dict[str, Schema]:
    string = {"type": "string"}
    return {
        "LineWebhookBody": _object(
            {"destination": string, "events": {"type": "array", "items": _ref("LineEvent")}},
            required=["events"],
        ),
        "LineEvent": _object(
            {
                "type": {
                    "type": "string",
                    "description": "message, postback, follow, unfollow; others are ignored",
                },
                "webhookEventId": {"type": "string", "minLength": 1},
                "mode": string,
                "timestamp": {"type": "integer", "description": "Unix milliseconds"},
                "replyToken": string,
                "source": _object(
                    {"type": string, "userId": string, "groupId": string, "roomId": string},
                    required=["type"],
                ),
                "deliveryContext": _object({"isRedelivery": {"type": "boolean"}}),
                "message": _object(
                    {"id": string, "type": string, "text": string, "quoteToken": string},
                    required=["type"],
                ),
                "postback": _object({"data": string, "params": {"type": "object"}}, ["data"]),
                "follow": _object({"isUnblocked": {"type": "boolean"}}),
            },
            required=["type", "webhookEventId"],
        ),
    }


def _slack_schemas() -> dict[str, Schema]:
    string = {"type": "string"}
    return {
        "SlackUrlVerification": _object(
            {
                "type": {"type": "string", "const": "url_verification"},
                "token": string,
                "challenge": string,
            },
            required=["type", "challenge"],
        ),
        "SlackChallengeAnswer": _object({"challenge": string}),
        "SlackEventCallback": _object(
            {
                "type": {"type": "string", "const": "event_callback"},
                "token": string,
                "team_id": string,
                "api_app_id": string,
                "event_id": string,
                "event_time": {"type": "integer"},
                "event": _object(
                    {
                        "type": string,
                        "subtype": string,
                        "channel": string,
                        "user": string,
                        "text": string,
                        "ts": string,
                        "thread_ts": string,
                        "bot_id": string,
                    },
                    required=["type"],
                ),
            },
            required=["type", "event"],
        ),
        "SlackInteraction": _object(
            {
                "payload": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "description": (
                        "A block_actions payload: the case buttons helpdesk_claim, "
                        "helpdesk_resolve and helpdesk_transcript carry the case's "
                        "conversation id as their value"
                    ),
                }
            }
        ),
        "SlackSlashCommand": _object(
            {
                "command": {"type": "string", "const": "/helpdesk"},
                "text": {"type": "string", "description": "queue, stats, resolve [#case]"},
                "user_id": string,
                "channel_id": string,
                "team_id": string,
                "response_url": string,
                "trigger_id": string,
            },
            required=["command", "user_id"],
        ),
        "SlackCommandAnswer": _object(
            {"text": string, "response_type": {"type": "string", "const": "ephemeral"}},
            required=["text"],
        ),
    }


def _security_schemes() -> dict[str, Any]:
    return {
        "chatToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "The token POST /api/chat/sessions returned",
        },
        "adminToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "HELPDESK_ADMIN_TOKEN",
        },
        "metricsToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "HELPDESK_METRICS_TOKEN or HELPDESK_ADMIN_TOKEN",
        },
    }
