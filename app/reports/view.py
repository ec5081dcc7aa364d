"""Labels (French first), formatting and the one view both HTML and PDF render,
so that the two documents always state the same things."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final
from zoneinfo import ZoneInfo

from app.reports.incidents import incident_texts, incident_words
from app.reports.messages import evidence_command, evidence_output, grader_message
from app.reports.model import CriterionLine, EvidenceItem, NodeIntegrity, SessionReport
from app.reports.timeline import Step, timeline
from app.reports.words import (
    LABELS,
    STATUSES,
    clean,
    compact,
    decimal,
    duration,
    incomplete_notice,
    labels,
    percent,
    report_lang,
    status_label,
    via_label,
    when,
)
from labs.topology import Layout

MAX_FINDINGS: Final = 50  # tampered files listed per node; a rootkit can change thousands

# --- The formatted view, shared by HTML and PDF -----------------------------------------------


@dataclass(frozen=True)
class HeaderField:
    label: str
    value: str


@dataclass(frozen=True)
class OverrideView:
    change: str  # "score initial 0 / 2 → nouveau score 1,5 / 2"
    justification: str
    signed: str  # "par X, le 12/03/2025 16:02:00 CET"


@dataclass(frozen=True)
class EvidenceView:
    node: str
    via: str  # "depuis l'hôte"
    command: str  # "$ hostname", or what the platform observed: "lecture de /x (depuis l'hôte)"
    status: str
    output: str
    duration: str


@dataclass(frozen=True)
class RowView:
    id: str
    referential: str  # "" when the criterion has none
    referential_text: str
    title: str
    weight: str
    score: str
    points: str  # "1,5 / 2": the score in points, out of the weight
    points_value: float  # the same, as numbers, for the override form
    weight_value: float
    overridden: bool
    status_class: str
    status_label: str
    status_note: str  # "erreur du correcteur" for `error`, else ""
    message: str
    override: OverrideView | None
    evidence: list[EvidenceView]


@dataclass(frozen=True)
class FindingView:
    path: str
    problem: str


@dataclass(frozen=True)
class IntegrityView:
    """One node's integrity: `ok`, `tampered` (a warning with the files) or `unchecked`."""

    node: str
    state: str
    headline: str
    findings: list[FindingView]  # at most MAX_FINDINGS
    more: str  # "… et 12 autre(s)" when the list was cut
    note: str  # what it means for the verdicts, "" when nothing


@dataclass(frozen=True)
class View:
    lang: str
    t: Mapping[str, str]
    tz: str
    candidate: str
    session_id: str
    incomplete: str | None
    header: list[HeaderField]
    timeline: list[Step]
    integrity: list[IntegrityView]
    rows: list[RowView]
    total: str
    original_total: str | None
    incidents: list[str] = field(default_factory=list)  # nodes found down, in words
    incidents_heading: str = ""
    topology: Layout | None = None  # drawn by each renderer from the same layout

    @property
    def has_referential(self) -> bool:
        """A column of dashes says nothing: it is shown when some criterion has a reference."""
        return any(row.referential for row in self.rows)


def _header(report: SessionReport, t: Mapping[str, str]) -> list[HeaderField]:
    return [
        HeaderField(t["candidate"], report.candidate),
        HeaderField(t["scenario"], f"{report.scenario_title} ({report.scenario_id})"),
        HeaderField(t["version"], report.scenario_version),
        HeaderField(t["referential"], report.referential or t["none"]),
        HeaderField(t["session"], report.session_id),
    ]


def _checked(count: int, t: Mapping[str, str]) -> str:
    if count == 0:
        return t["integrity_none"]
    return t["integrity_one"] if count == 1 else t["integrity_many"].format(n=count)


def _node_integrity(node: NodeIntegrity, t: Mapping[str, str]) -> IntegrityView:
    """Findings first: a node that was tampered with is tampered with, whatever else failed."""
    if node.findings:
        shown = [FindingView(clean(f.path), clean(f.problem)) for f in node.findings[:MAX_FINDINGS]]
        hidden = len(node.findings) - len(shown)
        more = t["tampered_more"].format(n=hidden) if hidden else ""
        headline = t["tampered"].format(node=node.node)
        return IntegrityView(node.node, "tampered", headline, shown, more, t["withheld"])
    if node.error is not None:
        headline = t["unchecked"].format(error=clean(node.error))
        return IntegrityView(node.node, "unchecked", headline, [], "", t["unchecked_note"])
    return IntegrityView(node.node, "ok", _checked(node.checked, t), [], "", "")


def integrity_views(nodes: Sequence[NodeIntegrity], lang: str) -> list[IntegrityView]:
    """Per node, in the grader's order; empty for a grade from before the scan existed."""
    t = labels(lang)
    return [_node_integrity(node, t) for node in nodes]


def _override_view(line: CriterionLine, zone: ZoneInfo, lang: str) -> OverrideView | None:
    if line.override is None:
        return None
    t, override = LABELS[lang], line.override
    change = (
        f"{t['original_score']} {points_text(line.original_score, line.weight, lang)} → "
        f"{t['new_score']} {points_text(override.score, line.weight, lang)}"
    )
    signed = f"{t['by']} {override.by}, {t['on']} {when(override.at, zone, lang)}"
    return OverrideView(change, clean(override.justification), signed)


def _evidence_view(item: EvidenceItem, lang: str) -> EvidenceView:
    t = LABELS[lang]
    status = t["no_status"] if item.status is None else str(item.status)
    output = clean(evidence_output(item.output, item.via, lang))
    return EvidenceView(
        item.node,
        via_label(item.via, lang),
        clean(evidence_command(item.command, item.via, lang)),
        status,
        output if output.strip() else t["empty_output"],
        duration(item.duration_ms, lang),
    )


def effective_status(status: str, score: float, overridden: bool) -> str:
    """The grader's status, or the one the jury's new score means: full, partial or none."""
    if not overridden:
        return status
    return "passed" if score >= 1 else "failed" if score <= 0 else "partial"


def points_text(score: float, weight: float, lang: str) -> str:
    """ "1,5 / 2": what a criterion earned out of its weight, as the totals count it."""
    return f"{compact(score * weight, lang)} / {compact(weight, lang)}"


def _row_view(line: CriterionLine, zone: ZoneInfo, lang: str) -> RowView:
    t = LABELS[lang]
    status = effective_status(line.status, line.score, line.override is not None)
    known = status in STATUSES[lang]
    return RowView(
        id=line.id,
        referential=line.referential or "",
        referential_text=line.referential_text or "",
        title=line.title,
        weight=compact(line.weight, lang),
        score=decimal(line.score, 2, lang),
        points=points_text(line.score, line.weight, lang),
        points_value=round(line.score * line.weight, 3),
        weight_value=line.weight,
        overridden=line.override is not None,
        status_class=status if known else "unknown",
        status_label=status_label(status, lang),
        status_note=t["error_note"] if status == "error" else "",
        message=clean(grader_message(line.message, lang)),
        override=_override_view(line, zone, lang),
        evidence=[_evidence_view(item, lang) for item in line.evidence],
    )


def build_view(report: SessionReport, tz: str) -> View:
    """Every string both documents print, formatted once. Raises ZoneInfoNotFoundError."""
    lang, zone = report_lang(report), ZoneInfo(tz)
    t = LABELS[lang]
    total = (
        f"{compact(report.points, lang)} / {compact(report.max_points, lang)} {t['points']}"
        f" — {percent(report.percent, lang)}"
    )
    changed = not math.isclose(report.percent, report.original_percent, abs_tol=1e-9)
    original = f"{t['original_percent']}{t['colon']} {percent(report.original_percent, lang)}"
    return View(
        lang=lang,
        t=t,
        tz=tz,
        candidate=report.candidate,
        session_id=report.session_id,
        incomplete=incomplete_notice(report.ungraded, lang),
        header=_header(report, t),
        timeline=timeline(report, zone, lang),
        integrity=integrity_views(report.integrity, lang),
        rows=[_row_view(line, zone, lang) for line in report.criteria],
        total=total,
        original_total=original if changed else None,
        incidents=incident_texts(report.incidents, zone, lang),
        incidents_heading=incident_words(lang)["heading"],
        topology=report.topology,
    )
