# Makes a freshly installed Windows Server 2022 into Praxis's `windows-server-2022` image
# (README: VM images: importing Windows Server). Run once, as Administrator, in Windows
# PowerShell 5.1, once the virtio drivers are in; then shut the machine down and import its
# disk. Written from Microsoft's documentation: not run on the development host (no Windows).
$ErrorActionPreference = 'Stop'
$admins = 'S-1-5-32-544'  # the Administrators group and SYSTEM, by SID: names are localised
$system = 'S-1-5-18'

# 1. OpenSSH Server: started at boot, PowerShell as its shell, port 22 open.
Add-WindowsCapability -Online -Name OpenSSH.Server~~~~0.0.1.0 | Out-Null
Set-Service -Name sshd -StartupType Automatic
Start-Service -Name sshd  # makes C:\ProgramData\ssh and its host keys
New-Item -Path HKLM:\SOFTWARE\OpenSSH -Force | Out-Null
New-ItemProperty -Path HKLM:\SOFTWARE\OpenSSH -Name DefaultShell -PropertyType String -Force `
    -Value "$env:SystemRoot\System32\WindowsPowerShell\v1.0\powershell.exe" | Out-Null
if (-not (Get-NetFirewallRule -Name OpenSSH-Server-In-TCP -ErrorAction SilentlyContinue)) {
    New-NetFirewallRule -Name OpenSSH-Server-In-TCP -DisplayName 'OpenSSH Server (sshd)' `
        -Direction Inbound -Protocol TCP -LocalPort 22 -Action Allow | Out-Null
}
Enable-NetFirewallRule -Name OpenSSH-Server-In-TCP

# 2. At every boot, the session's facts from the SMBIOS OEM strings that Praxis gives the
#    machine (libvirt <sysinfo>): praxis.key (the grader's public key), praxis.candidate
#    (user:password), praxis.lock (the account locked at the cut-off), all base64 but the last.
$dir = "$env:ProgramData\Praxis"
New-Item -ItemType Directory -Force -Path $dir | Out-Null
icacls.exe $dir /inheritance:r /grant "*${system}:(OI)(CI)F" "*${admins}:(OI)(CI)F" | Out-Null
Set-Content -Path "$dir\firstboot.ps1" -Encoding UTF8 -Value @'
$ErrorActionPreference = 'Stop'
$admins = 'S-1-5-32-544'
$system = 'S-1-5-18'
$facts = @{}
foreach ($entry in (Get-CimInstance -ClassName Win32_ComputerSystem).OEMStringArray) {
    if ($entry -match '^(praxis\.[a-z]+)=(.*)$') { $facts[$Matches[1]] = $Matches[2] }
}
function Text($b64) { [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($b64)) }
function Account($name, $password, $enabled) {
    $secure = ConvertTo-SecureString $password -AsPlainText -Force
    if (Get-LocalUser -Name $name -ErrorAction SilentlyContinue) {
        Set-LocalUser -Name $name -Password $secure -PasswordNeverExpires $true
    } else {
        New-LocalUser -Name $name -Password $secure -PasswordNeverExpires | Out-Null
        Add-LocalGroupMember -SID $admins -Member $name
    }
    if ($enabled) { Enable-LocalUser -Name $name } else { Disable-LocalUser -Name $name }
}
# The grader logs in as `root`, an administrator, by key only: its password is random.
if ($facts['praxis.key']) {
    $keys = "$env:ProgramData\ssh\administrators_authorized_keys"
    Set-Content -Path $keys -Encoding ASCII -Value (Text $facts['praxis.key'])
    icacls.exe $keys /inheritance:r /grant "*${admins}:F" "*${system}:F" | Out-Null
    Account 'root' ([guid]::NewGuid().ToString() + 'Aa1!') $true
}
# The candidate: an administrator with the session's password, disabled at the cut-off.
if ($facts['praxis.candidate']) {
    $user, $password = (Text $facts['praxis.candidate']).Split(':', 2)
    Account $user $password ($facts['praxis.lock'] -ne $user)
}
'@
$action = New-ScheduledTaskAction -Execute powershell.exe `
    -Argument "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$dir\firstboot.ps1`""
Register-ScheduledTask -TaskName 'Praxis firstboot' -Trigger (New-ScheduledTaskTrigger -AtStartup) `
    -Action $action -User SYSTEM -RunLevel Highest -Force | Out-Null

# 3. Session passwords are 12 letters and digits, not always all three kinds: drop the
#    complexity rule, or the candidate's account would fail to be made in some sessions.
secedit.exe /export /cfg "$env:TEMP\praxis.inf" | Out-Null
(Get-Content "$env:TEMP\praxis.inf") -replace 'PasswordComplexity = 1', 'PasswordComplexity = 0' |
    Set-Content "$env:TEMP\praxis.inf"
secedit.exe /configure /db "$env:windir\security\local.sdb" /cfg "$env:TEMP\praxis.inf" `
    /areas SECURITYPOLICY | Out-Null

# 4. The exam centre's time zone (the VM's clock runs in local time).
Set-TimeZone -Id 'Romance Standard Time'
Write-Output 'ready: shut down (Stop-Computer) and import the disk'
