"""Checks of Windows Server nodes (scenario windows-backup): Windows Server Backup, files.

Each check runs one Windows PowerShell 5.1 script over SSH (the image's OpenSSH Server, see
README: VM images) and reads the JSON that `ConvertTo-Json` makes of the cmdlets' objects.
The script travels as `-EncodedCommand` (base64 of UTF-16LE): the same bytes reach PowerShell
whether sshd's shell is cmd.exe or PowerShell, with no quoting of `$`, quotes or newlines;
the evidence shows the script itself. Enums and dates are turned into text in the script
(`"$($_.TargetType)"`, UTC ISO 8601), but the parsing below still takes what a bare
`ConvertTo-Json` gives on 5.1: enums as integers, dates as "/Date(ms)/", one object where
several were expected, arrays wrapped as {"value": [...], "Count": n}.

The candidate administers this machine: every answer is the node's own (level 4 in
DESIGN, `via: node`), bounded in size, and parsed as hostile input (a missing key, a wrong
type or a JSON bomb scores 0 with the reason, never raises). No integrity scan exists for
Windows nodes yet: the verdicts rest on Microsoft's own cmdlets, named with their module.

Objects and the properties read (Microsoft's names):
- Get-WindowsFeature (ServerManager) -> Feature: Name, Installed, InstallState
  (InstallState enum: Available 0, Installed 1).
- Get-WBPolicy (WindowsServerBackup) -> WBPolicy, read through Get-WBSchedule (DateTime[],
  the daily times), Get-WBBackupTarget (WBBackupTarget: Label, Path, TargetType, WBDiskId),
  Get-WBFileSpec (WBFileSpec: FileSpec, IsRecursive, IsExclude), Get-WBSystemState (bool).
- Get-WBSummary -> WBSummary: LastSuccessfulBackupTime, LastBackupTime, LastBackupResultHR,
  NumberOfVersions, LastSuccessfulBackupTargetLabel.
- Get-WBBackupSet -> WBBackupSet: VersionId, BackupTime, RecoverableItems.
- Get-WBJob -Previous N -> WBJob (past backups and recoveries): JobType, JobState,
  StartTime, EndTime, HResult.
- Get-Item -> FileInfo: Length, LastWriteTime; Get-FileHash -> FileHash: Algorithm, Hash, Path.
"""

from __future__ import annotations

import base64
import json
import re
import time
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from graders.contract import CheckContext, CheckResult

MAX_ANSWER = 256 << 10  # characters of JSON: far more than any of these objects
MAX_PLAN = 64 << 10  # bytes of the plan file read
TIMEOUT = 60.0  # Windows PowerShell starts in 1-2 s; the backup catalog can be slow
PRELUDE = """$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
[Console]::OutputEncoding = [Text.Encoding]::UTF8
function T($d) { if ($d) { ([datetime]$d).ToUniversalTime().ToString('o') } }
"""
_MS_DATE = re.compile(r"^/Date\((-?\d{1,15})([+-]\d{4})?\)/$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?$")
_INSTALL_STATES = {0: "Available", 1: "Installed"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BadAnswer(Exception):
    """The node's answer is not what the cmdlets give: said in the check's message."""


# -- running PowerShell --------------------------------------------------------------------
def encoded(script: str) -> str:
    """The command line that runs `script` in Windows PowerShell, whatever sshd's shell."""
    payload = base64.b64encode((PRELUDE + script).encode("utf-16-le")).decode()
    return (
        f"powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand {payload}"
    )


def ps_literal(text: str) -> str:
    """A PowerShell single-quoted string: nothing in it is expanded."""
    return "'" + text.replace("'", "''") + "'"


def query(ctx: CheckContext, node: str, script: str) -> Any:
    """Run `script` on `node` and parse its JSON. Raises BadAnswer (the cmdlet failed, or
    answered something unreadable); NodeUnreachable and GraderError pass through."""
    result = ctx.run(node, encoded(script), TIMEOUT, shown=f"powershell: {script.strip()}")
    if not result.ok:
        tail = " ".join((result.stderr or result.stdout).split())[-300:]
        raise BadAnswer(f"PowerShell exited {result.status}: {tail or 'no message'}")
    return parse_json(result.stdout)


# -- parsing, defensively ------------------------------------------------------------------
def parse_json(text: str) -> Any:
    """The JSON document of an answer: the whole output, else its last line (-Compress
    writes one line; a warning printed before it is not the answer)."""
    text = text.strip().lstrip("\ufeff")
    if len(text) > MAX_ANSWER:
        raise BadAnswer(f"answer of {len(text)} characters, more than any of these objects")
    if not text:
        return None
    last = text.splitlines()[-1]
    for candidate in (text, last) if last != text else (text,):
        try:
            return json.loads(candidate)
        except (ValueError, RecursionError) as exc:  # ValueError: also ints of 4300+ digits
            error = exc
    raise BadAnswer(f"not JSON: {str(error)[:120]}")


def records(value: Any) -> list[dict[str, Any]]:
    """The objects of an answer: none, one, an array, or 5.1's {"value": [...], "Count": n}."""
    if isinstance(value, dict) and isinstance(value.get("value"), list) and "Count" in value:
        value = value["value"]
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def texts(value: Any) -> list[str]:
    """A property holding one string or several (possibly 5.1-wrapped)."""
    if isinstance(value, dict) and isinstance(value.get("value"), list):
        value = value["value"]
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items if isinstance(item, str | int | float)]


def as_bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,19}", value.strip()):
        return int(value)
    return None


def as_time(value: Any) -> datetime | None:
    """An instant from ISO 8601 or 5.1's "/Date(ms)/" and "/Date(ms+hhmm)/" (ms are UTC);
    None for nothing, garbage, or the zero dates that mean "never"."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    match = _MS_DATE.match(value.strip())
    try:
        if match:
            moment = _EPOCH + timedelta(milliseconds=int(match[1]))
        else:
            moment = datetime.fromisoformat(value.strip())
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
    return moment if moment.year >= 2000 else None


def as_clock(value: Any) -> str | None:
    """A daily schedule time as HH:MM, local to the node: "21:00", "21:00:00", an ISO date
    with its offset, or "/Date(ms+hhmm)/" (without an offset, 5.1's ms are read as UTC)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    clock = _CLOCK.match(text)
    if clock:
        hours, minutes = int(clock[1]), int(clock[2])
        return f"{hours:02d}:{minutes:02d}" if hours < 24 and minutes < 60 else None
    match = _MS_DATE.match(text)
    moment = as_time(text)
    if moment is None:
        return None
    if match and match[2]:
        sign = -1 if match[2][0] == "-" else 1
        offset = timedelta(hours=int(match[2][1:3]), minutes=int(match[2][3:]))
        moment = moment.astimezone(timezone(sign * offset))
    return moment.strftime("%H:%M")


def install_state(feature: dict[str, Any]) -> str:
    state = feature.get("InstallState")
    number = as_int(state)
    if number is not None:
        return _INSTALL_STATES.get(number, f"state {number}")
    return str(state)[:40] if isinstance(state, str) else "unknown"


def plain(text: str) -> str:
    """Lower case without accents, for matching headings written by hand."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def decode_text(data: bytes) -> str:
    """A text file as Notepad or PowerShell may have written it."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def same_path(a: str, b: str) -> bool:
    """Windows paths compare without case, trailing separators or a \\*.* wildcard."""

    def norm(p: str) -> str:
        p = p.strip().replace("/", "\\").lower()
        return p.removesuffix("\\*.*").removesuffix("\\*").rstrip("\\")

    return norm(a) == norm(b)


def _failed_query(exc: BadAnswer) -> CheckResult:
    text = str(exc)
    if "is not recognized" in text:  # the cmdlets' module is not there
        return CheckResult(0.0, f"a cmdlet is missing (is the feature installed?): {text}")
    return CheckResult(0.0, text)


# -- the checks ----------------------------------------------------------------------------
def backup_feature(ctx: CheckContext, node: str = "srv") -> CheckResult:
    """Full credit when the Windows Server Backup feature is installed."""
    script = (
        "ServerManager\\Get-WindowsFeature -Name Windows-Server-Backup |"
        " Select-Object Name, Installed, InstallState | ConvertTo-Json -Compress"
    )
    try:
        features = records(query(ctx, node, script))
    except BadAnswer as exc:
        return _failed_query(exc)
    feature = next((f for f in features if f.get("Name") == "Windows-Server-Backup"), None)
    if feature is None:
        return CheckResult(0.0, "Get-WindowsFeature does not know Windows-Server-Backup")
    state = install_state(feature)
    if as_bool(feature.get("Installed")) or state == "Installed":
        return CheckResult(1.0, "Windows-Server-Backup is installed")
    if state == "InstallPending":
        return CheckResult(0.5, "Windows-Server-Backup is installed but waits for a restart")
    return CheckResult(0.0, f"Windows-Server-Backup is not installed ({state})")


_POLICY = """$p = WindowsServerBackup\\Get-WBPolicy -ErrorAction SilentlyContinue
if ($null -eq $p) { 'null'; exit 0 }
[pscustomobject]@{
  Schedule = @(WindowsServerBackup\\Get-WBSchedule -Policy $p |
    ForEach-Object { $_.ToString('HH:mm') })
  BackupTargets = @(WindowsServerBackup\\Get-WBBackupTarget -Policy $p |
    Select-Object Label, Path, @{n='TargetType'; e={"$($_.TargetType)"}},
      @{n='WBDiskId'; e={"$($_.WBDiskId)"}})
  FileSpecs = @(WindowsServerBackup\\Get-WBFileSpec -Policy $p |
    Select-Object FileSpec, IsRecursive, IsExclude)
  SystemState = [bool](WindowsServerBackup\\Get-WBSystemState -Policy $p)
} | ConvertTo-Json -Compress -Depth 4
"""


def backup_policy(
    ctx: CheckContext,
    node: str = "srv",
    folder: str = "C:\\Donnees",
    time: str = "21:00",
    target: str = "Disk",
) -> CheckResult:
    """The scheduled backup policy: a third each for when (a daily run at `time`), what
    (`folder`, with its subfolders, not excluded) and where (a backup target of type
    `target`: the whole second disk; a volume on it earns half)."""
    try:
        policy = query(ctx, node, _POLICY)
    except BadAnswer as exc:
        return _failed_query(exc)
    if not isinstance(policy, dict):
        return CheckResult(0.0, "no scheduled backup policy (Get-WBPolicy returned none)")
    parts = [
        _schedule_part(policy.get("Schedule"), time),
        _source_part(records(policy.get("FileSpecs")), folder),
        _target_part(records(policy.get("BackupTargets")), target),
    ]
    return CheckResult(sum(score for score, _ in parts) / 3, "; ".join(note for _, note in parts))


def _schedule_part(schedule: Any, wanted: str) -> tuple[float, str]:
    clocks = sorted({c for c in (as_clock(t) for t in texts(schedule)) if c})
    if as_clock(wanted) in clocks:
        return 1.0, f"runs daily at {', '.join(clocks)}"
    return 0.0, f"no daily run at {wanted} (schedule: {', '.join(clocks) or 'none'})"


def _source_part(specs: list[dict[str, Any]], folder: str) -> tuple[float, str]:
    matching = [
        s for s in specs if isinstance(s.get("FileSpec"), str) and same_path(s["FileSpec"], folder)
    ]
    if any(as_bool(s.get("IsExclude")) for s in matching):
        return 0.0, f"{folder} is excluded from the backup"
    if any(as_bool(s.get("IsRecursive")) for s in matching):
        return 1.0, f"backs up {folder} with its subfolders"
    if matching:
        return 0.5, f"backs up {folder} without its subfolders"
    listed = ", ".join(str(s.get("FileSpec"))[:80] for s in specs[:5]) or "none"
    return 0.0, f"{folder} is not in the backup (file specs: {listed})"


def _target_part(targets: list[dict[str, Any]], wanted: str) -> tuple[float, str]:
    kinds = [str(t.get("TargetType"))[:40] for t in targets]
    if wanted in kinds:
        return 1.0, f"to a dedicated {wanted.lower()}"
    if "Volume" in kinds:
        return 0.5, f"to a volume, not a dedicated {wanted.lower()}"
    return 0.0, f"no {wanted.lower()} as backup target (targets: {', '.join(kinds) or 'none'})"


_SUMMARY = """WindowsServerBackup\\Get-WBSummary | Select-Object
  @{n='LastSuccessfulBackupTime'; e={T $_.LastSuccessfulBackupTime}},
  @{n='LastBackupTime'; e={T $_.LastBackupTime}},
  LastBackupResultHR, NumberOfVersions, LastSuccessfulBackupTargetLabel | ConvertTo-Json -Compress
"""
_SETS = """ConvertTo-Json -Compress -InputObject @(WindowsServerBackup\\Get-WBBackupSet |
  Select-Object VersionId, @{n='BackupTime'; e={T $_.BackupTime}},
  @{n='RecoverableItems'; e={"$($_.RecoverableItems)"}})
"""


def backup_done(ctx: CheckContext, node: str = "srv") -> CheckResult:
    """At least one successful backup: half for Windows Server Backup's summary (a last
    successful backup, and the last backup without error), half for a backup version in
    the catalog."""
    try:
        summaries = records(query(ctx, node, _SUMMARY))
        sets = records(query(ctx, node, _SETS))
    except BadAnswer as exc:
        return _failed_query(exc)
    summary = summaries[0] if summaries else {}
    last_ok = as_time(summary.get("LastSuccessfulBackupTime"))
    result = as_int(summary.get("LastBackupResultHR"))
    notes, score = [], 0.0
    if last_ok is None:
        notes.append("no successful backup in Get-WBSummary")
    elif result not in (0, None):
        score += 0.25
        notes.append(
            f"a backup succeeded at {last_ok:%Y-%m-%d %H:%M} UTC, the last one "
            f"failed (0x{result & 0xFFFFFFFF:08X})"
        )
    else:
        score += 0.5
        notes.append(f"last successful backup at {last_ok:%Y-%m-%d %H:%M} UTC")
    versions = sorted(t for t in (as_time(s.get("BackupTime")) for s in sets) if t)
    if versions:
        score += 0.5
        notes.append(f"{len(versions)} backup version(s) in the catalog")
    else:
        notes.append("no backup version in the catalog (Get-WBBackupSet)")
    return CheckResult(score, "; ".join(notes))


_JOBS = """ConvertTo-Json -Compress -InputObject @(WindowsServerBackup\\Get-WBJob -Previous 20 |
  Select-Object @{n='JobType'; e={"$($_.JobType)"}}, @{n='JobState'; e={"$($_.JobState)"}},
  @{n='StartTime'; e={T $_.StartTime}}, @{n='EndTime'; e={T $_.EndTime}}, HResult)
"""


def _file_script(path: str) -> str:
    return f"""$f = Get-Item -LiteralPath {ps_literal(path)} -Force -ErrorAction SilentlyContinue
if ($null -eq $f -or $f.PSIsContainer) {{ 'null'; exit 0 }}
[pscustomobject]@{{
  Item = $f | Select-Object FullName, Length, @{{n='LastWriteTime'; e={{T $_.LastWriteTime}}}}
  FileHash = Microsoft.PowerShell.Utility\\Get-FileHash -LiteralPath $f.FullName -Algorithm SHA256 |
    Select-Object Algorithm, Hash, Path
}} | ConvertTo-Json -Compress
"""


def file_restored(
    ctx: CheckContext, node: str = "srv", path: str = "", sha256: str = ""
) -> CheckResult:
    """The file the candidate deleted is back with its exact content: half for the SHA-256,
    0.3 for a successful recovery job that ran after a successful backup, and then 0.2 for
    a content older than that backup (restored, not typed again). Nothing without the
    right content; at most half without a recovery (a file never deleted is not restored)."""
    try:
        found = query(ctx, node, _file_script(path))
        jobs = records(query(ctx, node, _JOBS))
    except BadAnswer as exc:
        return _failed_query(exc)
    if not isinstance(found, dict):
        return CheckResult(0.0, f"{path} is missing")
    digest = next(iter(records(found.get("FileHash"))), {}).get("Hash")
    if not isinstance(digest, str) or digest.lower() != sha256.lower():
        shown = digest[:64] if isinstance(digest, str) else "unknown"
        return CheckResult(0.0, f"{path} is there but its SHA-256 is {shown}, not {sha256}")
    notes, score = [f"{path} has its original content (SHA-256)"], 0.5
    backups = [start for start, _ in _successful(jobs, ("backup",))]
    recoveries = [start for start, _ in _successful(jobs, ("recover", "restore"))]
    recovered = next((r for r in recoveries if any(b < r for b in backups)), None)
    if recovered is None:
        notes.append("no successful recovery after a successful backup in Get-WBJob")
        return CheckResult(score, "; ".join(notes))
    score += 0.3
    notes.append(f"recovered at {recovered:%Y-%m-%d %H:%M} UTC")
    backup = max(b for b in backups if b < recovered)
    item = next(iter(records(found.get("Item"))), {})
    written = as_time(item.get("LastWriteTime"))
    if written is not None and written <= backup:
        score += 0.2
        notes.append("its content dates from before that backup")
    else:
        notes.append("its content is not older than the backup it was recovered from")
    return CheckResult(score, "; ".join(notes))


def _successful(
    jobs: list[dict[str, Any]], kinds: tuple[str, ...]
) -> list[tuple[datetime, dict[str, Any]]]:
    """Jobs whose JobType names one of `kinds`, ended without error (HResult 0), oldest
    first. A JobType left as a number by 5.1 names nothing: the job is not counted."""
    found = []
    for job in jobs:
        job_type = str(job.get("JobType", "")).lower()
        start = as_time(job.get("StartTime"))
        if any(k in job_type for k in kinds) and as_int(job.get("HResult")) == 0 and start:
            found.append((start, job))
    return sorted(found, key=lambda pair: pair[0])


def _plan_script(path: str) -> str:
    return f"""$f = Get-Item -LiteralPath {ps_literal(path)} -Force -ErrorAction SilentlyContinue
if ($null -eq $f -or $f.PSIsContainer) {{ 'null'; exit 0 }}
$s = [IO.File]::OpenRead($f.FullName)
try {{
  $b = New-Object byte[] ([Math]::Min($s.Length, {MAX_PLAN}))
  $n = $s.Read($b, 0, $b.Length)
}} finally {{ $s.Close() }}
[pscustomobject]@{{ Length = $f.Length; Content = [Convert]::ToBase64String($b, 0, $n) }} |
  ConvertTo-Json -Compress
"""


def plan_file(
    ctx: CheckContext,
    node: str = "srv",
    path: str = "",
    sections: list[str] | None = None,
    min_chars: int = 300,
) -> CheckResult:
    """The candidate's backup and restore plan: the share of `sections` it has as headings
    (a line starting with one of a section's names, `a|b`, accents and case ignored),
    halved when it is shorter than `min_chars`. The jury reads the text in the evidence."""
    wanted = sections or []
    try:
        found = query(ctx, node, _plan_script(path))
    except BadAnswer as exc:
        return _failed_query(exc)
    if not isinstance(found, dict) or not isinstance(found.get("Content"), str):
        return CheckResult(0.0, f"{path} is missing")
    try:
        data = base64.b64decode(found["Content"][: MAX_PLAN * 2], validate=True)
    except ValueError:
        return CheckResult(0.0, f"{path}: the content could not be read")
    text = decode_text(data[:MAX_PLAN])
    headings = [_heading(line) for line in plain(text).splitlines()]
    missing = [s for s in wanted if not any(_starts(h, s) for h in headings if h)]
    score = (len(wanted) - len(missing)) / len(wanted) if wanted else 1.0
    notes = [f"{len(wanted) - len(missing)}/{len(wanted)} sections"]
    if missing:
        notes.append(f"missing: {', '.join(m.split('|')[0] for m in missing)}")
    if len(text.strip()) < min_chars:
        score /= 2
        notes.append(f"only {len(text.strip())} characters")
    ctx.record(node, f"the text of {path}", 0, text, time.monotonic())  # for the jury
    return CheckResult(score, "; ".join(notes))


def _heading(line: str) -> str:
    """A line without its markup: '## 2. Périmètre :' -> 'perimetre :'."""
    return line.lstrip(" \t#*=->_0123456789.)").strip()


def _starts(heading: str, section: str) -> bool:
    return any(heading.startswith(plain(name).strip()) for name in section.split("|"))
