"""A sitting on real labs: planned through the API, its labs made ahead by the running
service, every clock started at the sitting's time (not when each lab was ready), its codes
refused before that time and opening the candidate's own session after it."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import httpx

from tests.integration.conftest import Service

PEOPLE = [
    {"last_name": "Nguyễn", "first_name": "Văn An", "number": "1"},
    {"last_name": "Écrivain", "first_name": "Zoé", "number": "2"},
]


def _sign_in(service: Service, code: str) -> httpx.Response:
    with httpx.Client(base_url=service.url, timeout=30, follow_redirects=True) as browser:
        form = browser.get("/exam")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token, form.text
        return browser.post("/exam", data={"code": code, "csrf": token[1]})


def test_a_sitting_s_labs_are_ready_before_its_time_and_its_clocks_start_then(
    service: Service,
) -> None:
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=45)
    body = {
        "scenario": "quick",
        "starts_at": starts.isoformat(),
        "minutes": 2,
        "candidates": PEOPLE,
    }
    with service.client() as api:
        made = api.post("/api/sittings", json=body)
        assert made.status_code == 201, made.text
        sitting = made.json()
        codes = [p["exam_code"] for p in sitting["candidates"]]
        deadline = time.monotonic() + 40  # the service's lead is 15 min: it starts them at once
        while time.monotonic() < deadline:
            sitting = api.get(f"/api/sittings/{sitting['id']}").json()
            if {p["state"] for p in sitting["candidates"]} == {"ready"}:
                break
            time.sleep(0.5)
        assert datetime.now(UTC) < starts, "the labs were not ready before the sitting's time"
        ids = [p["session_id"] for p in sitting["candidates"]]
        assert all(api.get(f"/api/sessions/{i}").json()["deadline"] is None for i in ids)
        early = _sign_in(service, codes[0])
        assert early.status_code == 403 and "Cette épreuve ouvre le" in early.text
        time.sleep(max(0.0, (starts - datetime.now(UTC)).total_seconds()) + 2)
        for session_id in ids:
            deadline_at = api.get(f"/api/sessions/{session_id}").json()["deadline"]
            assert deadline_at is not None
            assert datetime.fromisoformat(deadline_at) == starts + timedelta(minutes=2)
    opened = _sign_in(service, codes[1])
    assert opened.status_code == 200 and f"/exam/{ids[1]}" in str(opened.url)
