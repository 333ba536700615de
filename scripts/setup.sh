#!/usr/bin/env bash
# Prepares a fresh machine (Debian, as root or with sudo) for building and
# testing FFO: libclang for oxigraph's RocksDB bindings, and a PostgreSQL
# server on 127.0.0.1:5432 for the shared-ledger tests. Safe to run again.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

# oxrocksdb-sys runs bindgen, which needs libclang.
if ! ldconfig -p 2>/dev/null | grep -q 'libclang\(-[0-9.]*\)\?\.so'; then
  echo "setup: installing libclang-dev (needed to build RocksDB bindings)"
  apt_install libclang-dev
fi

# The shared-ledger tests need PostgreSQL on 127.0.0.1:5432 with trust auth
# and a database named test.
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_isready >/dev/null 2>&1; then
  echo "setup: installing PostgreSQL"
  apt_install postgresql postgresql-client
fi
if ! pg_up; then
  echo "setup: starting PostgreSQL"
  for v in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || as_root pg_ctlcluster "$v" main start || true
  done
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if pg_up; then
  # Trust auth for local TCP connections, and the test database.
  if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
      grep -q 'ffo-setup' "$hba" || as_root sed -i '1i host all all 127.0.0.1/32 trust # ffo-setup\nhost all all ::1/128 trust # ffo-setup' "$hba"
    done
    for v in $(ls /etc/postgresql); do as_root pg_ctlcluster --skip-systemctl-redirect "$v" main reload || true; done
    sleep 1
  fi
  psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -d postgres -c 'create database test' >/dev/null
else
  echo "setup: warning: PostgreSQL is not reachable on 127.0.0.1:5432; the shared-ledger tests will fail" >&2
fi
