#!/usr/bin/env bash
# Reference solution of the ldap-passwords scenario, run as root on the node `ldap`.
# Parameters: BASE, DOMAIN, ORG, ADMIN_PASSWORD. Idempotent: safe to run twice.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
: "${BASE:?}" "${DOMAIN:?}" "${ORG:?}" "${ADMIN_PASSWORD:?}"
PEOPLE="ou=people,$BASE"

# 1. OpenLDAP with the exam's suffix and administrator's password.
debconf-set-selections <<EOF
slapd slapd/no_configuration boolean false
slapd slapd/domain string $DOMAIN
slapd shared/organization string $ORG
slapd slapd/password1 password $ADMIN_PASSWORD
slapd slapd/password2 password $ADMIN_PASSWORD
slapd slapd/purge_database boolean true
slapd slapd/move_old_database boolean true
EOF
apt-get update -qq
apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-unsafe-io \
    slapd ldap-utils >/dev/null
systemctl enable slapd >/dev/null 2>&1
systemctl start slapd   # the package started it; a restart races its SysV stop
umask 077
printf '%s' "$ADMIN_PASSWORD" >/root/.ldap-admin   # read by ldap-pass (-y), root's only
umask 022

config() { ldapmodify -Q -Y EXTERNAL -H ldapi:/// "$@"; }
admin() { "$1" -x -H ldap://localhost -D "cn=admin,$BASE" -y /root/.ldap-admin "${@:2}"; }

# 2. The password policy overlay: passwords hashed even when written in clear.
if ! ldapsearch -Q -LLL -Y EXTERNAL -H ldapi:/// -b cn=config olcModuleLoad | grep -q ppolicy; then
    config <<EOF
dn: cn=module{0},cn=config
changetype: modify
add: olcModuleLoad
olcModuleLoad: ppolicy
EOF
fi
if ! ldapsearch -Q -LLL -Y EXTERNAL -H ldapi:/// -b cn=config '(olcOverlay=*ppolicy)' dn | grep -q ppolicy; then
    config -a <<EOF
dn: olcOverlay=ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: ppolicy
olcPPolicyDefault: cn=default,ou=policies,$BASE
olcPPolicyHashCleartext: TRUE
EOF
fi

# 3. Rights: passwords only to authenticate or for their owner to change; nothing under
#    people for anonymous clients; people's entries read by authenticated users only.
config <<EOF
dn: olcDatabase={1}mdb,cn=config
changetype: modify
replace: olcAccess
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to attrs=shadowLastChange by self write by * read
olcAccess: {2}to dn.subtree="$PEOPLE" by users read by anonymous auth by * none
olcAccess: {3}to * by * read
EOF

# 4. The tree and the default policy.
add_missing() {  # dn, then the entry's LDIF on stdin
    local entry
    entry=$(cat)
    admin ldapsearch -LLL -s base -b "$1" dn >/dev/null 2>&1 || admin ldapadd <<<"$entry" >/dev/null
}
add_missing "$PEOPLE" <<EOF
dn: $PEOPLE
objectClass: organizationalUnit
ou: people
EOF
add_missing "ou=groups,$BASE" <<EOF
dn: ou=groups,$BASE
objectClass: organizationalUnit
ou: groups
EOF
add_missing "ou=policies,$BASE" <<EOF
dn: ou=policies,$BASE
objectClass: organizationalUnit
ou: policies
EOF
add_missing "cn=default,ou=policies,$BASE" <<EOF
dn: cn=default,ou=policies,$BASE
objectClass: top
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMinLength: 12
pwdInHistory: 5
pwdCheckQuality: 1
EOF

# 5. The help desk's tool.
install -m 0700 -o root -g root /dev/stdin /usr/local/sbin/ldap-pass <<EOF
#!/usr/bin/env bash
# ldap-pass create UID GIVEN_NAME SURNAME | change UID (current password on stdin) | forgot UID
# Prints the new password alone on the last line. Journal: $PEOPLE actions in
# /var/log/ldap-pass.log (never a password).
set -uo pipefail
umask 077
BASE='$BASE'
PEOPLE="ou=people,\$BASE"
LOG=/var/log/ldap-pass.log
URI=ldap://localhost
WORK=\$(mktemp -d)
trap 'rm -rf "\$WORK"' EXIT

journal() { printf '%s %s %s %s\n' "\$(date --iso-8601=seconds)" "\$1" "\$2" "\$3" >>"\$LOG"; }
fail() { journal "\$1" "\$2" failure; echo "ldap-pass: \$1 \$2: \$3" >&2; exit 1; }
generate() {  # 16 characters from /dev/urandom, with the four classes
    local p
    while :; do
        p=\$(LC_ALL=C tr -dc 'A-Za-z0-9!#%+,.:=?@_~-' </dev/urandom | head -c 16)
        [[ \$p =~ [a-z] && \$p =~ [A-Z] && \$p =~ [0-9] && \$p =~ [^A-Za-z0-9] ]] && break
    done
    printf '%s' "\$p" >"\$WORK/new"
}
as_admin() { "\$1" -x -H "\$URI" -D "cn=admin,\$BASE" -y /root/.ldap-admin "\${@:2}"; }

action=\${1:-}
uid=\${2:-}
[[ \$uid =~ ^[a-z][a-z0-9._-]{0,31}\$ ]] || { echo "usage: ldap-pass create|change|forgot UID" >&2; exit 2; }
dn="uid=\$uid,\$PEOPLE"
exists() { as_admin ldapsearch -LLL -s base -b "\$dn" dn >/dev/null 2>&1; }
case \$action in
create)
    [ \$# -eq 4 ] || { echo "usage: ldap-pass create UID GIVEN_NAME SURNAME" >&2; exit 2; }
    exists && fail create "\$uid" "already exists"
    printf 'dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ngivenName: %s\nsn: %s\ncn: %s %s\n' \
        "\$dn" "\$uid" "\$3" "\$4" "\$3" "\$4" | as_admin ldapadd >/dev/null \
        || fail create "\$uid" "could not add the entry"
    generate
    as_admin ldappasswd -T "\$WORK/new" "\$dn" >/dev/null || fail create "\$uid" "could not set the password"
    ;;
change)
    exists || fail change "\$uid" "no such account"
    IFS= read -r current || fail change "\$uid" "the current password is read on standard input"
    printf '%s' "\$current" >"\$WORK/old"
    generate
    ldappasswd -x -H "\$URI" -D "\$dn" -y "\$WORK/old" -t "\$WORK/old" -T "\$WORK/new" "\$dn" \
        >/dev/null 2>"\$WORK/err" || fail change "\$uid" "\$(head -c 200 "\$WORK/err")"
    ;;
forgot)
    exists || fail forgot "\$uid" "no such account"
    generate
    as_admin ldappasswd -T "\$WORK/new" "\$dn" >/dev/null || fail forgot "\$uid" "could not set the password"
    ;;
*)
    echo "usage: ldap-pass create|change|forgot UID" >&2
    exit 2
    ;;
esac
journal "\$action" "\$uid" success
echo "\$action \$uid: done; the new password:"
cat "\$WORK/new"
echo
EOF
touch /var/log/ldap-pass.log
chmod 0600 /var/log/ldap-pass.log

# 6. The tool's tests.
install -m 0700 /dev/stdin /root/ldap-pass-tests.sh <<EOF
#!/usr/bin/env bash
# Tests of ldap-pass: create, bind with ldapwhoami, change, forgot, old passwords refused.
set -euo pipefail
BASE='$BASE'
uid="test\$\$"
dn="uid=\$uid,ou=people,\$BASE"
works() { printf '%s' "\$1" >/tmp/pw.\$\$; ldapwhoami -x -H ldap://localhost -D "\$dn" -y /tmp/pw.\$\$ >/dev/null 2>&1; }
trap 'rm -f /tmp/pw.\$\$; ldapdelete -x -H ldap://localhost -D "cn=admin,\$BASE" -y /root/.ldap-admin "\$dn" 2>/dev/null || true' EXIT
first=\$(ldap-pass create "\$uid" Test Essai | tail -n 1)
works "\$first" && echo "ok: create"
second=\$(printf '%s\n' "\$first" | ldap-pass change "\$uid" | tail -n 1)
works "\$second" && ! works "\$first" && echo "ok: change"
! printf 'wrong\n' | ldap-pass change "\$uid" >/dev/null 2>&1 && works "\$second" && echo "ok: wrong current password refused"
third=\$(ldap-pass forgot "\$uid" | tail -n 1)
works "\$third" && ! works "\$second" && echo "ok: forgot"
EOF
/root/ldap-pass-tests.sh
sync
