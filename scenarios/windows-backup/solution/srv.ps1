# Reference solution of windows-backup, run as an administrator in Windows PowerShell 5.1.
# Parameters arrive as environment variables ($env:DATA_FOLDER, $env:LOST_FILE, ...).
# Not run live on the development host (no Windows image there): see README.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

# 1. The firm's data, as the subject gives it (the lost file's bytes are exact: no newline).
New-Item -ItemType Directory -Force -Path "$env:DATA_FOLDER\Compta", "$env:DATA_FOLDER\RH",
    "$env:DATA_FOLDER\Direction", (Split-Path -Parent $env:PLAN_PATH) | Out-Null
[IO.File]::WriteAllText($env:LOST_FILE, $env:LOST_CONTENT)
[IO.File]::WriteAllText("$env:DATA_FOLDER\RH\planning-conges.txt", "Conges d'ete : 15/07 - 15/08")
[IO.File]::WriteAllText("$env:DATA_FOLDER\Direction\budget-2025.txt", 'Budget previsionnel 2025')

# 2. The feature.
Install-WindowsFeature -Name Windows-Server-Backup -IncludeManagementTools | Out-Null
Import-Module WindowsServerBackup

# 3. The scheduled policy: the data folder with its subfolders, daily, to the second disk
#    (Disk 1, formatted by Windows Server Backup and dedicated to it).
$policy = New-WBPolicy
Add-WBFileSpec -Policy $policy -FileSpec (New-WBFileSpec -FileSpec $env:DATA_FOLDER)
$disk = Get-WBDisk | Where-Object { $_.DiskNumber -eq 1 }
if ($null -eq $disk) { throw 'the second disk (Disk 1) is not offered by Get-WBDisk' }
$target = New-WBBackupTarget -Disk $disk -Label 'SAUVEGARDE'
Add-WBBackupTarget -Policy $policy -Target $target -Force | Out-Null
Set-WBSchedule -Policy $policy -Schedule $env:BACKUP_TIME | Out-Null
Set-WBPolicy -Policy $policy -Force

# 4. One backup now, with the scheduled policy.
Start-WBBackup -Policy (Get-WBPolicy)
$summary = Get-WBSummary
if ($summary.LastBackupResultHR -ne 0) { throw "backup failed: $($summary.DetailedMessage)" }

# 5. The restore test: delete the file, recover it from the latest backup to its place.
Remove-Item -LiteralPath $env:LOST_FILE -Force
$set = Get-WBBackupSet | Sort-Object BackupTime | Select-Object -Last 1
Start-WBFileRecovery -BackupSet $set -SourcePath $env:LOST_FILE -Option OverwriteIfExists -Force
$hash = (Get-FileHash -LiteralPath $env:LOST_FILE -Algorithm SHA256).Hash
if ($hash -ne $env:LOST_SHA256) { throw "restored file differs: $hash" }

# 6. The plan.
$plan = @'
PLAN DE SAUVEGARDE ET DE RESTAURATION - SRV-FICHIERS (Cabinet Alize)

1. Menaces
- Panne ou corruption du disque systeme du serveur.
- Suppression ou modification accidentelle d'un fichier par un collaborateur.
- Rancongiciel chiffrant le partage C:\Donnees.
- Sinistre (incendie, degat des eaux) ou vol du serveur.

2. Perimetre
Le dossier C:\Donnees et tous ses sous-dossiers (Compta, RH, Direction).

3. Planification
Sauvegarde complete automatique tous les jours a 21:00, hors heures de travail.
Une sauvegarde manuelle est lancee avant toute intervention sur le serveur.

4. Destination
Le second disque du serveur (disque 1, 20 Go), dedie a Sauvegarde Windows Server et
invisible dans l'Explorateur. Une copie hebdomadaire sur disque externe est conservee hors site.

5. Retention
Sauvegarde Windows Server conserve les versions tant que le disque a de la place (les plus
anciennes sont supprimees automatiquement) ; objectif : 30 jours de versions quotidiennes.

6. Restauration
Procedure : Sauvegarde Windows Server > Recuperer > ce serveur > date de la version >
fichiers et dossiers > emplacement d'origine, ou en PowerShell Start-WBFileRecovery.
Un test de restauration d'un fichier est fait chaque mois et son resultat consigne.
'@
[IO.File]::WriteAllText($env:PLAN_PATH, $plan)
