#!/usr/bin/env bash
# `bash scripts/ensure-debian.sh chromium|pgbouncer`: installs the Debian package the browser or pooler tests need when
# it is missing and this machine can (root and apt-get). Prints the binary's path on success; otherwise one line on
# stderr saying why, and exits 1 (those tests then skip, saying so).
set -uo pipefail
package=${1:?usage: ensure-debian.sh PACKAGE}
find_binary() {
  for name in "$package" "$package-browser"; do
    for path in "/usr/sbin/$name" "/usr/bin/$name"; do
      if [ -x "$path" ]; then echo "$path"; return 0; fi
    done
  done
  command -v "$package"
}
if find_binary; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "$package is not installed and cannot be installed here (needs root and apt-get): apt-get install $package" >&2
  exit 1
fi
log=$(mktemp)
if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$package"; } >"$log" 2>&1; then
  echo "apt-get install $package failed (log: $log)" >&2
  exit 1
fi
rm -f "$log"
# A package that starts a service of its own (pgbouncer): the tests run their own instances.
if command -v systemctl >/dev/null; then systemctl disable --now "$package" >/dev/null 2>&1 || true; fi
find_binary
