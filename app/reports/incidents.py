"""What a jury report says of a lab's incidents (a node found down during the exam): the
platform's failure, stated so that nobody reads the criteria it broke as the candidate's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class IncidentLine:
    node: str
    cause: str
    down_at: datetime
    up_at: datetime | None  # None: still down when the lab ended
    credited_seconds: int


_WORDS: Final[dict[str, dict[str, str]]] = {
    "fr": {
        "heading": "Incidents techniques",
        "down": "Incident : machine {node} arrêtée depuis {since} ({cause})",
        "back": "revenue à {at}",
        "still": "toujours arrêtée à la fin de l'épreuve : les critères portant sur cette "
        "machine n'ont pas pu être observés, ce n'est pas un échec du candidat",
        "credit": "{seconds} s rendues au candidat",
    },
    "en": {
        "heading": "Technical incidents",
        "down": "Incident: node {node} down since {since} ({cause})",
        "back": "back at {at}",
        "still": "still down when the exam ended: the criteria on this node could not be "
        "observed, this is not the candidate's failure",
        "credit": "{seconds} s given back to the candidate",
    },
}


def incident_words(lang: str) -> Mapping[str, str]:
    return _WORDS.get(lang, _WORDS["fr"])


def incident_texts(lines: list[IncidentLine], zone: ZoneInfo, lang: str) -> list[str]:
    """One sentence per outage, times in the exam centre's zone."""
    w = incident_words(lang)

    def at(moment: datetime) -> str:
        local = (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).astimezone(zone)
        pattern = "%Y-%m-%d %H:%M:%S" if lang == "en" else "%d/%m/%Y %H:%M:%S"
        return f"{local.strftime(pattern)} {local.tzname() or ''}".strip()

    texts = []
    for line in lines:
        parts = [w["down"].format(node=line.node, since=at(line.down_at), cause=line.cause)]
        parts.append(w["back"].format(at=at(line.up_at)) if line.up_at else w["still"])
        if line.credited_seconds:
            parts.append(w["credit"].format(seconds=line.credited_seconds))
        texts.append(" — ".join(parts))
    return texts
