#!/usr/bin/env bash
# Reference solution of the dns test scenario, run as root on `ns1`. Parameters: DOMAIN, WWW.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
: "${DOMAIN:?}" "${WWW:?}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-unsafe-io bind9 >/dev/null

IFS=. read -r a b c d <<<"$WWW"
REVERSE="$c.$b.$a.in-addr.arpa"
cat >/etc/bind/named.conf.options <<CONF
options {
    directory "/var/cache/bind";
    recursion no;
    allow-query { any; };
    listen-on-v6 { none; };
    dnssec-validation no;
};
CONF
cat >/etc/bind/named.conf.local <<CONF
zone "$DOMAIN" { type master; file "/etc/bind/db.$DOMAIN"; };
zone "$REVERSE" { type master; file "/etc/bind/db.$REVERSE"; };
CONF
SOA="@ 3600 IN SOA ns1.$DOMAIN. hostmaster.$DOMAIN. (1 3600 600 86400 3600)"
cat >"/etc/bind/db.$DOMAIN" <<ZONE
\$TTL 3600
$SOA
@ IN NS ns1.$DOMAIN.
@ IN MX 10 mail.$DOMAIN.
ns1 IN A $WWW
www IN A $WWW
mail IN A $WWW
ZONE
cat >"/etc/bind/db.$REVERSE" <<ZONE
\$TTL 3600
$SOA
@ IN NS ns1.$DOMAIN.
$d IN PTR www.$DOMAIN.
ZONE
named-checkconf -z >/dev/null
systemctl enable named >/dev/null 2>&1
systemctl restart named
sync
