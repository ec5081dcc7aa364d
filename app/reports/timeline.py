"""The exam's timeline as the jury reads it: the planned deadline, then what moved it or broke
the lab (extensions, incidents, time given back) in the order it happened, then the deadline
that held, the end and the grade."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.reports.incidents import cause_words
from app.reports.messages import end_reason
from app.reports.model import SessionReport
from app.reports.words import LABELS, as_utc, when


@dataclass(frozen=True)
class Step:
    label: str
    when: str
    detail: str


def _events(report: SessionReport, lang: str) -> list[tuple[datetime, str, str]]:
    """(moment, label, detail) of every change during the exam, oldest first."""
    t = LABELS[lang]
    events = [
        (at, t["extension"], f"+{minutes} min — {reason} ({t['by']} {by})")
        for at, minutes, reason, by in report.extensions
    ]
    for line in report.incidents:
        cause = cause_words(line.cause, lang)
        events.append(
            (line.down_at, t["incident"], t["node_down"].format(node=line.node, cause=cause))
        )
        if line.up_at is not None:
            events.append((line.up_at, t["node_back"], t["node_up"].format(node=line.node)))
    for c in report.credits:
        detail = t["credit_detail"].format(seconds=c.seconds, node=c.node, reason=c.reason)
        events.append((c.at, t["credit"], f"{detail} ({t['by']} {c.by})"))
    return sorted(events, key=lambda event: as_utc(event[0]))


def _initial_deadline(report: SessionReport) -> datetime | None:
    """The deadline before extensions and credits moved it, as the candidate first saw it."""
    if report.deadline is None:
        return None
    minutes = sum(minutes for _, minutes, _, _ in report.extensions)
    seconds = sum(c.seconds for c in report.credits)
    return report.deadline - timedelta(minutes=minutes, seconds=seconds)


def timeline(report: SessionReport, zone: ZoneInfo, lang: str) -> list[Step]:
    """Fixed places for the fixed steps, so the jury finds each at the same place in every
    report; one "Échéance" when nothing moved it, else the initial and the final one."""
    t = LABELS[lang]
    events = _events(report, lang)
    moved = bool(report.extensions or report.credits)
    steps = [
        Step(t["created"], when(report.created_at, zone, lang), ""),
        Step(t["ready"], when(report.ready_at, zone, lang), ""),
    ]
    if moved:
        steps.append(Step(t["deadline_initial"], when(_initial_deadline(report), zone, lang), ""))
    steps += [Step(label, when(at, zone, lang), detail) for at, label, detail in events]
    final = t["deadline_final"] if moved else t["deadline"]
    steps.append(Step(final, when(report.deadline, zone, lang), ""))
    reason = end_reason(report.end_reason, lang)
    steps.append(Step(t["ended"], when(report.ended_at, zone, lang), reason))
    attempts = t["attempts"].format(n=report.attempts) if report.attempts > 1 else ""
    steps.append(Step(t["graded"], when(report.graded_at, zone, lang), attempts))
    return steps
