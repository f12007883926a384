#!/usr/bin/env bash
# Installs the Debian packages relay needs to build and test. Idempotent: it
# only calls apt-get when something is missing, so `make test` stays fast on a
# machine that already has everything.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git python3
  libyaml-dev nlohmann-json3-dev libsqlite3-dev sqlite3 libcli11-dev
  libfmt-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev valgrind strace time
  python3-yaml python3-jsonschema
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
