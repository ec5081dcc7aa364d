"""Jury reports: what a signed document must show, and that lab output can never inject markup."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from pypdf import PasswordType, PdfReader
from pypdf.errors import FileNotDecryptedError
from pypdf.generic import DictionaryObject

from app.api.reports import integrity_of
from app.reports import (
    Credit,
    CriterionLine,
    EvidenceItem,
    Finding,
    NodeIntegrity,
    Override,
    SessionReport,
    cohort_csv,
    cohort_rows,
    cohort_xlsx,
    render_html,
    render_pdf,
)
from app.reports.incidents import IncidentLine

HOSTILE = "<script>alert('pwned')</script>\nAuteur : Émile Zola & fils"
MESSAGE = "nginx répond « 200 » <b>ok</b> & vite"  # PDF paragraphs parse markup too
JUSTIFICATION = "Chiffrement fait avec GPG au lieu d'age : résultat équivalent."


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def make_report(**changes: object) -> SessionReport:
    """Three criteria: a pass whose evidence is hostile, an override, a blocked one."""
    web = CriterionLine(
        id="web",
        title="Serveur web actif",
        referential="C3.1",
        referential_text="Déployer un service web",
        weight=2,
        score=1.0,
        original_score=1.0,
        status="passed",
        message=MESSAGE,
        evidence=[
            EvidenceItem(
                node="web1",
                command="curl -s http://localhost/",
                status=0,
                output=HOSTILE,
                duration_ms=42,
            )
        ],
        override=None,
    )
    backup = CriterionLine(
        id="backup",
        title="Sauvegarde chiffrée",
        referential="C3.2",
        referential_text=None,
        weight=1,
        score=0.75,
        original_score=0.0,
        status="failed",
        message="aucune archive .age trouvée",
        evidence=[
            EvidenceItem(
                node="db1",
                command="ls /srv/backup",
                status=0,
                output="dump.sql.gpg\n",
                duration_ms=1500,
            )
        ],
        override=Override(0.75, JUSTIFICATION, "jury.martin", utc(3, 12, 15, 2)),
    )
    monitoring = CriterionLine(
        id="monitoring",
        title="Supervision du service",
        referential=None,
        referential_text=None,
        weight=1,
        score=0.0,
        original_score=0.0,
        status="blocked",
        message="dépend de web",
        evidence=[],
        override=None,
    )
    report = SessionReport(
        session_id="s-0042",
        candidate="Émile Zola",
        scenario_id="web-backup",
        scenario_title="Service web et sauvegardes",
        scenario_version="9f2c1ab",
        referential="BLOC4 — C3 Mise en situation professionnelle",
        created_at=utc(3, 12, 12, 58),
        ready_at=utc(3, 12, 13, 0),
        deadline=utc(3, 12, 15, 15),
        ended_at=utc(3, 12, 14, 30),
        graded_at=utc(3, 12, 14, 31),
        extensions=[(utc(3, 12, 14, 0), 15, "incident réseau", "surveillant.dupont")],
        end_reason="rendu par le candidat",
        criteria=[web, backup, monitoring],
        points=2.75,
        max_points=4,
        percent=68.8,
        original_percent=50.0,
    )
    return replace(report, **changes)  # type: ignore[arg-type]


def pdf_text(data: bytes, password: str | None = None) -> str:
    reader = PdfReader(io.BytesIO(data))
    if password is not None:
        assert reader.decrypt(password) != PasswordType.NOT_DECRYPTED
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


# --- HTML ------------------------------------------------------------------------------------


def test_html_shows_criteria_total_and_override() -> None:
    html = render_html(make_report())
    for title in ("Serveur web actif", "Sauvegarde chiffrée", "Supervision du service"):
        assert title in html
    assert "2,75 / 4 points — 68,8\u00a0%" in html
    assert "Résultat avant modifications du jury : 50,0\u00a0%" in html
    assert "Chiffrement fait avec GPG au lieu d&#39;age" in html
    assert "score initial 0 / 1 → nouveau score 0,75 / 1" in html
    assert "par jury.martin, le 12/03/2025 16:02:00 CET" in html
    assert "Bloqué" in html and "Aucune preuve collectée" in html
    assert "BLOC4 — C3 Mise en situation professionnelle" in html and "9f2c1ab" in html


def test_html_escapes_lab_output() -> None:
    html = render_html(make_report())
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert "Émile Zola &amp; fils" in html
    assert "nginx répond « 200 » &lt;b&gt;ok&lt;/b&gt; &amp; vite" in html


def test_html_has_signature_block() -> None:
    html = render_html(make_report())
    assert "Signatures du jury" in html
    assert "Fait à ____" in html and ", le ____" in html
    signature = html[html.index('<section class="signature">') :]
    assert signature.count("<tr><td></td><td></td><td></td></tr>") == 2


def test_html_times_in_paris_across_dst() -> None:
    html = render_html(make_report())
    assert "12/03/2025 13:58:00 CET" in html  # created, 12:58 UTC in winter
    assert "12/03/2025 15:00:00 CET" in html  # extension
    assert "+15 min — incident réseau (par surveillant.dupont)" in html
    assert "12/03/2025 15:30:00 CET" in html and "rendu par le candidat" in html
    summer = render_html(make_report(ended_at=utc(7, 1, 10)))
    assert "01/07/2025 12:00:00 CEST" in summer


def test_html_naive_times_are_utc_and_tz_is_configurable() -> None:
    naive = datetime(2025, 3, 12, 12, 58)
    assert "12/03/2025 13:58:00 CET" in render_html(make_report(created_at=naive))
    html = render_html(make_report(), tz="America/Montreal")
    assert "12/03/2025 08:58:00 EDT" in html


def test_html_in_english() -> None:
    html = render_html(make_report(lang="en"))
    assert '<html lang="en">' in html
    assert "2.75 / 4 points — 68.8%" in html
    assert "Result before the jury&#39;s changes: 50.0%" in html
    assert "2025-03-12 13:58:00 CET" in html and "Jury signatures" in html
    assert "Fait à" not in html


def test_html_hides_original_percent_when_unchanged() -> None:
    html = render_html(make_report(original_percent=68.8))
    assert "Résultat avant modifications" not in html


# --- PDF -------------------------------------------------------------------------------------


def test_pdf_text_has_titles_total_and_accents() -> None:
    data = render_pdf(make_report())
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    for title in ("Serveur web actif", "Sauvegarde chiffrée", "Supervision du service"):
        assert title in text
    assert "68,8" in text and "50,0" in text
    assert "Émile Zola" in text and "<script>alert('pwned')</script>" in text
    assert JUSTIFICATION in text and MESSAGE in text
    assert "Signatures du jury" in text and "Fait à" in text
    assert "13:58:00 CET" in text


def test_pdf_truncates_long_outputs() -> None:
    report = make_report()
    long_output = "x" * 1490 + "FIN" + "y" * 5000 + "SECRET-TAIL"
    line = replace(
        report.criteria[2],
        evidence=[
            EvidenceItem(node="n", command="cat big", status=0, output=long_output, duration_ms=5)
        ],
    )
    text = pdf_text(render_pdf(replace(report, criteria=[*report.criteria[:2], line])))
    assert "FIN" in text and "SECRET-TAIL" not in text
    assert "sortie tronquée" in text


def test_pdf_survives_characters_its_fonts_lack() -> None:
    report = make_report(candidate="Zoë \u2713 \u4e2d\u202f\x1b[31mred\x1b[0m\ttab")
    text = pdf_text(render_pdf(report))
    assert "Zoë ✓ ? red tab" in text  # no glyph for 中 in DejaVu, no colour codes
    assert "score initial 0 / 1 → nouveau score 0,75 / 1" in text


def _with_evidence(output: str, **changes: object) -> SessionReport:
    report = make_report(**changes)
    item = EvidenceItem(
        node="web1", command="systemctl status ssh", status=0, output=output, duration_ms=9
    )
    line = replace(report.criteria[2], evidence=[item])
    return replace(report, criteria=[*report.criteria[:2], line])


@pytest.mark.parametrize("name", ["Nguyễn Văn An", "Łukasz Wiśniewski", "Şahin Đặng"])
def test_pdf_prints_a_name_as_written(name: str) -> None:
    """Helvetica printed "Nguy?n V?n An" on the report the jury signs."""
    text = pdf_text(render_pdf(make_report(candidate=name)))
    assert text.count(name) == 3  # the header and each of the two pages' footer


def test_pdf_prints_evidence_as_the_terminal_showed_it() -> None:
    output = "● ssh.service - OpenBSD Secure Shell server\n└─812 sshd: /usr/sbin/sshd ✓"
    text = pdf_text(render_pdf(_with_evidence(output)))
    assert "● ssh.service - OpenBSD Secure Shell server └─812 sshd: /usr/sbin/sshd ✓" in text


def test_pdf_evidence_prints_what_its_monospace_font_lacks_as_a_question_mark() -> None:
    """DejaVu Sans Mono has no "ễ": the name prints as written in the header, with "?" in
    the evidence, never as an empty box."""
    report = _with_evidence("Nguyễn Văn An", candidate="Nguyễn Văn An")
    text = pdf_text(render_pdf(report))
    assert "Candidat Nguyễn Văn An" in text and "Nguy?n Văn An" in text


@pytest.mark.parametrize(
    ("written", "printed"),
    [
        ("Li 漢", "Li ?"),  # no DejaVu face has Chinese characters
        ("Ana \U0001f980", "Ana ?"),  # nor this emoji
        ("Ana \U0001f600", "Ana ?"),  # DejaVu Sans has this one, beyond U+FFFF: see pdf_text
        ("Ali علي", "Ali ???"),  # DejaVu has Arabic, reportlab would print it backwards
    ],
)
def test_pdf_prints_what_it_cannot_draw_as_a_question_mark(written: str, printed: str) -> None:
    text = pdf_text(render_pdf(make_report(candidate=written)))
    assert f"Candidat {printed} Scénario" in text


def test_pdf_composes_decomposed_accents() -> None:
    """A name typed on a Mac comes decomposed ("e" and two combining accents): one glyph."""
    decomposed = unicodedata.normalize("NFD", "Nguyễn Văn An")
    text = pdf_text(render_pdf(make_report(candidate=decomposed)))
    assert "Candidat Nguyễn Văn An Scénario" in text


def test_pdf_embeds_only_the_glyphs_it_uses() -> None:
    """67 KB for this two-page report in three DejaVu faces (6 KB in Helvetica, which readers
    have built in); DejaVu Sans whole would weigh 380 KB compressed on its own."""
    assert len(render_pdf(make_report(candidate="Nguyễn Văn An"))) < 150_000


def test_encrypted_pdf_needs_the_password() -> None:
    data = render_pdf(make_report(), password="j-ury 2025")
    reader = PdfReader(io.BytesIO(data))
    assert reader.is_encrypted
    encryption = reader.trailer["/Encrypt"].get_object()
    assert isinstance(encryption, DictionaryObject)
    assert int(encryption["/V"]) == 5  # type: ignore[call-overload]  # V5: AES-256
    with pytest.raises(FileNotDecryptedError):
        reader.pages[0].extract_text()
    assert reader.decrypt("wrong") == PasswordType.NOT_DECRYPTED
    assert "68,8" in pdf_text(data, password="j-ury 2025")
    assert b"Serveur web actif" not in data


def test_empty_pdf_password_is_refused() -> None:
    with pytest.raises(ValueError):
        render_pdf(make_report(), password="")


# --- Cohort exports ----------------------------------------------------------------------------


def second_report() -> SessionReport:
    """Another candidate on another scenario: one shared criterion, one new."""
    first = make_report()
    extra = replace(first.criteria[0], id="dns", title="DNS", score=0.5)
    return replace(
        first,
        session_id="s-0043",
        candidate='=HYPERLINK("http://evil")',
        scenario_id="web-dns",
        graded_at=None,
        criteria=[first.criteria[0], extra],
        points=3.0,
        max_points=3,
        percent=100.0,
    )


def test_cohort_rows_union_of_criteria() -> None:
    header, rows = cohort_rows([make_report(), second_report()])
    assert header == [
        "candidate",
        "session_id",
        "scenario",
        "graded_at",
        "web",
        "backup",
        "monitoring",
        "dns",
        "points",
        "max_points",
        "percent",
    ]
    assert rows[0] == [
        "Émile Zola",
        "s-0042",
        "web-backup",
        "2025-03-12T15:31:00+01:00",
        1.0,
        0.75,
        0.0,
        "",
        2.75,
        4,
        68.8,
    ]
    assert rows[1][3:8] == ["", 1.0, "", "", 0.5]


def test_cohort_csv_quotes_and_defuses_formulas() -> None:
    text = cohort_csv([make_report(), second_report()])
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0][:4] == ["candidate", "session_id", "scenario", "graded_at"]
    assert parsed[1][:5] == [
        "Émile Zola",
        "s-0042",
        "web-backup",
        "2025-03-12T15:31:00+01:00",
        "1.0",
    ]
    assert parsed[1][-3:] == ["2.75", "4", "68.8"]
    assert parsed[2][0] == '\'=HYPERLINK("http://evil")'
    assert '"\'=HYPERLINK(""http://evil"")"' in text  # RFC 4180 quoting of the inner quotes
    assert text.encode("utf-8").decode("utf-8") == text


def test_cohort_xlsx_header_rows_and_layout() -> None:
    book = load_workbook(io.BytesIO(cohort_xlsx([make_report(), second_report()])))
    sheet = book.active
    assert sheet is not None
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == cohort_rows([make_report(), second_report()])[0]
    assert values[1] == [
        "Émile Zola",
        "s-0042",
        "web-backup",
        "2025-03-12T15:31:00+01:00",
        1,
        0.75,
        0,
        None,
        2.75,
        4,
        68.8,
    ]
    assert values[2][0] == '=HYPERLINK("http://evil")'
    assert sheet["A3"].data_type == "s"
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width >= len('=HYPERLINK("http://evil")')


def test_empty_cohort() -> None:
    header, rows = cohort_rows([])
    assert header[-3:] == ["points", "max_points", "percent"] and rows == []
    assert cohort_csv([]).splitlines() == [
        "candidate,session_id,scenario,graded_at,points,max_points,percent"
    ]


# --- Incomplete grades, integrity, how evidence was observed ------------------------------------

TAMPERED_PATH = "/usr/bin/systemctl"


def incomplete_report(**changes: object) -> SessionReport:
    """A grader error on one criterion, a tampered node, a clean one and one never scanned."""
    report = make_report()
    web = replace(
        report.criteria[0],
        evidence=[
            EvidenceItem(
                node="web1",
                command="GET http://web1/",
                status=200,
                output="ok",
                duration_ms=12,
                via="outside",
            ),
            EvidenceItem(
                node="web1",
                command="stat /etc/nginx/nginx.conf",
                status=0,
                output="file",
                duration_ms=3,
                via="host",
            ),
            EvidenceItem(
                node="web1", command="nginx -t", status=0, output="syntax is ok", duration_ms=40
            ),  # no via: an old item
        ],
    )
    broken = replace(
        report.criteria[2],
        status="error",
        message="could not be graded: grading took longer than its budget of 120s",
    )
    integrity = [
        NodeIntegrity(
            node="web1",
            checked=7,
            findings=[
                Finding(
                    path=TAMPERED_PATH,
                    problem="changed: not as any verified Debian package ships it",
                ),
                Finding(
                    path="/usr/lib/<evil>.so",
                    problem="a library in the loader's path, from no package",
                ),
            ],
        ),
        NodeIntegrity(node="db1", checked=12),
        NodeIntegrity(node="cache1", error="not scanned: node is down"),
    ]
    fields: dict[str, object] = {
        "criteria": [web, report.criteria[1], broken],
        "integrity": integrity,
        "attempts": 3,
    }
    return replace(report, **{**fields, **changes})  # type: ignore[arg-type]


def test_html_flags_an_incomplete_grade_and_tampering() -> None:
    html = render_html(incomplete_report())
    notice = (
        "Notation incomplète : 1 critère n&#39;a pas pu être évalué (erreur du correcteur, "
        "pas du candidat) — à revoir par le jury"
    )
    assert notice in html and html.index(notice) < html.index("Déroulement de l")
    assert "Non évalué" in html and "erreur du correcteur" in html
    assert 'class="status status-error"' in html
    assert "Falsification détectée sur web1" in html
    assert f"<code>{TAMPERED_PATH}</code>" in html
    assert "<code>/usr/lib/&lt;evil&gt;.so</code>" in html
    assert "outils propres à cette machine ont été écartés" in html
    assert "12 fichiers système vérifiés, aucune modification hors paquets Debian" in html
    assert "non vérifié : not scanned: node is down" in html
    assert "3 tentatives de notation" in html
    integrity = html.index("Intégrité du lab")
    assert html.index("Déroulement de l") < integrity < html.index("Critères d")


def test_html_says_how_each_piece_of_evidence_was_observed() -> None:
    html = render_html(incomplete_report())
    assert "depuis l&#39;extérieur (réseau du lab)" in html
    assert "depuis l&#39;hôte" in html
    assert "dans la machine (outils de la machine)" in html  # the item without `via`
    english = render_html(incomplete_report(lang="en"))
    for via in ("from outside (lab network)", "from the host", "inside the node (node&#39;s own"):
        assert via in english


def test_html_in_english_flags_the_same() -> None:
    html = render_html(incomplete_report(lang="en"))
    assert "Incomplete grade: 1 criterion could not be graded" in html
    assert "Not graded" in html and "grader error" in html
    assert "Tampering found on web1" in html and TAMPERED_PATH in html
    assert "12 system files checked, none changed outside Debian&#39;s packages" in html
    assert "not checked: not scanned: node is down" in html


def test_html_caps_the_list_of_tampered_files() -> None:
    findings = [Finding(path=f"/usr/bin/tool{i:03d}", problem="changed") for i in range(60)]
    report = incomplete_report(
        integrity=[NodeIntegrity(node="web1", checked=60, findings=findings)]
    )
    html = render_html(report)
    assert "/usr/bin/tool049" in html and "/usr/bin/tool050" not in html
    assert "… et 10 autre(s), non listé(s) ici" in html


def test_html_counts_ungraded_criteria() -> None:
    report = incomplete_report()
    errors = [replace(line, status="error") for line in report.criteria]
    html = render_html(replace(report, criteria=errors))
    assert "Notation incomplète : 3 critères n&#39;ont pas pu être évalués" in html


def test_old_report_without_the_new_keys_still_renders() -> None:
    html = render_html(make_report())
    assert "Notation incomplète" not in html and "Intégrité du lab" not in html
    assert "tentatives de notation" not in html
    assert "dans la machine (outils de la machine)" in html  # evidence without `via`
    text = pdf_text(render_pdf(make_report()))
    assert "Notation incomplète" not in text and "Intégrité du lab" not in text
    assert "Serveur web actif" in text


def test_pdf_flags_an_incomplete_grade_and_tampering() -> None:
    text = pdf_text(render_pdf(incomplete_report()))
    assert "Notation incomplète : 1 critère n'a pas pu être évalué" in text
    assert text.index("Notation incomplète") < text.index("Déroulement de l")
    assert "Falsification détectée sur web1" in text
    assert TAMPERED_PATH in text and "/usr/lib/<evil>.so" in text
    assert "Non évalué" in text and "erreur du correcteur" in text
    assert "12 fichiers système vérifiés" in text
    assert "non vérifié : not scanned: node is down" in text
    assert "depuis l'hôte" in text and "dans la machine (outils de la machine)" in text


def test_pdf_splits_a_long_list_of_tampered_files() -> None:
    """Fifty long lines do not fit in one unbreakable block: the warning must split."""
    problem = "changed: not as any verified Debian package ships it " * 3
    findings = [
        Finding(path=f"/usr/lib/x86_64-linux-gnu/{'l' * 80}{i}.so", problem=problem)
        for i in range(80)
    ]
    report = incomplete_report(
        integrity=[NodeIntegrity(node="web1", checked=80, findings=findings)], lang="en"
    )
    text = pdf_text(render_pdf(report))
    assert "Tampering found on web1" in text and "and 30 more, not listed here" in text


def test_stored_integrity_is_read_and_missing_is_empty() -> None:
    stored = {
        "integrity": [
            {"node": "web1", "checked": 3, "findings": [{"path": "/bin/ls", "problem": "x"}]},
            {"node": "db1", "checked": 0, "findings": [], "error": "not scanned: down"},
        ]
    }
    assert integrity_of(stored) == [
        NodeIntegrity(node="web1", checked=3, findings=[Finding(path="/bin/ls", problem="x")]),
        NodeIntegrity(node="db1", error="not scanned: down"),
    ]
    assert integrity_of({"criteria": []}) == []


# --- Words and layout the jury reads (review of the result page and the PDF) ---------------


def _host_evidence() -> EvidenceItem:
    return EvidenceItem(
        node="web1",
        command="read /root/answer.txt (from the host)",
        status=1,
        output="absent",
        duration_ms=3,
        via="host",
    )


def test_pdf_words_what_the_host_observed() -> None:
    report = make_report()
    line = replace(report.criteria[2], evidence=[_host_evidence()])
    text = pdf_text(render_pdf(replace(report, criteria=[*report.criteria[:2], line])))
    assert "lecture de /root/answer.txt (depuis l'hôte)" in text and "fichier absent" in text
    assert "from the host" not in text and "$ read" not in text
    assert "$ curl -s http://localhost/" in text  # a shell command keeps its prompt


def test_no_reference_column_when_no_criterion_has_one() -> None:
    report = make_report()
    plain = [replace(c, referential=None, referential_text=None) for c in report.criteria]
    text = pdf_text(render_pdf(replace(report, criteria=plain)))
    assert "Réf." not in text and "Critère" in text
    assert "Réf." not in render_html(replace(report, criteria=plain))
    assert "Réf." in pdf_text(render_pdf(report))  # some have one: the column stays


def test_pdf_timeline_moves_the_deadline_in_order() -> None:
    down = IncidentLine("web1", "exit:137", utc(3, 12, 13, 30), utc(3, 12, 13, 31), 60)
    credit = Credit(utc(3, 12, 13, 35), 60, "web1", "redémarrage", "surveillant.dupont")
    text = pdf_text(render_pdf(make_report(incidents=[down], credits=[credit])))
    steps = [
        "Échéance initiale 12/03/2025 15:59:00 CET",  # 15:15 UTC - 15 min - 60 s
        "Machine en panne 12/03/2025 14:30:00 CET web1 : arrêtée (code de sortie 137",
        "Machine revenue 12/03/2025 14:31:00 CET",
        "Temps rendu 12/03/2025 14:35:00 CET +60 s pour l'incident sur web1 — redémarrage",
        "Prolongation 12/03/2025 15:00:00 CET +15 min",
        "Échéance finale 12/03/2025 16:15:00 CET",
        "Fin de l'épreuve",
    ]
    places = [text.index(step) for step in steps]
    assert places == sorted(places)


def test_pdf_timeline_has_one_deadline_when_nothing_moved_it() -> None:
    text = pdf_text(render_pdf(make_report(extensions=[])))
    assert "Échéance 12/03/2025 16:15:00 CET" in text and "Échéance initiale" not in text


def test_pdf_keeps_a_criterion_heading_with_its_first_evidence() -> None:
    """Criteria of many sizes: without the block kept together, some heading ends a page."""
    report = make_report()
    lines = [
        replace(
            report.criteria[0],
            id=f"c{i:02d}",
            message="ok",
            evidence=[
                EvidenceItem(
                    node="web1",
                    command=f"check-{i:02d}",
                    status=0,
                    output="\n".join(f"line {n}" for n in range(5 + 7 * i % 23)),
                    duration_ms=1,
                )
            ],
        )
        for i in range(30)
    ]
    reader = PdfReader(io.BytesIO(render_pdf(replace(report, criteria=lines))))
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]
    assert len(pages) <= 16  # kept together, yet sharing pages: not one page per criterion
    for i in range(30):
        heading = next(n for n, page in enumerate(pages) if f"c{i:02d} — Serveur" in page)
        assert f"$ check-{i:02d}" in pages[heading], f"c{i:02d} split from its evidence"
