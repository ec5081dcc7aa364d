"""The grader's findings in the jury's language, for the page and the PDF alike.

Graders write their findings in English (graders/checks.py, graders/runner.py, graders/host.py)
and stored reports keep them so. They are translated when shown, one finding at a time
("; " joins a criterion's findings): a finding no pattern knows stays as the grader wrote it,
so an old report or a new check stays readable, only untranslated.
"""

from __future__ import annotations

import re
import shlex
from typing import Final

from app.reports import findings_app as app_tests
from app.reports import findings_ldap as ldap
from app.reports import findings_pdf as pdf

Table = list[tuple[re.Pattern[str], str]]


def _table(pairs: list[tuple[str, str]]) -> Table:
    """(English pattern, French template) pairs, compiled; the first full match wins."""
    return [(re.compile(pattern, re.DOTALL), template) for pattern, template in pairs]


# Words the English patterns capture that French must translate too.
_PROTOCOLS_FR: Final = {"tcp": "TCP", "udp": "UDP"}
_WORDS_FR: Final = {
    "open": "ouvert",
    "closed": "fermé",
    "on the node": "dans la machine",
    "from the network": "depuis le réseau",
    **_PROTOCOLS_FR,
    "udp and tcp": "UDP et TCP",
    "no records": "aucun enregistrement",
    "connection refused": "connexion refusée",
    **pdf.WORDS_FR,
    **app_tests.WORDS_FR,
}
_ASKED = r"(\S+) (\S+) over (udp|tcp|udp and tcp): "  # a DNS question, as graders.dns words it

# (English pattern, French template): first full match wins, so specific before general.
_FR: Final[Table] = _table(
    [
        (r"exit status (\S+), expected (\S+)", "code de retour {0}, {1} attendu"),
        (r"exit status (\S+), output as expected", "code de retour {0}, sortie conforme"),
        (
            r"exit status (\S+), output shows (.+), output has no (/.*/)",
            "code de retour {0}, la sortie montre {1} et aucun {2}",
        ),
        (r"exit status (\S+), output shows (.+)", "code de retour {0}, la sortie montre {1}"),
        (r"exit status (\S+), output has no (/.*/)", "code de retour {0}, la sortie n'a aucun {1}"),
        (r"exit status (\S+)", "code de retour {0}"),
        (r"output does not contain (.+)", "la sortie ne contient pas {0}"),
        (r"output does not match (/.*/)", "la sortie ne correspond pas à {0}"),
        (
            r"output matches (/.*/), which it must not: (.+)",
            "la sortie correspond à {0}, ce qu'elle ne doit pas : {1}",
        ),
        (r"(\S+) is active and enabled", "{0} est actif et lancé au démarrage"),
        (r"(\S+) is active but (.+) at boot", "{0} est actif mais « {1} » au démarrage"),
        (r"(\S+) is active", "{0} est actif"),
        (r"(\S+) is (\S+), not active", "{0} est « {1} », pas actif"),
        (r"(\S+) has no main process", "{0} n'a pas de processus principal"),
        (r"(\S+)'s main process (\d+) is not running", "le processus {1} de {0} ne tourne pas"),
        (r"(\S+) runs (\S+), not (\S+)", "{0} exécute {1}, pas {2}"),
        (r"(\S+) is not installed", "{0} n'est pas installé"),
        (
            r"(\S+) (\S+) installed \(verified against Debian's package\)",
            "{0} {1} installé (vérifié d'après le paquet Debian)",
        ),
        (
            r"(\S+) (\S+) installed \(with the platform's image\)",
            "{0} {1} installé (avec l'image de la plateforme)",
        ),
        (
            r"(tcp|udp) port (\d+) is (open|closed) (on the node|from the network)",
            "port {0} {1} {2} {3}",
        ),
        (
            r"(tcp|udp) port (\d+) is (open|closed) (on the node|from the network), "
            r"not (open|closed)",
            "port {0} {1} {2} {3}, et non {4}",
        ),
        (
            r"nothing listens on (tcp|udp) port (\d+) in the node",
            "rien n'écoute sur le port {0} {1} dans la machine",
        ),
        (
            r"(tcp|udp) port (\d+) is held by (\S+), not (\S+)",
            "le port {0} {1} est tenu par {2}, pas {3}",
        ),
        # As reports stored before findings named the protocol (TCP then) say it.
        (r"port (\d+) is (open|closed) (on the node|from the network)", "port {0} {1} {2}"),
        (
            r"port (\d+) is (open|closed) (on the node|from the network), not (open|closed)",
            "port {0} {1} {2}, et non {3}",
        ),
        (r"nothing listens on (\S+) in the node", "rien n'écoute sur {0} dans la machine"),
        (r"(\S+) is held by (\S+), not (\S+)", "{0} est tenu par {1}, pas {2}"),
        (r"no HTTP answer on port (\d+)", "aucune réponse HTTP sur le port {0}"),
        (r"HTTP status (\d+), expected (\d+)", "statut HTTP {0}, {1} attendu"),
        (r"HTTP (\d+) with the expected content", "HTTP {0} avec le contenu attendu"),
        (r"page lacks (.+)", "il manque à la page {0}"),
        (r"page does not match (/.*/)", "la page ne correspond pas à {0}"),
        (r"page contains (.+)", "la page contient {0}"),
        (r"header (\S+) is present", "l'en-tête {0} est présent"),
        (r"header (\S+) does not match (/.*/)", "l'en-tête {0} ne correspond pas à {1}"),
        (_ASKED + r"status (\S+), expected (\S+)", "{0} {1} en {2} : statut {3}, {4} attendu"),
        (
            _ASKED + r"flag (\S+) is not set",
            "{0} {1} en {2} : l'indicateur {3} n'est pas positionné",
        ),
        (
            _ASKED + r"flag (\S+) is set, which it must not be",
            "{0} {1} en {2} : l'indicateur {3} est positionné, alors qu'il ne doit pas l'être",
        ),
        (
            _ASKED + r"answer lacks (.+) \(got (.*)\)",
            "{0} {1} en {2} : il manque à la réponse {3} (reçu : {4})",
        ),
        (
            _ASKED + r"answer does not match (/.*/)",
            "{0} {1} en {2} : la réponse ne correspond pas à {3}",
        ),
        (
            _ASKED + r"no DNS answer from (\S+) port (\d+) \((.*)\)",
            "{0} {1} en {2} : pas de réponse DNS de {3} port {4} ({5})",
        ),
        (_ASKED + r"no records(.*)", "{0} {1} en {2} : aucun enregistrement{3}"),
        (_ASKED + r"(.*)", "{0} {1} en {2} : {3}"),
        (r"(\S+) exists as expected", "{0} existe comme attendu"),
        (r"(\S+) content as expected", "contenu de {0} conforme"),
        (r"(\S+) is absent", "{0} est absent"),
        (r"(\S+) does not exist", "{0} n'existe pas"),
        (r"(\S+) exists", "{0} existe"),
        (r"(\S+) has mode (\S+), expected (\S+)", "{0} a le mode {1}, {2} attendu"),
        (r"(\S+) is owned by (\S+), expected (\S+)", "{0} appartient à {1}, {2} attendu"),
        (r"(\S+) has group (\S+), expected (\S+)", "{0} a le groupe {1}, {2} attendu"),
        (r"(\S+) does not contain (.+)", "{0} ne contient pas {1}"),
        (r"(\S+) does not match (/.*/)", "{0} ne correspond pas à {1}"),
        (r"(\S+) matches (/.*/), which it must not", "{0} correspond à {1}, ce qu'il ne doit pas"),
        (r"query failed: (.*)", "échec de la requête : {0}"),
        (r"(\d+) rows, expected (\d+)", "{0} lignes, {1} attendues"),
        (r"result does not match (/.*/)", "le résultat ne correspond pas à {0}"),
        (r"query result as expected", "résultat de la requête conforme"),
        (r"node unreachable: (.*)", "machine injoignable : {0}"),
        (r"verdict withheld: (.*)", "verdict écarté : {0}"),
        (r"invalid check: (.*)", "vérification invalide : {0}"),
        (r"check error: (.*)", "erreur de la vérification : {0}"),
        (
            r"could not be graded: took longer than its budget of (\S+)s",
            "n'a pas pu être évalué : a dépassé son temps imparti de {0} s",
        ),
        (r"could not be graded: (.*)", "n'a pas pu être évalué : {0}"),
        (
            r"not graded: depends on (.+), not fully met",
            "non évalué : dépend de {0}, qui n'est pas entièrement réussi",
        ),
        *ldap.FINDINGS_FR,
        *pdf.FINDINGS_FR,
        *app_tests.FINDINGS_FR,
    ]
)


def _one(finding: str) -> str:
    for pattern, template in _FR:
        match = pattern.fullmatch(finding)
        if match:
            return template.format(*(_WORDS_FR.get(g, g) for g in match.groups()))
    return finding


def grader_message(message: str, lang: str) -> str:
    """The grader's finding in `lang`; English is how graders write it."""
    if lang == "en" or not message:
        return message
    return "; ".join(_one(part) for part in message.split("; "))


def _double_quoted(arg: str) -> str:
    return '"' + re.sub(r'(["\\$`])', r"\\\1", arg) + '"'


def as_ran(command: str) -> str:
    """The command as the grader ran it. Reports from before the grader spoke SQL itself stored
    `shlex.join(argv)`, where a quote inside an argument reads `'"'"'`: those arguments are
    shown in double quotes instead, the way a person writes them. Anything else is as stored."""
    if "'\"'\"'" not in command:
        return command
    try:
        argv = shlex.split(command)
    except ValueError:
        return command
    if shlex.join(argv) != command:
        return command
    return " ".join(_double_quoted(a) if "'" in a else shlex.quote(a) for a in argv)


# Why a session ended, as app/api/sessions.py and app/controller.py store it (in English).
_REASONS_FR: Final[Table] = _table(
    [
        (r"time is up", "temps écoulé"),
        (r"submitted by (.+?)", "copie rendue par {0}"),
        (r"ended by examiner (.+?)", "terminée par l'examinateur {0}"),
        (r"provisioning failed: (.*)", "échec de la préparation du lab : {0}"),
        (r"grading failed: (.*)", "échec de la notation : {0}"),
    ]
)


def end_reason(reason: str, lang: str) -> str:
    """Why the session ended, in `lang`; "… before the lab was ready" keeps its cause."""
    if lang == "en":
        return reason
    head, early, _ = reason.partition(" before the lab was ready")
    for pattern, template in _REASONS_FR:
        match = pattern.fullmatch(head)
        if match:
            said = template.format(*match.groups())
            return f"{said} avant que le lab soit prêt" if early else said
    return reason


# What the grader observed without a shell (graders/checks.py, host.py, web.py, sql.py,
# runner.py) is recorded as an English description, not a command: worded like a finding.
_OBSERVED_FR: Final[Table] = _table(
    [
        (r"read (\S+) \(from the host\)", "lecture de {0} (depuis l'hôte)"),
        (r"read (\S+)", "lecture de {0}"),
        (r"tcp connect (\S+)", "connexion TCP à {0}"),
        (
            r"listening on (tcp|udp) port (\d+) \(host view\)",
            "écoute sur le port {0} {1} (vue de l'hôte)",
        ),
        (
            r"who listens on (tcp|udp) port (\d+) \(host view\)",
            "qui écoute sur le port {0} {1} (vue de l'hôte)",
        ),
        (r"listening on :(\d+) \(host view\)", "écoute sur le port {0} (vue de l'hôte)"),
        (r"who listens on (\S+) \(host view\)", "qui écoute sur {0} (vue de l'hôte)"),
        (
            r"main process (\d+) of (\S+) \(seen from the host\)",
            "processus principal {0} de {1} (vu depuis l'hôte)",
        ),
        (r"verify (\S+) (\S+)", "vérification de {0} {1} d'après le paquet Debian"),
        (r"GET (\S+) \(from the grader to (\S+)\)", "GET {0} (du correcteur vers {1})"),
        (
            r"DNS query (\S+) (\S+)(, no recursion desired)? over (tcp|udp) to (\S+) port (\d+) "
            r"\(from the grader\)",
            "requête DNS {0} {1}{2} en {3} vers {4} port {5} (depuis le correcteur)",
        ),
        (r"SQL as (\S+) via (\S+) on (\S+): (.*)", "SQL en tant que {0} via {1} sur {2} : {3}"),
        (r"SQL as (\S+) via (\S+): (.*)", "SQL en tant que {0} via {1} : {2}"),
        (r"reach the node", "joindre la machine"),
        *ldap.OBSERVED_FR,
        *pdf.OBSERVED_FR,
        *app_tests.OBSERVED_FR,
    ]
)

_OBSERVED_WORDS_FR: Final = {
    **_PROTOCOLS_FR,
    **pdf.SENT_FR,
    **app_tests.WORDS_FR,
    ", no recursion desired": ", sans demande de récursion",
}

# The fixed outputs of those observations (a file's or a page's content stays as it was read).
_OUTPUTS_FR: Final[Table] = _table(
    [
        (r"absent", "fichier absent"),
        (r"connected", "connexion établie"),
        (r"nobody", "personne n'écoute"),
        (r"nobody listens", "personne n'écoute"),
        (r"no such process", "aucun processus de ce numéro"),
        (r"\[Errno \d+\] Connection refused", "connexion refusée"),
        (r"timed out", "délai dépassé"),
        (r"no answer: (.*)", "pas de réponse : {0}"),
        (r"(\d+) files as Debian ships them", "{0} fichiers tels que Debian les livre"),
        (
            r"(\S+): (file|dir|other), mode (\S+), uid (\d+), gid (\d+)( \(first 1 MiB\))?(\n.*)?",
            "{0} : {1}, mode {2}, uid {3}, gid {4}{5}{6}",
        ),
    ]
)
_KINDS_FR: Final = {
    "file": "fichier",
    "dir": "répertoire",
    "other": "autre",
    " (first 1 MiB)": " (premier Mio)",
}


def _translate(text: str, table: Table, words: dict[str, str]) -> str | None:
    for pattern, template in table:
        match = pattern.fullmatch(text)
        if match:
            return template.format(*(words.get(g or "", g or "") for g in match.groups()))
    return None


def evidence_command(command: str, via: str | None, lang: str) -> str:
    """The evidence's first line: a shell command run in the node as it ran ("$ hostname"), or
    what the platform observed from outside the node, in `lang` and with no prompt."""
    if via in (None, "node"):
        return f"$ {as_ran(command)}"
    if lang == "en":
        return command
    return _translate(command, _OBSERVED_FR, _OBSERVED_WORDS_FR) or command


def evidence_output(output: str, via: str | None, lang: str) -> str:
    """A platform observation's fixed output in `lang`; what a shell printed stays as printed."""
    if via in (None, "node") or lang == "en":
        return output
    return _translate(output, _OUTPUTS_FR, _KINDS_FR) or output
