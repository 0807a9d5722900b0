"""The Slack desk as most channel tests want it: default settings, a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.channels.slack_desk import ClientMaker, Desk, ServerMaker, make_desk
from tests.conftest import Database
from tests.fakes.clock import ManualClock


@pytest.fixture
async def desk(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> AsyncIterator[Desk]:
    desk = await make_desk(aiohttp_client, aiohttp_server, database, faq_dir, ManualClock())
    yield desk
    await desk.client.close()
