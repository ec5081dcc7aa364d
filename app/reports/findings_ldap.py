"""The ldap-passwords exam's findings (graders/ldap_exercise.py, graders/ldap_passwords.py) and
observations (graders/directory.py) in French: (English pattern, French template) pairs that
app.reports.messages adds to its tables. Specific before general: the first full match wins."""

from __future__ import annotations

from typing import Final

FINDINGS_FR: Final = [
    (r"create (\S+): exit status (\S+)", "create {0} : code de retour {1}"),
    (
        r"create (\S+): the printed password opens the account",
        "create {0} : le mot de passe affiché ouvre le compte",
    ),
    (
        r"create (\S+): the printed password does not open the account",
        "create {0} : le mot de passe affiché n'ouvre pas le compte",
    ),
    (
        r"create of an existing uid: exit status (\S+), the account's password changed",
        "création d'un uid existant : code de retour {0}, et le mot de passe du compte a changé",
    ),
    (
        r"create of an existing uid: exit status (\S+)",
        "création d'un uid existant : code de retour {0}",
    ),
    (
        r"(\S+): an inetOrgPerson with uid, cn, sn, givenName",
        "{0} : un inetOrgPerson avec uid, cn, sn, givenName",
    ),
    (r"(\S+): wrong or missing (.+)", "{0} : faux ou absents : {1}"),
    (r"(\S+) not found \((.*)\)", "{0} introuvable ({1})"),
    (
        r"(\S+): the administrator's bind is refused",
        "{0} : l'authentification de l'administrateur est refusée",
    ),
    (r"the administrator's bind is refused", "l'authentification de l'administrateur est refusée"),
    (r"(change|forgot) (\S+): a new password printed", "{0} {1} : un nouveau mot de passe affiché"),
    (
        r"(change|forgot) (\S+): exit status (\S+), no new password",
        "{0} {1} : code de retour {2}, pas de nouveau mot de passe",
    ),
    (r"the new password opens the account", "le nouveau mot de passe ouvre le compte"),
    (
        r"the new password does not open the account",
        "le nouveau mot de passe n'ouvre pas le compte",
    ),
    (r"the old password is refused", "l'ancien mot de passe est refusé"),
    (r"the old password still opens the account", "l'ancien mot de passe ouvre encore le compte"),
    (r"a wrong current password is refused", "un mot de passe actuel faux est refusé"),
    (
        r"a wrong current password: exit status (\S+), and the password changed",
        "un mot de passe actuel faux : code de retour {0}, et le mot de passe a changé",
    ),
    (
        r"a wrong current password: exit status (\S+)",
        "un mot de passe actuel faux : code de retour {0}",
    ),
    (
        r"(\S+) cannot bind with the password the script printed",
        "{0} ne s'authentifie pas avec le mot de passe affiché par le script",
    ),
    (r"(\S+) cannot bind with its password", "{0} ne s'authentifie pas avec son mot de passe"),
    (
        r"a 9-character password is refused \((.*)\)",
        "un mot de passe de 9 caractères est refusé ({0})",
    ),
    (r"a 9-character password is accepted", "un mot de passe de 9 caractères est accepté"),
    (r"the user may change his own password", "l'utilisateur peut changer son mot de passe"),
    (
        r"the user cannot change his own password \((.*)\)",
        "l'utilisateur ne peut pas changer son mot de passe ({0})",
    ),
    (r"a previous password is refused \((.*)\)", "un ancien mot de passe est refusé ({0})"),
    (r"a previous password is accepted again", "un ancien mot de passe est de nouveau accepté"),
    (
        r"anonymous clients read nothing under (\S+)",
        "les clients anonymes ne lisent rien sous {0}",
    ),
    (
        r"anonymous clients read (\d+) entries under (\S+)",
        "les clients anonymes lisent {0} entrées sous {1}",
    ),
    (r"a user reads another's cn", "un utilisateur lit le cn d'un autre"),
    (r"a user cannot read another's cn", "un utilisateur ne peut pas lire le cn d'un autre"),
    (
        r"a user cannot read another's password",
        "un utilisateur ne peut pas lire le mot de passe d'un autre",
    ),
    (r"a user reads another's userPassword", "un utilisateur lit le userPassword d'un autre"),
    (
        r"a user cannot modify another's entry \((.*)\)",
        "un utilisateur ne peut pas modifier la fiche d'un autre ({0})",
    ),
    (r"a user modifies another's entry", "un utilisateur modifie la fiche d'un autre"),
    (r"(\S+): stored as (.+)", "{0} : stocké en {1}"),
    (r"(\S+): no password stored", "{0} : aucun mot de passe stocké"),
    (r"(\S+): a password stored in clear", "{0} : un mot de passe stocké en clair"),
    (
        r"not exercised: the script could not create an account",
        "non évalué : le script n'a pu créer aucun compte",
    ),
    (
        r"(\S+) cannot bind with the exam's password",
        "{0} ne s'authentifie pas avec le mot de passe de l'épreuve",
    ),
    (r"(\S+) with ou=people and ou=groups", "{0} avec ou=people et ou=groups"),
    (r"the administrator binds", "l'administrateur s'authentifie"),
    (r"missing: (.+)", "absents : {0}"),
    (r"no password was printed", "aucun mot de passe affiché"),
    (r"(\d+) of (\d+) too weak \((\d+) characters\)", "{0} sur {1} trop faibles ({2} caractères)"),
    (r"(\d+) printed twice", "{0} affichés deux fois"),
    (
        r"(\d+) passwords, each of (\d+)\+ characters with the four classes, all different",
        "{0} mots de passe, chacun d'au moins {1} caractères des quatre sortes, tous différents",
    ),
    (r"(\S+) is root's only", "{0} est réservé à root"),
    (
        r"(\S+) is missing, not root's or open to others",
        "{0} est absent, n'est pas à root ou est ouvert aux autres",
    ),
    (
        r"(\S+) is missing, not root's or readable by others",
        "{0} est absent, n'est pas à root ou est lisible par les autres",
    ),
    (r"the journal holds no password", "le journal ne contient aucun mot de passe"),
    (r"the journal holds (\d+) password\(s\)", "le journal contient {0} mot(s) de passe"),
    (
        r"the journal tells every action, dated, with its result",
        "le journal consigne chaque action, datée, avec son résultat",
    ),
    (r"the journal does not tell (.+)", "le journal ne consigne pas : {0}"),
]

OBSERVED_FR: Final = [
    (
        r"LDAP bind as (.+) \(password not shown\) \(from the grader\)",
        "LDAP : authentification en tant que {0} (mot de passe masqué, depuis le correcteur)",
    ),
    (
        r"LDAP search (\S+) (.+) \(from the grader\)",
        "LDAP : recherche {0} {1} (depuis le correcteur)",
    ),
    (
        r"LDAP password modify (\S+) \(passwords not shown\) \(from the grader\)",
        "LDAP : changement du mot de passe de {0} (mots de passe masqués, depuis le correcteur)",
    ),
    (
        r"LDAP modify (\S+) (.+) \(from the grader\)",
        "LDAP : modification de {0} {1} (depuis le correcteur)",
    ),
    (r"LDAP delete (\S+) \(from the grader\)", "LDAP : suppression de {0} (depuis le correcteur)"),
]
