"""The hidden acceptance tests of the app-tests subject: programs of calls (graders.app_tests.
harness), each judged against what the reference does with it. Never shown to the candidate;
none repeats an example of the subject."""

from __future__ import annotations

from typing import Any

Program = list[list[Any]]

# Valid ISBN-13s (key digit checked), with and without separators.
DUNE = "978-2-266-32049-8"
ETRANGER = "9782070360024"
PETIT_PRINCE = "978 2 07 040850 4"
GERMINAL = "979-10-90636-07-1"
VALID = [DUNE, ETRANGER, PETIT_PRINCE, GERMINAL]


def _stocked(max_prets: int = 3) -> Program:
    return [
        ["new", {"max_prets": max_prets}],
        *[["call", "ajouter_livre", isbn, f"Titre {i}"] for i, isbn in enumerate(VALID)],
        ["call", "inscrire", "Zoé"],
        ["call", "inscrire", "Yanis"],
    ]


PROGRAMS: dict[str, Program] = {
    "isbn-valides": [["fn", "isbn_valide", isbn] for isbn in VALID],
    "isbn-cle-fausse": [
        ["fn", "isbn_valide", "978-2-266-32049-3"],
        ["fn", "isbn_valide", "9782070360020"],
    ],
    "isbn-forme": [
        ["fn", "isbn_valide", "977-2-266-32049-9"],  # key right, prefix not a book's
        ["fn", "isbn_valide", "978226632049"],  # 12 digits
        ["fn", "isbn_valide", "97822663204980"],  # 14 digits
        ["fn", "isbn_valide", "978-2-266-3204X-8"],
        ["fn", "isbn_valide", ""],
        ["fn", "isbn_valide", "٩٧٨٢٢٦٦٣٢٠٤٩٨"],  # digits, but not ASCII ones
    ],
    "penalite-bornes": [
        ["fn", "penalite", 0],
        ["fn", "penalite", -4],
        ["fn", "penalite", 1],
        ["fn", "penalite", 7],
        ["fn", "penalite", 25],
        ["fn", "penalite", 26],
        ["fn", "penalite", 400],
    ],
    "catalogue": [*_stocked(), ["call", "disponibles"]],
    "catalogue-refus": [
        ["new", {}],
        ["call", "ajouter_livre", "978-2-266-32049-3", "Clé fausse"],
        ["call", "ajouter_livre", DUNE, "Dune"],
        ["call", "ajouter_livre", "9782266320498", "Dune, sans tirets"],
        ["call", "ajouter_livre", ETRANGER, "   "],
        ["call", "disponibles"],
    ],
    "membres": [
        ["new", {}],
        ["call", "inscrire", "Zoé"],
        ["call", "inscrire", "Zoé"],
        ["call", "inscrire", ""],
        ["call", "prets_de", "Zoé"],
        ["call", "prets_de", "Inconnu"],
    ],
    "emprunt-retour": [
        *_stocked(),
        ["call", "emprunter", "9782266320498", "Zoé"],
        ["call", "prets_de", "Zoé"],
        ["call", "disponibles"],
        ["call", "rendre", DUNE],
        ["call", "prets_de", "Zoé"],
        ["call", "disponibles"],
    ],
    "emprunt-refus": [
        *_stocked(),
        ["call", "emprunter", DUNE, "Zoé"],
        ["call", "emprunter", DUNE, "Yanis"],
        ["call", "emprunter", "978-0-00-000000-2", "Zoé"],
        ["call", "emprunter", ETRANGER, "Inconnu"],
        ["call", "prets_de", "Yanis"],
    ],
    "plafond-de-prets": [
        *_stocked(max_prets=2),
        ["call", "emprunter", DUNE, "Zoé"],
        ["call", "emprunter", ETRANGER, "Zoé"],
        ["call", "emprunter", PETIT_PRINCE, "Zoé"],
        ["call", "emprunter", PETIT_PRINCE, "Yanis"],
        ["call", "rendre", ETRANGER],
        ["call", "emprunter", GERMINAL, "Zoé"],
        ["call", "prets_de", "Zoé"],
    ],
    "plafond-par-defaut": [
        *_stocked(),
        *[["call", "emprunter", isbn, "Zoé"] for isbn in VALID],
        ["call", "prets_de", "Zoé"],
    ],
    "retour-refus": [
        *_stocked(),
        ["call", "rendre", DUNE],
        ["call", "rendre", "978-0-00-000000-2"],
        ["call", "emprunter", DUNE, "Yanis"],
        ["call", "rendre", DUNE],
        ["call", "rendre", DUNE],
    ],
    "max-prets-invalide": [["new", {"max_prets": 0}], ["new", {"max_prets": 1}]],
}
