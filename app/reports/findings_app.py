"""The app-tests exam's findings (graders/app_tests) and observations in French, as (English
pattern, French template) pairs that app.reports.messages adds to its tables."""

from __future__ import annotations

from typing import Final

# What each mutant breaks (graders.app_tests.mutants), and the words of the calls' outcomes.
WORDS_FR: Final = {
    "the ISBN-13 key weighs digits 3, 1, 3… instead of 1, 3, 1…": (
        "la clé ISBN-13 pondère les chiffres 3, 1, 3… au lieu de 1, 3, 1…"
    ),
    "any prefix starting with 97 is taken for a book's": (
        "tout préfixe commençant par 97 est pris pour celui d'un livre"
    ),
    "the late fee has no ceiling": "la pénalité de retard n'a pas de plafond",
    "a negative delay gives a negative fee": "un retard négatif donne une pénalité négative",
    "a member may borrow one book more than the limit": (
        "un adhérent peut emprunter un livre de plus que la limite"
    ),
    "a lent book may be lent to another member": (
        "un livre prêté peut être prêté à un autre adhérent"
    ),
    "returning a book that is not lent is accepted": "le retour d'un livre non prêté est accepté",
    "an unknown member may borrow": "un adhérent inconnu peut emprunter",
    "returns": "renvoie",
    "raises": "lève",
    "gives": "ne donne",
    "nothing readable": "rien de lisible",
}

FINDINGS_FR: Final = [
    (r"(\S+): as specified", "{0} : conforme"),
    (
        r"(\S+): (.+?) (returns|raises|gives) (.*?), expected: (returns|raises) (.*)",
        "{0} : {1} {2} {3}, attendu : {4} {5}",
    ),
    (r"(\S+): no answer", "{0} : pas de réponse"),
    (r"(\S+): no answer in (\d+)s", "{0} : pas de réponse en {1} s"),
    (r"(\S+): not run: (\d+)s spent", "{0} : non joué, les {1} s sont écoulées"),
    (r"no (/\S+)", "{0} absent"),
    (r"(/\S+) is larger than (\d+) KiB", "{0} dépasse {1} Kio"),
    (r"(\d+) tests pass", "{0} tests passent"),
    (r"(\d+) of (\d+) tests fail", "{0} tests sur {1} échouent"),
    (r"the tests do not run", "les tests ne s'exécutent pas"),
    (r"(\d+) tests, at least (\d+) expected", "{0} tests, au moins {1} attendus"),
    (r"(\d+) tests", "{0} tests"),
    (r"the tests did not end in (\d+)s", "les tests ne se terminent pas en {0} s"),
    (
        r"the tests cover (\d+)% of prets\.py, (\d+)% expected",
        "les tests couvrent {0} % de prets.py, {1} % attendus",
    ),
    (r"the tests cover (\d+)% of prets\.py", "les tests couvrent {0} % de prets.py"),
    (
        r"no coverage measured \(the tests do not run\)",
        "aucune couverture mesurée (les tests ne s'exécutent pas)",
    ),
    (
        r"the tests fail on a correct prets\.py: (.*)",
        "les tests échouent sur un prets.py conforme : {0}",
    ),
    (r"they catch: (.*)", "ils détectent : {0}"),
    (r"they miss: (.*)", "ils ne détectent pas : {0}"),
    (r"(\d+) cases, at least (\d+) expected", "{0} cas, au moins {1} attendus"),
    (r"(\d+) cases", "{0} cas"),
    (r"every case complete", "chaque cas est complet"),
    (r"(\d+) cases incomplete", "{0} cas incomplets"),
    (r"each case its own ID", "chaque cas a son identifiant"),
    (r"case IDs repeated", "des identifiants de cas répétés"),
    (r"each case's status OK or KO", "le statut de chaque cas est OK ou KO"),
    (r"statuses other than OK or KO", "des statuts autres que OK ou KO"),
    (
        r"(\d+) of the subject's functions covered, (\d+) expected",
        "{0} des fonctions du sujet couvertes, {1} attendues",
    ),
    (r"(\d+) of the subject's functions covered", "{0} des fonctions du sujet couvertes"),
    (r"no table with the columns (.*)", "aucun tableau avec les colonnes {0}"),
    (r"not graded", "non évalué"),
]

OBSERVED_FR: Final = [
    (
        r"sandbox: the hidden acceptance programs against prets\.py",
        "bac à sable : les programmes de recette du jury sur prets.py",
    ),
    (
        r"sandbox: (\S+) against prets\.py, under coverage",
        "bac à sable : {0} sur prets.py, couverture mesurée",
    ),
    (r"sandbox: (\S+) against a correct prets\.py", "bac à sable : {0} sur un prets.py conforme"),
    (r"sandbox: (\S+) against a prets\.py where (.*)", "bac à sable : {0} sur un prets.py où {1}"),
]
