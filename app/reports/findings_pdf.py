"""The html-pdf-service exam's findings (graders/html_pdf.py) and observations in French, as
(English pattern, French template) pairs that app.reports.messages adds to its tables."""

from __future__ import annotations

from typing import Final

_BAD = (
    r"(a body that is not JSON|a document without password|a document with an empty password"
    r"|a text without HTML|a 3 MiB body)"
)
WORDS_FR: Final = {
    "a body that is not JSON": "un corps qui n'est pas du JSON",
    "a document without password": "un document sans mot de passe",
    "a document with an empty password": "un document avec un mot de passe vide",
    "a text without HTML": "un texte sans HTML",
    "a 3 MiB body": "un corps de 3 Mio",
}

FINDINGS_FR: Final = [
    (r"no answer on port (\d+)", "pas de réponse sur le port {0}"),
    (r"HTTP (\d+), expected 200", "HTTP {0}, 200 attendu"),
    (r"content type (.*)", "type de contenu {0}"),
    (r"a PDF of (\d+) bytes", "un PDF de {0} octets"),
    (r"the answer is no PDF", "la réponse n'est pas un PDF"),
    (r"the PDF cannot be read", "le PDF est illisible"),
    (r"encrypted with (AES-\d+)", "chiffré en {0}"),
    (r"encryption: (\S+), not AES", "chiffrement : {0}, pas AES"),
    (r"a wrong password does not open it", "un mauvais mot de passe ne l'ouvre pas"),
    (
        r"a wrong or the empty password opens it",
        "un mauvais mot de passe ou le mot de passe vide l'ouvre",
    ),
    (r"the request's password opens it", "le mot de passe de la requête l'ouvre"),
    (r"the request's password does not open it", "le mot de passe de la requête ne l'ouvre pas"),
    (
        r"the PDF cannot be opened with the request's password",
        "le PDF ne s'ouvre pas avec le mot de passe de la requête",
    ),
    (
        r"missing or out of order: (.+) and (\d+) more",
        "absent ou déplacé : {0}, et {1} autre(s)",
    ),
    (r"missing or out of order: (.+)", "absent ou déplacé : {0}"),
    (r"all (\d+) passages, in order", "les {0} passages, dans l'ordre"),
    (r"(\d+) pages, one a section", "{0} pages, une par section"),
    (
        r"(\d+) pages, expected (\d+) \(one a section\)",
        "{0} pages, {1} attendues (une par section)",
    ),
    (r"the table's cells in row order", "les cellules du tableau, ligne par ligne"),
    (r"the table lacks (.+) in its place", "il manque au tableau {0} à sa place"),
    (r"the image is there", "l'image est présente"),
    (r"no image in the PDF", "aucune image dans le PDF"),
    (r"the document is refused \((\d+)\)", "le document est refusé ({0})"),
    (r"no file of the server gets into the PDF", "aucun fichier du serveur n'entre dans le PDF"),
    (r"the PDF holds the server's /etc/passwd", "le PDF contient le /etc/passwd du serveur"),
    (_BAD + r": (\d+)", "{0} : {1}"),
    (_BAD + r": (\S+), not (\d+)", "{0} : {1}, et non {2}"),
    (r"the service still converts afterwards", "le service convertit toujours ensuite"),
    (r"the service no longer converts afterwards", "le service ne convertit plus ensuite"),
    (r"not exercised", "non évalué"),
]

# What the grader sent, as its observations name it.
SENT_FR: Final = {
    **WORDS_FR,
    "an order form of 3 pages and a password (not shown)":
        "un bon de commande de 3 pages et un mot de passe (masqué)",
    "a document asking for file:///etc/passwd and a password (not shown)":
        "un document qui demande file:///etc/passwd et un mot de passe (masqué)",
    "a small document, after the bad ones and a password (not shown)":
        "un petit document, après les mauvais, et un mot de passe (masqué)",
}  # fmt: skip

OBSERVED_FR: Final = [
    (
        r"POST (\S+) \(from the grader to (\S+)\) with (.+)",
        "POST {0} (du correcteur vers {1}) avec {2}",
    ),
    (
        r"POST (\S+) with a body of (\d+) bytes \(from the grader\)",
        "POST {0} avec un corps de {1} octets (depuis le correcteur)",
    ),
    (r"wait for port (\d+) \(from the grader\)", "attente du port {0} (depuis le correcteur)"),
    (r"read the PDF's encryption \(the grader\)", "lecture du chiffrement du PDF (le correcteur)"),
    (r"the PDF's text \(the grader reads the PDF\)", "le texte du PDF (lu par le correcteur)"),
    (r"the PDF's pages \(the grader reads the PDF\)", "les pages du PDF (lues par le correcteur)"),
    (
        r"look for /etc/passwd in the PDF \(the grader\)",
        "recherche de /etc/passwd dans le PDF (le correcteur)",
    ),
]
