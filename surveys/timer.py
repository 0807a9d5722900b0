"""When the survey ticker runs: at the due time of the next planned survey, and every
`HELPDESK_SURVEY_TICK_SECONDS` as a safety net.

A survey is due minutes after its conversation ends, and the replica that planned it
knows when: it sets an APScheduler date job for that moment, and every tick sets the
next one from the table. So a survey goes out on time without a tick every few seconds
on an idle server. The interval tick catches what this replica did not plan and
cannot know about (another replica's surveys, should that replica be gone).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock, utc_now

DUE_JOB = "surveys_due"


class SurveyTimer:
    def __init__(
        self, scheduler: AsyncIOScheduler, tick: Callable[[], Awaitable[None]], clock: Clock
    ) -> None:
        self._scheduler = scheduler
        self._tick = tick
        self._clock = clock

    def at(self, due: datetime) -> None:
        """Tick at `due` (on the app's clock), unless a tick is set for earlier."""
        # The scheduler runs on real time (bot.clock.utc_now); the app's clock may be a
        # test's, so the wait is measured on the app's clock and laid onto real time.
        wait = max((due - self._clock()).total_seconds(), 0.0)
        run_at = utc_now() + timedelta(seconds=wait)
        job = self._scheduler.get_job(DUE_JOB)
        if job is not None and job.next_run_time is not None and job.next_run_time <= run_at:
            return
        self._scheduler.add_job(
            self._tick, "date", run_date=run_at, id=DUE_JOB, replace_existing=True,
            coalesce=True, max_instances=1, misfire_grace_time=None,
        )  # fmt: skip
