"""`GET /dashboard`: the KPI dashboard page.

The page itself holds no data: it asks for the admin token (kept in the tab's session
storage) and reads `/api/reports/*` with it, so the figures stay behind the token.
"""

from __future__ import annotations

from importlib.resources import files

from aiohttp import web


class DashboardPage:
    def __init__(self) -> None:
        static = files("channels.web").joinpath("static")
        self._page = static.joinpath("dashboard.html").read_bytes
        self._script = static.joinpath("dashboard.js").read_bytes

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_get("/dashboard", self.page)
        router.add_get("/dashboard.js", self.script)

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(body=self._page(), content_type="text/html", charset="utf-8")

    async def script(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self._script(), content_type="application/javascript", charset="utf-8"
        )
