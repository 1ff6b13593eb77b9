#!/usr/bin/env bash
# Installs Debian's pgbouncer for the tests that run behind a pooler (as Neon's -pooler endpoint is) when it is
# missing and this machine can: as root with apt-get. Prints the binary's path on success; otherwise one line on
# stderr saying why, and exits 1 (those tests then skip).
set -uo pipefail
find_pgbouncer() {
  for path in /usr/sbin/pgbouncer /usr/bin/pgbouncer; do
    if [ -x "$path" ]; then echo "$path"; return 0; fi
  done
  command -v pgbouncer
}
if find_pgbouncer; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "pgbouncer is not installed and cannot be installed here (needs root and apt-get): apt-get install pgbouncer" >&2
  exit 1
fi
log=$(mktemp)
if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pgbouncer; } >"$log" 2>&1; then
  echo "apt-get install pgbouncer failed (log: $log)" >&2
  exit 1
fi
rm -f "$log"
# Debian starts the packaged service; the tests run their own instances.
if command -v systemctl >/dev/null; then systemctl disable --now pgbouncer >/dev/null 2>&1 || true; fi
find_pgbouncer
