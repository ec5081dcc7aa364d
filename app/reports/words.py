"""The jury's words: labels (French first) and number, date and text formats, shared by the
staff pages, the HTML report and the PDF so that they all say the same thing the same way."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # the model's incident lines are worded here: no import cycle at run time
    from app.reports.model import SessionReport

# --- Labels --------------------------------------------------------------------------------

LABELS: Final[dict[str, dict[str, str]]] = {
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
        "deadline_initial": "Échéance initiale",
        "deadline_final": "Échéance finale",
        "extension": "Prolongation",
        "incident": "Machine en panne",
        "node_down": "{node} : {cause}",
        "node_back": "Machine revenue",
        "node_up": "{node} de nouveau en marche",
        "credit": "Temps rendu",
        "credit_detail": "+{seconds} s pour l'incident sur {node} — {reason}",
        "ended": "Fin de l'épreuve",
        "graded": "Notation",
        "attempts": "{n} tentatives de notation",
        "by": "par",
        "criteria": "Critères d'évaluation",
        "ref": "Réf.",
        "criterion": "Critère",
        "weight": "Poids",
        "score": "Points",
        "status": "Statut",
        "override": "Score modifié par le jury",
        "overridden": "modifié",
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
        "deadline_initial": "Initial deadline",
        "deadline_final": "Final deadline",
        "extension": "Extension",
        "incident": "Node down",
        "node_down": "{node}: {cause}",
        "node_back": "Node back",
        "node_up": "{node} running again",
        "credit": "Time given back",
        "credit_detail": "+{seconds} s for the incident on {node} — {reason}",
        "ended": "Exam ended",
        "graded": "Graded",
        "attempts": "graded in {n} attempts",
        "by": "by",
        "criteria": "Assessment criteria",
        "ref": "Ref.",
        "criterion": "Criterion",
        "weight": "Weight",
        "score": "Points",
        "status": "Status",
        "override": "Score changed by the jury",
        "overridden": "changed",
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
STATUSES: Final[dict[str, dict[str, str]]] = {
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
VIAS: Final[dict[str, dict[str, str]]] = {
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


def report_lang(report: SessionReport) -> str:
    """French unless English is asked for: the certification's official language is French."""
    return report.lang if report.lang in LABELS else "fr"


def labels(lang: str) -> Mapping[str, str]:
    return LABELS.get(lang, LABELS["fr"])


def status_label(status: str, lang: str) -> str:
    """The status in words ("Non évalué" for `error`); an unknown one is shown as it is."""
    return STATUSES.get(lang, STATUSES["fr"]).get(status, status)


def via_label(via: str | None, lang: str) -> str:
    """How a piece of evidence was observed; old reports have none: a command in the node."""
    return VIAS.get(lang, VIAS["fr"]).get(via or "node", via or "node")


def incomplete_notice(ungraded: int, lang: str) -> str | None:
    """The notice an incomplete grade carries, or None when every criterion was graded."""
    if ungraded <= 0:
        return None
    t = labels(lang)
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


def when(moment: datetime | None, zone: ZoneInfo, lang: str) -> str:
    """Local time with its abbreviation (CET/CEST): a signed document must be unambiguous."""
    if moment is None:
        return LABELS[lang]["none"]
    local = as_utc(moment).astimezone(zone)
    pattern = "%Y-%m-%d %H:%M:%S" if lang == "en" else "%d/%m/%Y %H:%M:%S"
    return f"{local.strftime(pattern)} {local.tzname() or ''}".strip()


def decimal(value: float, digits: int, lang: str) -> str:
    """Fixed decimals, with the decimal comma in French."""
    text = f"{value:.{digits}f}"
    return text if lang == "en" else text.replace(".", ",")


def compact(value: float, lang: str) -> str:
    """Up to 3 decimals without trailing zeros: a weight of 2 reads "2", not "2,000"."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text if lang == "en" else text.replace(".", ",")


def percent(value: float, lang: str) -> str:
    """French puts a (non-breaking) space before the % sign, English does not."""
    number = decimal(value, 1, lang)
    return f"{number}%" if lang == "en" else f"{number}\u00a0%"


def duration(ms: int, lang: str) -> str:
    """Milliseconds under a second, seconds above: what a reader can compare at a glance."""
    return f"{ms} ms" if ms < 1000 else f"{decimal(ms / 1000, 1, lang)} s"
