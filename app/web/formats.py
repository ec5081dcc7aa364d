"""How the staff pages word times, durations and audit details, per language: the same date
format as the jury report (app.reports.words), so a page and its PDF never disagree."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.reports.messages import end_reason
from app.reports.words import as_utc, percent
from app.web.i18n import texts

_PATTERNS = {"en": "%Y-%m-%d %H:%M:%S", "fr": "%d/%m/%Y %H:%M:%S"}
_SCORES = ("score", "previous_score", "previous")  # 0..1 in the audit log


def local(moment: datetime | None, zone: ZoneInfo, lang: str) -> str:
    """A moment in the service's time zone, written as the report writes it in `lang`."""
    if moment is None:
        return "—"
    return as_utc(moment).astimezone(zone).strftime(_PATTERNS.get(lang, _PATTERNS["fr"]))


def span(length: timedelta, lang: str) -> str:
    """A scenario's length for a reader: "1 h 30", "40 s", "2 h" ("1 h 30 min" in English)."""
    whole = int(length.total_seconds())
    hours, minutes, seconds = whole // 3600, whole // 60 % 60, whole % 60
    if not hours and not minutes:
        return f"{seconds} s"
    if not hours:
        return f"{minutes} min" + (f" {seconds} s" if seconds else "")
    if not minutes:
        return f"{hours} h"
    return f"{hours} h {minutes:02d}" + (" min" if lang == "en" else "")


def _value(action: str, key: str, value: Any, zone: ZoneInfo, lang: str) -> str:
    if key in _SCORES and isinstance(value, int | float) and not isinstance(value, bool):
        return percent(value * 100, lang)
    if key == "deadline" and isinstance(value, str):
        try:
            return local(datetime.fromisoformat(value), zone, lang)
        except ValueError:  # written by an older version: show it as it is
            return value
    if key == "seconds":
        return f"{value} s"
    if key == "minutes":
        return f"{value} min"
    if key == "reason" and action == "end" and isinstance(value, str):
        return end_reason(value, lang)
    return str(value)


def audit_details(
    action: str, detail: Mapping[str, Any], zone: ZoneInfo, lang: str
) -> list[tuple[str, str]]:
    """An audit entry's details as (label, value) pairs in `lang`; nested data (the previous
    report kept by a regrade) is for the database, not the page."""
    words = texts(lang)
    return [
        (words.get(f"detail.{key}", key), _value(action, key, value, zone, lang))
        for key, value in detail.items()
        if not isinstance(value, Mapping | list)
    ]
