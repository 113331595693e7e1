#!/usr/bin/env bash
# Every check Confab has: formatting, clippy (server and WASM), the Rust tests, and the
# Playwright tests in Debian's Chromium against a release build on a fresh database.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/setup.sh
step() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }

step "cargo fmt"
cargo fmt --all -- --check

step "clippy (server)"
cargo clippy --all-targets --locked -- -D warnings
step "clippy (browser)"
cargo clippy -p frontend --target wasm32-unknown-unknown --locked -- -D warnings

step "Rust tests"
cargo test --workspace --exclude frontend --locked

step "browser tests (Playwright, Chromium)"
e2e_data="$(mktemp -d)"
trap 'rm -rf "$e2e_data"' EXIT
export DATABASE_URL="sqlite://$e2e_data/confab.db?mode=rwc"
export APP_ENV=development
cargo leptos end-to-end --release
