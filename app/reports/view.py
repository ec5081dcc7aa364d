"""Labels (French first), formatting and the one view both HTML and PDF render,
so that the two documents always state the same things."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

from app.reports.model import CriterionLine, EvidenceItem, NodeIntegrity, SessionReport

MAX_FINDINGS: Final = 50  # tampered files listed per node; a rootkit can change thousands

# --- Labels --------------------------------------------------------------------------------

_LABELS: Final[dict[str, dict[str, str]]] = {
    "fr": {
        "title": "Rapport d'évaluation",
        "colon": " :",
        "candidate": "Candidat",
        "scenario": "Scénario",
        "version": "Version du scénario",
        "referential": "Référentiel",
        "session": "Session",
        "times": "Heures exprimées dans le fuseau",
        "timeline": "Déroulement de l'épreuve",
        "step": "Étape",
        "when": "Date et heure",
        "detail": "Détail",
        "created": "Session créée",
        "ready": "Lab prêt",
        "deadline": "Échéance",
        "extension": "Prolongation",
        "ended": "Fin de l'épreuve",
        "graded": "Notation",
        "attempts": "{n} tentatives de notation",
        "by": "par",
        "criteria": "Critères d'évaluation",
        "ref": "Réf.",
        "criterion": "Critère",
        "weight": "Poids",
        "score": "Score",
        "status": "Statut",
        "override": "Score modifié par le jury",
        "original_score": "score initial",
        "new_score": "nouveau score",
        "justification": "Justification",
        "on": "le",
        "total": "Total",
        "points": "points",
        "original_percent": "Résultat avant modifications du jury",
        "evidence": "Preuves collectées",
        "message": "Constat du correcteur",
        "node": "Machine",
        "via": "Observé",
        "exit_status": "Code de retour",
        "duration": "Durée",
        "no_status": "aucun",
        "no_evidence": "Aucune preuve collectée pour ce critère.",
        "empty_output": "(sortie vide)",
        "truncated": "[… sortie tronquée : {shown} caractères affichés sur {total}]",
        "signatures": "Signatures du jury",
        "jury_member": "Membre du jury (nom, qualité)",
        "date": "Date",
        "signature": "Signature",
        "done_at": "Fait à ______________________________, le ____________________",
        "page": "page {page} / {pages}",
        "none": "—",
        "incomplete_one": "Notation incomplète : 1 critère n'a pas pu être évalué (erreur du "
        "correcteur, pas du candidat) — à revoir par le jury",
        "incomplete_many": "Notation incomplète : {n} critères n'ont pas pu être évalués (erreur "
        "du correcteur, pas du candidat) — à revoir par le jury",
        "error_note": "erreur du correcteur",
        "integrity": "Intégrité du lab",
        "integrity_none": "Aucun exécutable ni bibliothèque système modifié par rapport à "
        "l'image de la plateforme",
        "integrity_one": "1 fichier système vérifié, aucune modification hors paquets Debian",
        "integrity_many": "{n} fichiers système vérifiés, aucune modification hors paquets Debian",
        "tampered": "Falsification détectée sur {node}",
        "tampered_files": "Fichiers système modifiés hors paquets Debian :",
        "tampered_more": "… et {n} autre(s), non listé(s) ici",
        "withheld": "Les verdicts qui reposaient sur les outils propres à cette machine ont été "
        "écartés (notés 0, le motif figure dans le constat du correcteur).",
        "unchecked": "non vérifié : {error}",
        "unchecked_note": "Les constats faits dans cette machine avec ses propres outils ne sont "
        "pas garantis.",
    },
    "en": {
        "title": "Assessment report",
        "colon": ":",
        "candidate": "Candidate",
        "scenario": "Scenario",
        "version": "Scenario version",
        "referential": "Referential",
        "session": "Session",
        "times": "Times shown in time zone",
        "timeline": "Exam timeline",
        "step": "Step",
        "when": "Date and time",
        "detail": "Detail",
        "created": "Session created",
        "ready": "Lab ready",
        "deadline": "Deadline",
        "extension": "Extension",
        "ended": "Exam ended",
        "graded": "Graded",
        "attempts": "graded in {n} attempts",
        "by": "by",
        "criteria": "Assessment criteria",
        "ref": "Ref.",
        "criterion": "Criterion",
        "weight": "Weight",
        "score": "Score",
        "status": "Status",
        "override": "Score changed by the jury",
        "original_score": "original score",
        "new_score": "new score",
        "justification": "Justification",
        "on": "on",
        "total": "Total",
        "points": "points",
        "original_percent": "Result before the jury's changes",
        "evidence": "Collected evidence",
        "message": "Grader's finding",
        "node": "Node",
        "via": "Observed",
        "exit_status": "Exit status",
        "duration": "Duration",
        "no_status": "none",
        "no_evidence": "No evidence collected for this criterion.",
        "empty_output": "(empty output)",
        "truncated": "[… output truncated: {shown} of {total} characters shown]",
        "signatures": "Jury signatures",
        "jury_member": "Jury member (name, role)",
        "date": "Date",
        "signature": "Signature",
        "done_at": "Signed at ______________________________, on ____________________",
        "page": "page {page} / {pages}",
        "none": "—",
        "incomplete_one": "Incomplete grade: 1 criterion could not be graded (a grader error, "
        "not the candidate's) — to be reviewed by the jury",
        "incomplete_many": "Incomplete grade: {n} criteria could not be graded (a grader error, "
        "not the candidate's) — to be reviewed by the jury",
        "error_note": "grader error",
        "integrity": "Lab integrity",
        "integrity_none": "No system executable or library changed from the platform's image",
        "integrity_one": "1 system file checked, none changed outside Debian's packages",
        "integrity_many": "{n} system files checked, none changed outside Debian's packages",
        "tampered": "Tampering found on {node}",
        "tampered_files": "System files changed outside Debian's packages:",
        "tampered_more": "… and {n} more, not listed here",
        "withheld": "Verdicts resting on this node's own tools were withheld (scored 0, with "
        "the reason in the grader's finding).",
        "unchecked": "not checked: {error}",
        "unchecked_note": "What was observed inside this node with its own tools is not "
        "vouched for.",
    },
}
_STATUSES: Final[dict[str, dict[str, str]]] = {
    "fr": {
        "passed": "Réussi",
        "partial": "Partiel",
        "failed": "Échoué",
        "blocked": "Bloqué",
        "error": "Non évalué",
    },
    "en": {
        "passed": "Passed",
        "partial": "Partial",
        "failed": "Failed",
        "blocked": "Blocked",
        "error": "Not graded",
    },
}
_VIAS: Final[dict[str, dict[str, str]]] = {
    "fr": {
        "outside": "depuis l'extérieur (réseau du lab)",
        "host": "depuis l'hôte",
        "node": "dans la machine (outils de la machine)",
    },
    "en": {
        "outside": "from outside (lab network)",
        "host": "from the host",
        "node": "inside the node (node's own tools)",
    },
}


def _lang(report: SessionReport) -> str:
    """French unless English is asked for: the certification's official language is French."""
    return report.lang if report.lang in _LABELS else "fr"


def _labels(lang: str) -> Mapping[str, str]:
    return _LABELS.get(lang, _LABELS["fr"])


def status_label(status: str, lang: str) -> str:
    """The status in words ("Non évalué" for `error`); an unknown one is shown as it is."""
    return _STATUSES.get(lang, _STATUSES["fr"]).get(status, status)


def status_text(status: str, lang: str) -> str:
    """The label with what `error` means: "Non évalué — erreur du correcteur"."""
    label = status_label(status, lang)
    return f"{label} — {_labels(lang)['error_note']}" if status == "error" else label


def via_label(via: str | None, lang: str) -> str:
    """How a piece of evidence was observed; old reports have none: a command in the node."""
    return _VIAS.get(lang, _VIAS["fr"]).get(via or "node", via or "node")


def incomplete_notice(ungraded: int, lang: str) -> str | None:
    """The notice an incomplete grade carries, or None when every criterion was graded."""
    if ungraded <= 0:
        return None
    t = _labels(lang)
    return t["incomplete_one"] if ungraded == 1 else t["incomplete_many"].format(n=ungraded)


# --- Formatting helpers ----------------------------------------------------------------------

# CSI / OSC / two-character escape sequences: colour codes would print as garbage.
_ANSI: Final = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """Strips terminal escapes and control characters from lab output: they are invisible or
    garbage on paper, and invalid in HTML; a lone CR (progress bars) becomes a line break."""
    text = _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are UTC, as the database hands them back."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _when(moment: datetime | None, zone: ZoneInfo, lang: str) -> str:
    """Local time with its abbreviation (CET/CEST): a signed document must be unambiguous."""
    if moment is None:
        return _LABELS[lang]["none"]
    local = as_utc(moment).astimezone(zone)
    pattern = "%Y-%m-%d %H:%M:%S" if lang == "en" else "%d/%m/%Y %H:%M:%S"
    return f"{local.strftime(pattern)} {local.tzname() or ''}".strip()


def _decimal(value: float, digits: int, lang: str) -> str:
    """Fixed decimals, with the decimal comma in French."""
    text = f"{value:.{digits}f}"
    return text if lang == "en" else text.replace(".", ",")


def _compact(value: float, lang: str) -> str:
    """Up to 3 decimals without trailing zeros: a weight of 2 reads "2", not "2,000"."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text if lang == "en" else text.replace(".", ",")


def _percent(value: float, lang: str) -> str:
    """French puts a (non-breaking) space before the % sign, English does not."""
    number = _decimal(value, 1, lang)
    return f"{number}%" if lang == "en" else f"{number}\u00a0%"


def _duration(ms: int, lang: str) -> str:
    """Milliseconds under a second, seconds above: what a reader can compare at a glance."""
    return f"{ms} ms" if ms < 1000 else f"{_decimal(ms / 1000, 1, lang)} s"


# --- The formatted view, shared by HTML and PDF -----------------------------------------------


@dataclass(frozen=True)
class HeaderField:
    label: str
    value: str


@dataclass(frozen=True)
class Step:
    label: str
    when: str
    detail: str


@dataclass(frozen=True)
class OverrideView:
    change: str  # "score initial 0,00 → nouveau score 0,75"
    justification: str
    signed: str  # "par X, le 12/03/2025 16:02:00 CET"


@dataclass(frozen=True)
class EvidenceView:
    node: str
    via: str  # "depuis l'hôte"
    command: str
    status: str
    output: str
    duration: str


@dataclass(frozen=True)
class RowView:
    id: str
    referential: str
    referential_text: str
    title: str
    weight: str
    score: str
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


def _header(report: SessionReport, t: Mapping[str, str]) -> list[HeaderField]:
    return [
        HeaderField(t["candidate"], report.candidate),
        HeaderField(t["scenario"], f"{report.scenario_title} ({report.scenario_id})"),
        HeaderField(t["version"], report.scenario_version),
        HeaderField(t["referential"], report.referential or t["none"]),
        HeaderField(t["session"], report.session_id),
    ]


def _timeline(report: SessionReport, zone: ZoneInfo, lang: str) -> list[Step]:
    """Fixed order rather than sorted by time: the deadline is a limit, not an event, and the
    jury looks for each step at the same place in every report."""
    t = _LABELS[lang]
    steps = [
        Step(t["created"], _when(report.created_at, zone, lang), ""),
        Step(t["ready"], _when(report.ready_at, zone, lang), ""),
        Step(t["deadline"], _when(report.deadline, zone, lang), ""),
    ]
    for at, minutes, reason, by in report.extensions:
        detail = f"+{minutes} min — {reason} ({t['by']} {by})"
        steps.append(Step(t["extension"], _when(at, zone, lang), detail))
    steps.append(Step(t["ended"], _when(report.ended_at, zone, lang), report.end_reason))
    attempts = t["attempts"].format(n=report.attempts) if report.attempts > 1 else ""
    steps.append(Step(t["graded"], _when(report.graded_at, zone, lang), attempts))
    return steps


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
    t = _labels(lang)
    return [_node_integrity(node, t) for node in nodes]


def _override_view(line: CriterionLine, zone: ZoneInfo, lang: str) -> OverrideView | None:
    if line.override is None:
        return None
    t, override = _LABELS[lang], line.override
    change = (
        f"{t['original_score']} {_decimal(line.original_score, 2, lang)} → "
        f"{t['new_score']} {_decimal(override.score, 2, lang)}"
    )
    signed = f"{t['by']} {override.by}, {t['on']} {_when(override.at, zone, lang)}"
    return OverrideView(change, clean(override.justification), signed)


def _evidence_view(item: EvidenceItem, lang: str) -> EvidenceView:
    t = _LABELS[lang]
    status = t["no_status"] if item.status is None else str(item.status)
    output = clean(item.output)
    return EvidenceView(
        item.node,
        via_label(item.via, lang),
        clean(item.command),
        status,
        output if output.strip() else t["empty_output"],
        _duration(item.duration_ms, lang),
    )


def _row_view(line: CriterionLine, zone: ZoneInfo, lang: str) -> RowView:
    t = _LABELS[lang]
    known = line.status in _STATUSES[lang]
    return RowView(
        id=line.id,
        referential=line.referential or t["none"],
        referential_text=line.referential_text or "",
        title=line.title,
        weight=_compact(line.weight, lang),
        score=_decimal(line.score, 2, lang),
        status_class=line.status if known else "unknown",
        status_label=status_label(line.status, lang),
        status_note=t["error_note"] if line.status == "error" else "",
        message=clean(line.message),
        override=_override_view(line, zone, lang),
        evidence=[_evidence_view(item, lang) for item in line.evidence],
    )


def build_view(report: SessionReport, tz: str) -> View:
    """Every string both documents print, formatted once. Raises ZoneInfoNotFoundError."""
    lang, zone = _lang(report), ZoneInfo(tz)
    t = _LABELS[lang]
    total = (
        f"{_compact(report.points, lang)} / {_compact(report.max_points, lang)} {t['points']}"
        f" — {_percent(report.percent, lang)}"
    )
    changed = not math.isclose(report.percent, report.original_percent, abs_tol=1e-9)
    original = f"{t['original_percent']}{t['colon']} {_percent(report.original_percent, lang)}"
    return View(
        lang=lang,
        t=t,
        tz=tz,
        candidate=report.candidate,
        session_id=report.session_id,
        incomplete=incomplete_notice(report.ungraded, lang),
        header=_header(report, t),
        timeline=_timeline(report, zone, lang),
        integrity=integrity_views(report.integrity, lang),
        rows=[_row_view(line, zone, lang) for line in report.criteria],
        total=total,
        original_total=original if changed else None,
    )
