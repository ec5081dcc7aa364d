#!/usr/bin/env bash
# PostgreSQL for Praxis (root), run by setup.sh when DB=postgres and by `make test`: installs
# the server if missing, starts it (systemd or not), makes a role and a database `praxis`.
# The role's password is made once and kept root-only in $PRAXIS_POSTGRES_ENV with the URL
# `make run DB=postgres` serves with; it is never printed. Idempotent.
set -euo pipefail

ENV_FILE=${PRAXIS_POSTGRES_ENV:-/etc/praxis/postgres.env}
say() { printf '\033[1m[postgres]\033[0m %s\n' "$*"; }
as_postgres() { (cd / && runuser -u postgres -- "$@"); }  # cd: postgres cannot read root's cwd

if ! command -v pg_lsclusters >/dev/null || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
    say "installing postgresql"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

# The newest cluster (Debian's package makes one, `main`): "version name port status ...".
read -r version cluster port status _ < <(pg_lsclusters -h | sort -V | tail -1)
if [ "$status" != "online" ]; then
    say "starting PostgreSQL $version/$cluster"
    if [ -d /run/systemd/system ]; then systemctl start "postgresql@$version-$cluster"
    else pg_ctlcluster "$version" "$cluster" start; fi
fi
for _ in $(seq 60); do pg_isready -q -p "$port" && break; sleep 0.5; done
pg_isready -q -p "$port" || { echo "PostgreSQL $version/$cluster did not start" >&2; exit 1; }

if [ ! -s "$ENV_FILE" ]; then
    say "making the role praxis; its password goes to $ENV_FILE (root only)"
    install -d -m 700 "$(dirname "$ENV_FILE")"
    password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
    (umask 077 && printf 'PRAXIS_DATABASE_URL=postgresql+psycopg://praxis:%s@127.0.0.1:%s/praxis\n' \
        "$password" "$port" > "$ENV_FILE")
fi
chmod 600 "$ENV_FILE"
password=$(sed -n 's|^PRAXIS_DATABASE_URL=postgresql+psycopg://praxis:\([^@]*\)@.*|\1|p' "$ENV_FILE")
[ -n "$password" ] || { echo "$ENV_FILE: no URL of the role praxis with its password" >&2; exit 1; }

# CREATEDB: the tests make a database per test from a migrated template (tests/postgres.py).
# The password goes on psql's standard input, never on a command line (`ps` shows those).
exists=$(as_postgres psql -p "$port" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'praxis'")
verb=$([ "$exists" = 1 ] && echo ALTER || echo CREATE)
printf "%s ROLE praxis LOGIN CREATEDB PASSWORD '%s';\n" "$verb" "$password" \
    | as_postgres psql -q -p "$port" -v ON_ERROR_STOP=1 >/dev/null
if [ -z "$(as_postgres psql -p "$port" -tAc "SELECT 1 FROM pg_database WHERE datname = 'praxis'")" ]; then
    say "making the database praxis"
    # UTF-8 whatever the cluster's default: names in every alphabet, `lower` on each letter.
    as_postgres createdb -p "$port" -O praxis -E UTF8 --locale=C.UTF-8 -T template0 praxis
fi
