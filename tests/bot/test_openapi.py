"""The OpenAPI description: valid OpenAPI 3.1, served without auth, and the same set of
routes as the router, so the document cannot drift from the code."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from bot.app import create_app
from bot.config import Settings
from bot.openapi import OPENAPI_PATH, openapi_document
from tests.conftest import Database

ClientMaker = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

BASE_ENV = {"HELPDESK_DATABASE_URL": "sqlite+aiosqlite:///unused.db"}
CHANNELS_ENV = {
    "LINE_CHANNEL_SECRET": "line-channel-secret-0123456789",
    "LINE_CHANNEL_ACCESS_TOKEN": "line-access-token-0123456789",
    "SLACK_SIGNING_SECRET": "slack-signing-secret-0123456789",
    "SLACK_BOT_TOKEN": "xoxb-1234-5678-slacktoken",
    "SLACK_HANDOFF_CHANNEL": "C0HANDOFF1",
}


def routes_of(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path) of every route, without the HEAD aiohttp adds beside each GET."""
    routes = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
    }
    implied_heads = {("HEAD", path) for method, path in routes if method == "GET"}
    return routes - implied_heads


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


async def served_document(app: web.Application) -> dict[str, Any]:
    """What the app's own route hands out; its handler needs no started app."""
    for route in app.router.routes():
        if route.method == "GET" and route.resource and route.resource.canonical == OPENAPI_PATH:
            response = await route.handler(make_mocked_request("GET", OPENAPI_PATH, app=app))
            assert isinstance(response, web.Response) and response.text is not None
            document: dict[str, Any] = json.loads(response.text)
            return document
    raise AssertionError(f"{OPENAPI_PATH} is not registered")


@pytest.mark.parametrize("env", [CHANNELS_ENV, {}], ids=["line-and-slack-on", "channels-off"])
async def test_every_route_is_documented_and_every_documented_route_exists(
    env: dict[str, str],
) -> None:
    app = create_app(Settings.from_env({**BASE_ENV, **env}))
    routes = routes_of(app)
    spec = documented(await served_document(app))
    assert routes - spec == set(), "routes missing from the OpenAPI document"
    assert spec - routes == set(), "documented routes the app does not serve"


async def test_webhooks_are_described_with_their_signature_headers() -> None:
    app = create_app(Settings.from_env({**BASE_ENV, **CHANNELS_ENV}))
    paths = (await served_document(app))["paths"]
    line_headers = {p["name"] for p in paths["/webhooks/line"]["post"]["parameters"]}
    slack_headers = {p["name"] for p in paths["/slack/events"]["post"]["parameters"]}
    assert line_headers == {"X-Line-Signature"}
    assert slack_headers == {"X-Slack-Signature", "X-Slack-Request-Timestamp"}
    for path in ("/api/handoffs", "/api/reports/summary", "/api/reports/daily"):
        assert paths[path]["get"]["security"] == [{"adminToken": []}]


@pytest.mark.parametrize("line,slack", [(True, True), (False, False), (True, False)])
def test_the_document_is_valid_openapi_3_1(line: bool, slack: bool) -> None:
    document = openapi_document(line=line, slack=slack, max_message_chars=2000)
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_the_validator_does_catch_a_broken_document() -> None:
    # Guards the test above against a validator that accepts anything.
    document = openapi_document(line=True, slack=True, max_message_chars=2000)
    document["paths"]["/healthz"]["get"]["responses"] = "none"
    with pytest.raises(OpenAPIValidationError):
        validate(document)


async def test_message_length_limit_follows_the_setting() -> None:
    app = create_app(Settings.from_env({**BASE_ENV, "HELPDESK_MAX_MESSAGE_CHARS": "123"}))
    post = (await served_document(app))["paths"]["/api/chat/messages"]["post"]
    text_body = post["requestBody"]["content"]["application/json"]["schema"]["oneOf"][0]
    assert text_body["properties"]["text"]["maxLength"] == 123


async def test_served_without_auth_as_json(
    aiohttp_client: ClientMaker, database: Database, faq_dir: Path
) -> None:
    settings = Settings.from_env(
        {**database.env, "HELPDESK_FAQ_DIR": str(faq_dir), **CHANNELS_ENV,
         "HELPDESK_PUBLIC_URL": "https://help.example.com"}
    )  # fmt: skip
    client = await aiohttp_client(create_app(settings))
    r = await client.get(OPENAPI_PATH)
    assert r.status == 200
    assert r.content_type == "application/json"
    body = await r.json()
    assert body["servers"] == [{"url": "https://help.example.com"}]
    assert ("POST", "/webhooks/line") in documented(body)
    head = await client.head(OPENAPI_PATH)
    assert head.status == 200
