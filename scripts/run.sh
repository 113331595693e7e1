#!/usr/bin/env bash
# Builds Confab and runs it on the embedded SQLite database (data/confab.db), development mode.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/setup.sh

cargo leptos build
addr="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
printf '\n  Confab is starting: open http://%s\n\n' "$addr"
exec ./target/debug/confab
