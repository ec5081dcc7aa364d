"""Windows Server Backup checks against a scripted Windows node answering what Windows
PowerShell 5.1's ConvertTo-Json makes of the cmdlets' objects: right, wrong and hostile."""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.catalog import validate
from graders import windows
from graders.contract import CheckContext, CommandResult, NodeUnreachable

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "windows-backup"
LOST = "C:\\Donnees\\Compta\\factures-2024.csv"
CONTENT = "F2024-0117;Boulangerie Martin;2024-11-04;1250.00;payee"
SHA = hashlib.sha256(CONTENT.encode()).hexdigest().upper()
PLAN = "C:\\Admin\\plan-sauvegarde.txt"
PREFIX = "powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand "

# What the cmdlets answer on a server where the candidate did everything (PowerShell 5.1:
# compressed JSON, InstallState as its enum's number, the times the grader's script writes).
FEATURE = '{"Name":"Windows-Server-Backup","Installed":true,"InstallState":1}'
POLICY = {
    "Schedule": ["21:00"],
    "BackupTargets": [
        {
            "Label": "SRV 2026_11_29 09:12 DISK_01",
            "Path": "\\\\?\\Volume{61776c53-3eeb-447b-b38e-a6cd3bee7fbb}",
            "TargetType": "Disk",
            "WBDiskId": "5e2a0a4c-1f5b-4d0c-9a59-3c8f6a1b2c3d",
        }
    ],
    "FileSpecs": [{"FileSpec": "C:\\Donnees", "IsRecursive": True, "IsExclude": False}],
    "SystemState": False,
}
SUMMARY = {
    "LastSuccessfulBackupTime": "2026-11-29T09:20:11.1234567Z",
    "LastBackupTime": "2026-11-29T09:20:11.1234567Z",
    "LastBackupResultHR": 0,
    "NumberOfVersions": 1,
    "LastSuccessfulBackupTargetLabel": "SRV 2026_11_29 09:12 DISK_01",
}
SETS = [
    {
        "VersionId": "11/29/2026-09:20",
        "BackupTime": "2026-11-29T09:20:11.1234567Z",
        "RecoverableItems": "Volumes, File",
    }
]
JOBS = [
    {
        "JobType": "Backup",
        "JobState": "Completed",
        "StartTime": "2026-11-29T09:19:02.0000000Z",
        "EndTime": "2026-11-29T09:20:40.0000000Z",
        "HResult": 0,
    },
    {
        "JobType": "FileRecovery",
        "JobState": "Completed",
        "StartTime": "2026-11-29T09:31:15.0000000Z",
        "EndTime": "2026-11-29T09:31:19.0000000Z",
        "HResult": 0,
    },
]
FILE = {
    "Item": {"FullName": LOST, "Length": 55, "LastWriteTime": "2026-11-29T09:05:44.5120000Z"},
    "FileHash": {"Algorithm": "SHA256", "Hash": SHA, "Path": LOST},
}
PLAN_TEXT = """PLAN DE SAUVEGARDE ET DE RESTAURATION - SRV

1. Menaces
Panne du disque, suppression accidentelle, rançongiciel, incendie ou vol du serveur.

## 2. Périmètre
Le dossier C:\\Donnees et ses sous-dossiers ; le système n'est pas sauvegardé.

3) Planification : tous les jours à 21:00, plus une sauvegarde avant chaque intervention.

4. Destination
Le disque 1 dédié ; une copie hebdomadaire sur disque externe conservée hors site.

5. Rétention
Trente jours de versions quotidiennes, les plus anciennes supprimées automatiquement.

6. Restauration
Console wbadmin.msc > Récupérer > fichiers et dossiers > emplacement d'origine ; test mensuel.
"""
SECTIONS = [
    "menaces|risques",
    "perimetre|donnees sauvegardees",
    "planification|frequence",
    "destination|support",
    "retention|conservation",
    "restauration|procedure de restauration",
]

Answer = str | CommandResult | Exception


def plan(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return json.dumps({"Length": len(data), "Content": base64.b64encode(data).decode()})


class WindowsNode:
    """Decodes each -EncodedCommand and answers by the cmdlet the script calls."""

    def __init__(self, **answers: Answer) -> None:
        self.answers: dict[str, Answer] = {
            "Get-WindowsFeature": FEATURE,
            "Get-WBPolicy": json.dumps(POLICY),
            "Get-WBSummary": json.dumps(SUMMARY),
            "Get-WBBackupSet": json.dumps(SETS),
            "Get-WBJob": json.dumps(JOBS),
            "Get-FileHash": json.dumps(FILE),
            "OpenRead": plan(PLAN_TEXT),
        } | {k.replace("_", "-"): v for k, v in answers.items()}
        self.scripts: list[str] = []

    def run(self, command: str, timeout: float) -> CommandResult:
        assert command.startswith(PREFIX) and len(command) < 8000  # cmd.exe's line limit
        script = base64.b64decode(command.removeprefix(PREFIX)).decode("utf-16-le")
        assert script.startswith(windows.PRELUDE)
        self.scripts.append(script)
        cmdlet = next(name for name in self.answers if name in script)
        answer = self.answers[cmdlet]
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, CommandResult) else CommandResult(0, answer + "\r\n")


def check(
    function: Callable[..., Any], node: WindowsNode | None = None, **args: Any
) -> tuple[float, str, CheckContext]:
    ctx = CheckContext({"srv": node or WindowsNode()}, {"srv": "10.213.0.129"}, {})
    result = function(ctx, **args)
    return result.score, result.message, ctx


def restored(**answers: Answer) -> tuple[float, str, CheckContext]:
    return check(windows.file_restored, WindowsNode(**answers), path=LOST, sha256=SHA)


def policy(**changes: Any) -> tuple[float, str, CheckContext]:
    node = WindowsNode(Get_WBPolicy=json.dumps(POLICY | changes))
    return check(windows.backup_policy, node, folder="C:\\Donnees", time="21:00", target="Disk")


# -- a server where everything was done -------------------------------------------------------
def test_a_complete_server_scores_full_marks_on_every_check() -> None:
    assert check(windows.backup_feature)[:2] == (1.0, "Windows-Server-Backup is installed")
    score, message, _ = policy()
    assert score == 1.0, message
    assert "daily at 21:00" in message and "C:\\Donnees with its subfolders" in message
    score, message, _ = check(windows.backup_done)
    assert score == 1.0 and "2026-11-29 09:20 UTC" in message and "1 backup version" in message
    score, message, _ = restored()
    assert score == pytest.approx(1.0), message
    score, message, _ = check(windows.plan_file, path=PLAN, sections=SECTIONS, min_chars=400)
    assert score == 1.0 and message == "6/6 sections"


def test_the_evidence_shows_the_script_and_the_plan_s_text_not_base64() -> None:
    _, _, ctx = check(windows.plan_file, path=PLAN, sections=SECTIONS)
    assert ctx.evidence[0].command.startswith("powershell: $f = Get-Item -LiteralPath ")
    assert ctx.evidence[0].via == "node"
    assert "Rétention" in ctx.evidence[1].output


def test_paths_reach_powershell_as_literals_nothing_expanded() -> None:
    node = WindowsNode()
    check(windows.file_restored, node, path="C:\\x\\it's $(Remove-Item C:\\) `n.txt", sha256=SHA)
    assert "-LiteralPath 'C:\\x\\it''s $(Remove-Item C:\\) `n.txt'" in node.scripts[0]


# -- Get-WindowsFeature ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "score"),
    [
        ('{"Name":"Windows-Server-Backup","Installed":false,"InstallState":0}', 0.0),
        ('{"Name":"Windows-Server-Backup","Installed":false,"InstallState":"Installed"}', 1.0),
        ('{"Name":"Windows-Server-Backup","Installed":"True","InstallState":1}', 1.0),
        ('{"Name":"Windows-Server-Backup","InstallState":"InstallPending"}', 0.5),
        ('[{"Name":"Other","Installed":true,"InstallState":1}]', 0.0),
        ('{"Name":"Windows-Server-Backup","Installed":"yes","InstallState":true}', 0.0),
        ("", 0.0),
    ],
)
def test_the_feature_is_installed_only_when_windows_says_so(answer: str, score: float) -> None:
    assert check(windows.backup_feature, WindowsNode(Get_WindowsFeature=answer))[0] == score


def test_a_warning_printed_before_the_json_is_not_the_answer() -> None:
    node = WindowsNode(Get_WindowsFeature="WARNING: a restart may be needed.\r\n" + FEATURE)
    assert check(windows.backup_feature, node)[0] == 1.0


# -- Get-WBPolicy and its parts ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "score", "says"),
    [
        ({"Schedule": ["02:00"]}, 2 / 3, "no daily run at 21:00 (schedule: 02:00)"),
        ({"Schedule": ["12:00", "21:00:00"]}, 1.0, "daily at 12:00, 21:00"),
        ({"Schedule": "21:00"}, 1.0, "daily at 21:00"),  # one value, not an array
        ({"Schedule": {"value": ["21:00"], "Count": 1}}, 1.0, "daily at 21:00"),  # 5.1 wrapper
        ({"Schedule": ["/Date(1795982400000+0100)/"]}, 1.0, "daily at 21:00"),  # local 21:00
        ({"Schedule": ["/Date(1795982400000)/"]}, 2 / 3, "schedule: 20:00"),  # UTC, no offset
        ({"Schedule": ["2026-11-29T21:00:00+01:00"]}, 1.0, "daily at 21:00"),
        ({"Schedule": []}, 2 / 3, "schedule: none"),
        ({"FileSpecs": [{"FileSpec": "c:\\donnees\\", "IsRecursive": True}]}, 1.0, "subfolders"),
        ({"FileSpecs": [{"FileSpec": "C:\\Donnees", "IsRecursive": False}]}, 5 / 6, "without"),
        (
            {"FileSpecs": [{"FileSpec": "C:\\Donnees", "IsRecursive": True, "IsExclude": True}]},
            2 / 3,
            "excluded",
        ),
        ({"FileSpecs": [{"FileSpec": "C:\\Users", "IsRecursive": True}]}, 2 / 3, "C:\\Users"),
        ({"BackupTargets": [{"Label": "D:", "TargetType": "Volume"}]}, 5 / 6, "a volume"),
        ({"BackupTargets": [{"TargetType": "Network"}]}, 2 / 3, "targets: Network"),
        ({"BackupTargets": [{"TargetType": 2}]}, 2 / 3, "targets: 2"),  # a bare 5.1 enum
        ({"BackupTargets": {"Label": "x", "TargetType": "Disk"}}, 1.0, "dedicated disk"),
    ],
)
def test_each_part_of_the_policy_earns_its_third(
    changes: dict[str, Any], score: float, says: str
) -> None:
    got, message, _ = policy(**changes)
    assert got == pytest.approx(score), message
    assert says in message


def test_no_policy_at_all_scores_zero() -> None:
    score, message, _ = check(windows.backup_policy, WindowsNode(Get_WBPolicy="null"))
    assert (score, message) == (0.0, "no scheduled backup policy (Get-WBPolicy returned none)")


def test_missing_cmdlets_are_said_as_such() -> None:
    error = CommandResult(
        1,
        "",
        "WindowsServerBackup\\Get-WBPolicy : The term 'WindowsServerBackup\\Get-WBPolicy' is "
        "not recognized as the name of a cmdlet, function, script file, or operable program.",
    )
    score, message, _ = check(windows.backup_policy, WindowsNode(Get_WBPolicy=error))
    assert score == 0.0 and message.startswith("a cmdlet is missing (is the feature installed?)")


# -- Get-WBSummary and Get-WBBackupSet ---------------------------------------------------------
@pytest.mark.parametrize(
    ("summary", "sets", "score", "says"),
    [
        (
            SUMMARY | {"LastSuccessfulBackupTime": "0001-01-01T00:00:00.0000000Z"},
            "[]",
            0.0,
            "no successful backup in Get-WBSummary",
        ),
        (  # what a bare 5.1 ConvertTo-Json makes of DateTime.MinValue: never
            SUMMARY | {"LastSuccessfulBackupTime": "/Date(-62135596800000)/"},
            "[]",
            0.0,
            "no backup version",
        ),
        (
            SUMMARY | {"LastBackupResultHR": -2147024784},  # 0x80070070: the disk is full
            json.dumps(SETS),
            0.75,
            "the last one failed (0x80070070)",
        ),
        (SUMMARY, json.dumps(SETS[0]), 1.0, "1 backup version"),  # one object, not an array
        (SUMMARY, "[]", 0.5, "no backup version in the catalog"),
        (
            SUMMARY | {"LastSuccessfulBackupTime": "/Date(1795944011000)/"},
            json.dumps({"value": SETS, "Count": 1}),
            1.0,
            "2026-11-29 09:20 UTC",
        ),
    ],
)
def test_a_backup_counts_when_the_summary_and_the_catalog_say_it_succeeded(
    summary: dict[str, Any], sets: str, score: float, says: str
) -> None:
    node = WindowsNode(Get_WBSummary=json.dumps(summary), Get_WBBackupSet=sets)
    got, message, _ = check(windows.backup_done, node)
    assert got == score and says in message, message


# -- Get-FileHash and Get-WBJob ----------------------------------------------------------------
def test_a_file_that_is_missing_or_different_earns_nothing() -> None:
    assert restored(Get_FileHash="null")[:2] == (0.0, f"{LOST} is missing")
    wrong = FILE | {"FileHash": FILE["FileHash"] | {"Hash": "00" * 32}}
    score, message, _ = restored(Get_FileHash=json.dumps(wrong))
    assert score == 0.0 and f"not {SHA}" in message


def test_a_file_never_deleted_is_not_restored() -> None:
    backups_only = json.dumps([JOBS[0]])
    score, message, _ = restored(Get_WBJob=backups_only)
    assert score == 0.5 and "no successful recovery after a successful backup" in message


def test_a_file_typed_again_after_the_backup_is_not_the_restored_one() -> None:
    retyped = FILE | {"Item": FILE["Item"] | {"LastWriteTime": "2026-11-29T09:30:00.0000000Z"}}
    score, message, _ = restored(Get_FileHash=json.dumps(retyped))
    assert score == pytest.approx(0.8) and "not older than the backup" in message


@pytest.mark.parametrize(
    "jobs",
    [
        [JOBS[0], JOBS[1] | {"HResult": -2147024894}],  # the recovery failed
        [JOBS[0], JOBS[1] | {"JobType": 2}],  # a bare enum: unknown kind
        [JOBS[1], JOBS[0] | {"StartTime": "2026-11-29T10:00:00Z"}],  # recovered before backup
        [JOBS[0] | {"HResult": 1}, JOBS[1]],  # the backup failed
    ],
)
def test_only_a_successful_recovery_after_a_successful_backup_counts(
    jobs: list[dict[str, Any]],
) -> None:
    assert restored(Get_WBJob=json.dumps(jobs))[0] == 0.5


def test_hash_case_and_5_1_date_forms_are_accepted() -> None:
    lower = FILE | {
        "Item": FILE["Item"] | {"LastWriteTime": "/Date(1795943144512)/"},
        "FileHash": FILE["FileHash"] | {"Hash": SHA.lower()},
    }
    jobs = json.dumps({"value": JOBS, "Count": 2})
    assert restored(Get_FileHash=json.dumps(lower), Get_WBJob=jobs)[0] == pytest.approx(1.0)


# -- the plan ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "score", "says"),
    [
        (PLAN_TEXT.encode("utf-16"), 1.0, "6/6"),  # Notepad's "Unicode"
        (PLAN_TEXT.encode("utf-8-sig"), 1.0, "6/6"),
        (PLAN_TEXT.encode("cp1252"), 1.0, "6/6"),  # Notepad's "ANSI"
        (PLAN_TEXT.replace("5. Rétention", "5. Durée").encode(), 5 / 6, "missing: retention"),
        ("Menaces\nPerimetre\nPlanification\nDestination\nRetention\nRestauration\n", 0.5, "only"),
        ("On parle de menaces, de rétention et de restauration.\n" * 20, 0.0, "0/6"),
    ],
)
def test_the_plan_scores_its_sections_and_length(
    content: str | bytes, score: float, says: str
) -> None:
    node = WindowsNode(OpenRead=plan(content))
    got, message, _ = check(windows.plan_file, node, path=PLAN, sections=SECTIONS, min_chars=400)
    assert got == pytest.approx(score) and says in message, message


def test_a_missing_plan_scores_zero() -> None:
    node = WindowsNode(OpenRead="null")
    assert check(windows.plan_file, node, path=PLAN, sections=SECTIONS)[:2] == (
        0.0,
        f"{PLAN} is missing",
    )


# -- hostile answers: a candidate who is administrator can make the node say anything ----------
HOSTILE = [
    "x" * (windows.MAX_ANSWER + 1),
    "[" * 100_000 + "]" * 100_000,
    '{"Name": "Windows-Server-Backup", "Installed": tru',
    '{"NumberOfVersions": ' + "9" * 5000 + "}",
    "\x00\xff garbage",
    '"just a string"',
    "[1, 2, 3]",
]


@pytest.mark.parametrize("answer", HOSTILE)
@pytest.mark.parametrize(
    ("function", "cmdlet", "args"),
    [
        (windows.backup_feature, "Get-WindowsFeature", {}),
        (windows.backup_policy, "Get-WBPolicy", {}),
        (windows.backup_done, "Get-WBSummary", {}),
        (windows.backup_done, "Get-WBBackupSet", {}),
        (windows.file_restored, "Get-FileHash", {"path": LOST, "sha256": SHA}),
        (windows.file_restored, "Get-WBJob", {"path": LOST, "sha256": SHA}),
        (windows.plan_file, "OpenRead", {"path": PLAN, "sections": SECTIONS}),
    ],
)
def test_a_hostile_answer_never_raises_and_never_earns_more_than_the_rest_allows(
    function: Callable[..., Any], cmdlet: str, args: dict[str, Any], answer: str
) -> None:
    score, message, _ = check(function, WindowsNode(**{cmdlet: answer}), **args)
    assert 0.0 <= score <= 0.5 + 1e-9 and message


@pytest.mark.parametrize(
    "policy_json",
    [
        '{"Schedule": {"a": 1}, "FileSpecs": "C:\\\\Donnees", "BackupTargets": 7}',
        '{"Schedule": ["99:99", "21:60", null, 21], "FileSpecs": [null, 3, "x"]}',
        '{"Schedule": ["/Date(99999999999999999999)/", "/Date(1e9)/"]}',
        '{"FileSpecs": [{"FileSpec": ["C:\\\\Donnees"], "IsRecursive": "yes"}]}',
    ],
)
def test_wrong_types_in_the_policy_earn_nothing_for_that_part(policy_json: str) -> None:
    score, message, _ = check(windows.backup_policy, WindowsNode(Get_WBPolicy=policy_json))
    assert score == 0.0, message


def test_an_unreachable_node_is_not_a_failed_criterion_but_the_runner_s_to_retry() -> None:
    node = WindowsNode(Get_WindowsFeature=NodeUnreachable("ssh 10.213.0.129: refused"))
    with pytest.raises(NodeUnreachable):
        check(windows.backup_feature, node)


# -- the parsing helpers on their own ----------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "clock"),
    [
        ("21:00", "21:00"),
        ("9:05", "09:05"),
        ("21:00:00.0000000", "21:00"),
        ("/Date(1795982400000-0500)/", "15:00"),
        ("24:00", None),
        ("", None),
        (None, None),
        ("/Date(" + "9" * 40 + ")/", None),
    ],
)
def test_schedule_times_are_read_in_every_form(value: Any, clock: str | None) -> None:
    assert windows.as_clock(value) == clock


def test_dates_before_2000_mean_never() -> None:
    assert windows.as_time("/Date(0)/") is None
    assert windows.as_time("2026-11-29T09:20:11Z") == datetime(2026, 11, 29, 9, 20, 11, tzinfo=UTC)
    assert windows.as_time("2026-11-29T09:20:11") == datetime(2026, 11, 29, 9, 20, 11, tzinfo=UTC)
    assert windows.as_time("x" * 100) is None


# -- the scenario that uses these checks -------------------------------------------------------
def test_the_scenario_validates_and_its_parameters_agree() -> None:
    scenario, problems = validate(SCENARIO)
    assert scenario is not None, problems
    params = scenario.parameters
    assert (
        params["lost_sha256"] == hashlib.sha256(params["lost_content"].encode()).hexdigest().upper()
    )
    assert params["lost_content"].isascii() and "'" not in params["lost_content"]
    assert (params["lost_file"], params["plan_path"]) == (LOST, PLAN)
    node = scenario.nodes["srv"]
    assert (node.kind, node.image, node.disks, node.display) == (
        "vm",
        "windows-server-2022",
        ["20G"],
        True,
    )


def test_every_python_check_of_the_scenario_binds_to_its_function() -> None:
    scenario, _ = validate(SCENARIO)
    assert scenario is not None
    for criterion in scenario.criteria:
        for raw in criterion.all_checks:
            function = getattr(windows, raw["function"].split(":")[1])
            inspect.signature(function).bind(None, node=raw["node"], **raw.get("args", {}))
    args = scenario.criteria[-1].all_checks[0]["args"]
    assert args["sections"] == SECTIONS
