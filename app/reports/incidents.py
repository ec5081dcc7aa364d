"""What a jury report says of a lab's incidents (a node found down during the exam): the
platform's failure, stated so that nobody reads the criteria it broke as the candidate's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from app.reports.words import when


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


# The engine's cause, stored as a short code (labs.driver.Driver.node_cause), in words.
_CAUSES: Final[dict[str, dict[str, str]]] = {
    "fr": {
        "exit": "arrêtée (code de sortie {code})",
        "exit_why": "arrêtée (code de sortie {code} : {why})",
        "oom": "mémoire saturée (OOM)",
        "removed": "supprimée",
        "state": "état « {state} »",
        "unknown": "cause inconnue",
        "0": "fin normale",
        "130": "interrompue",
        "137": "processus tué",
        "143": "arrêt demandé",
        "signal": "tuée par le signal {signal}",
        "state.paused": "en pause",
        "state.dead": "hors service",
        "state.created": "créée, jamais démarrée",
        "state.restarting": "redémarre",
        "state.removing": "en cours de suppression",
        "vm:poweroff": "machine éteinte depuis l'intérieur",
        "vm:destroyed": "machine coupée depuis l'hôte",
        "vm:crashed": "machine plantée",
        "vm:failed": "machine qui n'a pas pu démarrer",
        "vm:off": "machine éteinte",
    },
    "en": {
        "exit": "stopped (exit code {code})",
        "exit_why": "stopped (exit code {code}: {why})",
        "oom": "out of memory (OOM)",
        "removed": "removed",
        "state": "state “{state}”",
        "unknown": "unknown cause",
        "0": "normal end",
        "130": "interrupted",
        "137": "process killed",
        "143": "asked to stop",
        "signal": "killed by signal {signal}",
        "state.paused": "paused",
        "state.dead": "dead",
        "state.created": "created, never started",
        "state.restarting": "restarting",
        "state.removing": "being removed",
        "vm:poweroff": "machine powered off from inside",
        "vm:destroyed": "machine cut off from the host",
        "vm:crashed": "machine crashed",
        "vm:failed": "machine failed to start",
        "vm:off": "machine off",
    },
}


def cause_words(cause: str, lang: str) -> str:
    """A node's cause of death in `lang`: "exit:137" → "arrêtée (code de sortie 137 : processus
    tué)". Causes recorded as free text before the codes existed are shown as they are."""
    w = _CAUSES.get(lang, _CAUSES["fr"])
    kind, _, value = cause.partition(":")
    if kind == "exit" and value.lstrip("-").isdigit():
        code = int(value)
        why = w.get(str(code)) or (
            w["signal"].format(signal=code - 128) if 128 < code < 160 else ""
        )
        return w["exit_why"].format(code=code, why=why) if why else w["exit"].format(code=code)
    if kind == "state" and value:
        return w["state"].format(state=w.get(f"state.{value}", value))
    if cause in ("oom", "removed", "unknown") or (cause in w and kind == "vm"):
        return w[cause]
    return cause


def incident_texts(lines: list[IncidentLine], zone: ZoneInfo, lang: str) -> list[str]:
    """One sentence per outage, times in the exam centre's zone."""
    w = incident_words(lang)

    def at(moment: datetime) -> str:
        return when(moment, zone, lang)

    texts = []
    for line in lines:
        cause = cause_words(line.cause, lang)
        parts = [w["down"].format(node=line.node, since=at(line.down_at), cause=cause)]
        parts.append(w["back"].format(at=at(line.up_at)) if line.up_at else w["still"])
        if line.credited_seconds:
            parts.append(w["credit"].format(seconds=line.credited_seconds))
        texts.append(" — ".join(parts))
    return texts
