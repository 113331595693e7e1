#!/usr/bin/env bash
# Installs what building and testing Confab needs, each step skipped when already there.
# Everything comes from the package registries (crates.io, npm, Debian): nothing else is reachable.
# Source it (`. scripts/setup.sh`) to also get wasm-opt on PATH; run.sh and test.sh do.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

CARGO_LEPTOS_VERSION=0.3.10
BINARYEN_VERSION=132.0.0

# The WebAssembly target for the browser half.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# cargo-leptos, told never to download tools itself (it uses the ones on PATH).
if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 13 minutes, once)"
  cargo install "cargo-leptos@$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

# wasm-bindgen-cli must match the wasm-bindgen library in Cargo.lock exactly.
wb_version="$(grep -A1 '^name = "wasm-bindgen"$' "$root/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')"
if ! wasm-bindgen --version 2>/dev/null | grep -q "$wb_version"; then
  say "installing wasm-bindgen-cli $wb_version"
  # Not --locked: one of its locked dependencies is missing from the registry.
  cargo install wasm-bindgen-cli --version "$wb_version"
fi

# wasm-opt from the npm build of binaryen (Debian's 108 breaks hydration).
if [ ! -x "$tools/node_modules/.bin/wasm-opt" ]; then
  say "installing wasm-opt (binaryen $BINARYEN_VERSION from npm)"
  npm install --silent --no-audit --no-fund --prefix "$tools" "binaryen@$BINARYEN_VERSION" >/dev/null
fi
export PATH="$tools/node_modules/.bin:$PATH"

# Debian's Chromium for the browser tests.
if [ ! -x /usr/bin/chromium ]; then
  say "installing chromium from Debian"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi

# Playwright, without its own browser download.
if [ ! -d "$root/end2end/node_modules/@playwright/test" ]; then
  say "installing the Playwright test runner"
  (cd "$root/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund >/dev/null)
fi
