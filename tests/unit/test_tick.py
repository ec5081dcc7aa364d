"""The controller's tick loads only the sessions it may act on: none in the middle of an exam."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from fastapi.testclient import TestClient

from app.models import State, utcnow
from tests.unit.test_live_tables import _add, _lab
from tests.unit.test_live_tables import client as client
from tests.unit.test_live_tables import engine as engine


def test_the_tick_loads_only_the_sessions_it_acts_on(client: TestClient) -> None:
    now = utcnow()
    later, before = now + timedelta(minutes=30), now - timedelta(seconds=1)
    _add(
        client,
        _lab("mid-exam", State.ready, deadline=later),
        _lab("pooled", State.ready, pooled=True),
        _lab("kept", State.graded, teardown_after=later),
        _lab("over", State.torn_down),
        _lab("new", State.requested),
        _lab("built", State.provisioning),
        _lab("no-clock", State.ready),
        _lab("time-up", State.ready, deadline=before),
        _lab("ending", State.ending),
        _lab("grading", State.grading),
        _lab("to-remove", State.graded, teardown_after=before),
    )
    due = client.app.state.controller._due(now)  # type: ignore[attr-defined]
    assert {lab.id for lab in due} == {
        "new",
        "built",
        "no-clock",
        "time-up",
        "ending",
        "grading",
        "to-remove",
    }


def test_a_step_of_the_clock_does_not_wait_behind_a_dozen_labs_waits(client: TestClient) -> None:
    """Cut-offs and gradings each hold a thread of the loop for seconds; a time-up due
    meanwhile still gets one at once."""

    async def a_step_while_twelve_wait() -> float:
        waits = [asyncio.create_task(asyncio.to_thread(time.sleep, 2)) for _ in range(12)]
        await asyncio.sleep(0.1)  # all twelve hold their threads
        start = time.monotonic()
        await asyncio.to_thread(utcnow)
        took = time.monotonic() - start
        await asyncio.gather(*waits)
        return took

    assert client.portal is not None
    assert client.portal.call(a_step_while_twelve_wait) < 1
