"""The grader's findings, end reasons, commands and points as the jury reads them."""

from __future__ import annotations

import shlex

from app.reports.messages import (
    as_ran,
    end_reason,
    evidence_command,
    evidence_output,
    grader_message,
)
from app.reports.view import effective_status, points_text
from labs.referential import load_referential


def test_findings_in_french_one_by_one() -> None:
    message = "exit status 1, expected 0; /root/x does not exist; port 22 is open from the network"
    assert grader_message(message, "fr") == (
        "code de retour 1, 0 attendu; /root/x n'existe pas; port 22 ouvert depuis le réseau"
    )
    assert grader_message(message, "en") == message


def test_specific_findings_win_over_general_ones() -> None:
    assert grader_message("apache2 is active and enabled", "fr") == (
        "apache2 est actif et lancé au démarrage"
    )
    assert grader_message("/etc/x exists as expected", "fr") == "/etc/x existe comme attendu"
    assert grader_message("port 80 is closed on the node, not open", "fr") == (
        "port 80 fermé dans la machine, et non ouvert"
    )


def test_a_command_s_findings_quote_what_it_saw_in_french_too() -> None:
    found = "exit status 0, output shows 'Listen 80', 'x', output has no /^Listen 8080/"
    assert grader_message(found, "fr") == (
        "code de retour 0, la sortie montre 'Listen 80', 'x' et aucun /^Listen 8080/"
    )
    assert grader_message("exit status 0", "fr") == "code de retour 0"
    refused = "output matches /On$/, which it must not: 'ServerSignature On'"
    assert grader_message(refused, "fr") == (
        "la sortie correspond à /On$/, ce qu'elle ne doit pas : 'ServerSignature On'"
    )


def test_ports_with_their_protocol_and_as_older_reports_name_them() -> None:
    assert grader_message("udp port 53 is open on the node", "fr") == (
        "port UDP 53 ouvert dans la machine"
    )
    assert grader_message("tcp port 80 is closed from the network, not open", "fr") == (
        "port TCP 80 fermé depuis le réseau, et non ouvert"
    )
    assert grader_message("nothing listens on udp port 53 in the node", "fr") == (
        "rien n'écoute sur le port UDP 53 dans la machine"
    )
    assert grader_message(
        "tcp port 80 is held by /usr/bin/python3, not /usr/sbin/apache2", "fr"
    ) == ("le port TCP 80 est tenu par /usr/bin/python3, pas /usr/sbin/apache2")
    assert grader_message("port 80 is open from the network", "fr") == (
        "port 80 ouvert depuis le réseau"
    )
    assert evidence_command("listening on udp port 53 (host view)", "host", "fr") == (
        "écoute sur le port UDP 53 (vue de l'hôte)"
    )


def test_dns_findings_in_french_each_transport_apart() -> None:
    partial = (
        "www.example.lan A over udp: 192.0.2.10 (aa); "
        "www.example.lan A over tcp: no DNS answer from 10.0.0.2 port 53 (connection refused)"
    )
    assert grader_message(partial, "fr") == (
        "www.example.lan A en UDP : 192.0.2.10 (aa); "
        "www.example.lan A en TCP : pas de réponse DNS de 10.0.0.2 port 53 (connexion refusée)"
    )
    assert grader_message(
        "www.debian.org A over udp and tcp: status REFUSED, expected NOERROR", "fr"
    ) == ("www.debian.org A en UDP et TCP : statut REFUSED, NOERROR attendu")
    assert grader_message("x.lan A over udp and tcp: flag ra is not set", "fr") == (
        "x.lan A en UDP et TCP : l'indicateur ra n'est pas positionné"
    )
    assert grader_message("x.lan A over tcp: answer lacks 192.0.2.9 (got no records)", "fr") == (
        "x.lan A en TCP : il manque à la réponse 192.0.2.9 (reçu : aucun enregistrement)"
    )
    asked = (
        "DNS query x.lan. A, no recursion desired over udp to 10.0.0.2 port 53 (from the grader)"
    )
    assert evidence_command(asked, "outside", "fr") == (
        "requête DNS x.lan. A, sans demande de récursion en UDP vers 10.0.0.2 port 53 "
        "(depuis le correcteur)"
    )


def test_an_unknown_finding_stays_as_written() -> None:
    assert grader_message("account app: no GRANT", "fr") == "account app: no GRANT"


def test_end_reasons() -> None:
    assert end_reason("time is up", "fr") == "temps écoulé"
    assert end_reason("ended by examiner jury.martin", "fr") == (
        "terminée par l'examinateur jury.martin"
    )
    assert end_reason("submitted by candidat before the lab was ready", "fr") == (
        "copie rendue par candidat avant que le lab soit prêt"
    )
    assert end_reason("ended by examiner x", "en") == "ended by examiner x"


def test_old_shell_quoted_commands_show_as_they_ran() -> None:
    stored = shlex.join(["mysql", "--batch", "-e", "SELECT id FROM t WHERE a='x'"])
    assert "'\"'\"'" in stored
    assert as_ran(stored) == "mysql --batch -e \"SELECT id FROM t WHERE a='x'\""
    assert as_ran("grep -q 'a b' /etc/x") == "grep -q 'a b' /etc/x"  # as written: untouched


def test_points_and_the_status_an_override_means() -> None:
    assert points_text(0.75, 2, "fr") == "1,5 / 2"
    assert points_text(0.75, 2, "en") == "1.5 / 2"
    assert effective_status("failed", 0.5, overridden=True) == "partial"
    assert effective_status("failed", 1.0, overridden=True) == "passed"
    assert effective_status("passed", 0.0, overridden=True) == "failed"
    assert effective_status("blocked", 0.0, overridden=False) == "blocked"


def test_referential_agreement() -> None:
    texts = str(load_referential().model_dump())
    assert "procédures de sécurité préalablement établies" in texts


def test_what_the_platform_observed_is_worded_not_prompted() -> None:
    read = "read /root/answer.txt (from the host)"
    assert evidence_command(read, "host", "fr") == "lecture de /root/answer.txt (depuis l'hôte)"
    assert evidence_output("absent", "host", "fr") == "fichier absent"
    assert evidence_command("tcp connect 10.213.1.2:22", "outside", "fr") == (
        "connexion TCP à 10.213.1.2:22"
    )
    assert evidence_output("connected", "outside", "fr") == "connexion établie"
    assert evidence_command(read, "host", "en") == read  # English as graders write it, no "$ "
    assert evidence_output("/etc/x: file, mode 644, uid 0, gid 0\nab", "host", "fr") == (
        "/etc/x : fichier, mode 644, uid 0, gid 0\nab"
    )


def test_shell_commands_keep_their_prompt_and_output_as_they_ran() -> None:
    assert evidence_command("cat absent", "node", "fr") == "$ cat absent"
    assert evidence_command("hostname", None, "fr") == "$ hostname"  # old reports: no `via`
    assert evidence_output("connected", "node", "fr") == "connected"  # what a shell printed


def test_the_ldap_exam_s_findings_and_observations_in_french() -> None:
    found = (
        "create px1: the printed password opens the account; "
        "a wrong current password: exit status 0, and the password changed; "
        "anonymous clients read 3 entries under ou=people,dc=colibri,dc=lan; "
        "px2: a password stored in clear; the journal does not tell change px2 (failure)"
    )
    assert grader_message(found, "fr") == (
        "create px1 : le mot de passe affiché ouvre le compte; "
        "un mot de passe actuel faux : code de retour 0, et le mot de passe a changé; "
        "les clients anonymes lisent 3 entrées sous ou=people,dc=colibri,dc=lan; "
        "px2 : un mot de passe stocké en clair; le journal ne consigne pas : change px2 (failure)"
    )
    bind = "LDAP bind as uid=px1,ou=people,dc=x (password not shown) (from the grader)"
    assert evidence_command(bind, "outside", "fr") == (
        "LDAP : authentification en tant que uid=px1,ou=people,dc=x "
        "(mot de passe masqué, depuis le correcteur)"
    )


def test_the_pdf_exam_s_findings_and_what_it_sent_in_french() -> None:
    found = (
        "encryption: RC4, not AES; 2 pages, expected 3 (one a section); "
        "a text without HTML: 200, not 400; the PDF holds the server's /etc/passwd"
    )
    assert grader_message(found, "fr") == (
        "chiffrement : RC4, pas AES; 2 pages, 3 attendues (une par section); "
        "un texte sans HTML : 200, et non 400; le PDF contient le /etc/passwd du serveur"
    )
    sent = (
        "POST http://10.0.0.2:8080/convert (from the grader to 10.0.0.2) with an order form "
        "of 3 pages and a password (not shown)"
    )
    assert evidence_command(sent, "outside", "fr") == (
        "POST http://10.0.0.2:8080/convert (du correcteur vers 10.0.0.2) avec un bon de commande "
        "de 3 pages et un mot de passe (masqué)"
    )


def test_the_app_tests_exam_s_findings_and_sandboxes_in_french() -> None:
    found = (
        "penalite-bornes: penalite(26) returns 5.2, expected: returns 5.0; "
        "membres: inscrire('Zoé') gives nothing readable, expected: returns None; "
        "isbn-forme: not run: 30s spent; no /home/candidat/prets/prets.py; "
        "3 of 12 tests fail; 4 tests, at least 5 expected; "
        "the tests cover 64% of prets.py, 80% expected; they miss: the late fee has no ceiling; "
        "4 cases, at least 10 expected; 3 of the subject's functions covered, 6 expected"
    )
    assert grader_message(found, "fr") == (
        "penalite-bornes : penalite(26) renvoie 5.2, attendu : renvoie 5.0; "
        "membres : inscrire('Zoé') ne donne rien de lisible, attendu : renvoie None; "
        "isbn-forme : non joué, les 30 s sont écoulées; /home/candidat/prets/prets.py absent; "
        "3 tests sur 12 échouent; 4 tests, au moins 5 attendus; "
        "les tests couvrent 64 % de prets.py, 80 % attendus; "
        "ils ne détectent pas : la pénalité de retard n'a pas de plafond; "
        "4 cas, au moins 10 attendus; 3 des fonctions du sujet couvertes, 6 attendues"
    )
    ran = "sandbox: tests/test_prets.py against a prets.py where an unknown member may borrow"
    assert evidence_command(ran, "outside", "fr") == (
        "bac à sable : tests/test_prets.py sur un prets.py où un adhérent inconnu peut emprunter"
    )
