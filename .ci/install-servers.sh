#!/usr/bin/env bash
# Installs the database servers the integration tests start themselves: Debian's `clickhouse-server` (18.16)
# and `postgresql`. Idempotent: installs only what is missing, runs `apt-get update` at most once, and keeps
# the packages from starting their system services (a temporary policy-rc.d answers "do not start").
set -euo pipefail

PACKAGES=(clickhouse-server postgresql)

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for package in "${PACKAGES[@]}"; do
  if installed "$package"; then
    echo "install-servers: $package already installed"
  else
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "install-servers: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# invoke-rc.d and deb-systemd-invoke ask /usr/sbin/policy-rc.d whether to start a service; 101 = "no".
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
  as_root chmod 755 "$policy"
  created_policy=1
fi
remove_policy() {
  if [ "$created_policy" -eq 1 ]; then
    as_root rm -f "$policy"
  fi
}
trap remove_policy EXIT

echo "install-servers: installing ${missing[*]}"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"

for package in "${missing[@]}"; do
  installed "$package" || {
    echo "install-servers: $package did not install" >&2
    exit 1
  }
done
