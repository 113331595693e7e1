#!/usr/bin/env bash
# Every check Confab has: formatting, clippy (server and WASM), the Rust tests, the
# Playwright tests in Debian's Chromium against a release build on a fresh database, and a
# short run of every load scenario (it checks delivery, not timings).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/setup.sh
# CI builds once, on a disk it shares: incremental caches and full debug info would only cost
# disk (gigabytes) and time; line tables still give a failing test's backtrace its lines.
if [ -n "${CI:-}" ]; then
  export CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=line-tables-only
  df -h . | tail -n 1 | awk '{ print "disk: " $4 " free of " $2 }'
fi
step() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }

step "cargo fmt"
cargo fmt --all -- --check

step "clippy (server)"
cargo clippy --all-targets --locked -- -D warnings
step "clippy (browser)"
cargo clippy -p frontend --target wasm32-unknown-unknown --locked -- -D warnings

step "Rust tests"
# A hung test must fail the run, not stall CI (the server under test catches SIGTERM).
logs="$(mktemp -d)"
timeout -s KILL 1800 cargo test --workspace --exclude frontend --locked 2>&1 | tee "$logs/cargo.log"
# What comes next builds for release; in CI the debug builds (gigabytes) have served.
if [ -n "${CI:-}" ]; then rm -rf target/debug target/wasm32-unknown-unknown/debug; fi

step "browser tests (Playwright, Chromium)"
# Build, then serve and test here: `cargo leptos end-to-end` exits 0 even when the build fails.
# --precompress: the WASM, JS and CSS as .br and .gz next to them, which the server sends as they are.
cargo leptos build --release --precompress
e2e_data="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# Web Push on, to the push service the browser tests run on loopback; a key made for this run.
vapid_key="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
DATABASE_URL="sqlite://$e2e_data/confab.db?mode=rwc" APP_ENV=development \
  VAPID_PRIVATE_KEY="$vapid_key" VAPID_SUBJECT="mailto:ops@confab.example" PUSH_SERVICES="http://127.0.0.1" \
  LEPTOS_SITE_ADDR="127.0.0.1:$port" RUST_LOG=warn ./target/release/confab >"$e2e_data/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$e2e_data" "$logs"' EXIT
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$e2e_data/server.log"; exit 1; }
  sleep 0.2
done
(cd end2end && BASE_URL="http://127.0.0.1:$port" npx playwright test) 2>&1 | tee "$logs/e2e.log" || {
  echo "server log:"; tail -50 "$e2e_data/server.log"; exit 1
}

step "load smoke (confab-bench smoke: every load scenario briefly, against the release binary)"
bench/run.sh smoke 2>&1 | tee "$logs/smoke.log"

# One closing line for everything that ran (any failure above has already stopped the script).
rust="$(awk '/^test result:/ { n += $4 } END { print n + 0 }' "$logs/cargo.log")"
browser="$(grep -Eo '^ *[0-9]+ passed' "$logs/e2e.log" | tail -1 | grep -Eo '[0-9]+' || echo 0)"
smoke="$(sed -n 's/^smoke: \([0-9]*\) scenarios.*/\1/p' "$logs/smoke.log" | tail -1)"
echo
echo "summary: $((rust + browser + ${smoke:-0})) passed, 0 failed"
