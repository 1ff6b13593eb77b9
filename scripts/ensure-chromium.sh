#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests when it is missing and this machine can: as root with apt-get.
# Prints the binary's path on success; otherwise one line on stderr saying why, and exits 1 (the tests then skip).
set -uo pipefail
for name in chromium chromium-browser; do
  if path=$(command -v "$name"); then echo "$path"; exit 0; fi
done
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "chromium is not installed and cannot be installed here (needs root and apt-get): apt-get install chromium" >&2
  exit 1
fi
log=$(mktemp)
if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; } >"$log" 2>&1; then
  echo "apt-get install chromium failed (log: $log)" >&2
  exit 1
fi
rm -f "$log"
command -v chromium
