#!/usr/bin/env bash
# Builds confab-bench in release and runs the storage benchmark (see BENCHMARKS.md).
#   bench/run.sh           full scale: 10k users, 100k conversations, 1M messages, focus user in
#                          1,000 conversations (about 3 minutes after the build on 2 cores)
#   bench/run.sh --smoke   small scale: a few seconds after the build
#   bench/run.sh idle      10,000 idle WebSockets against the confab binary: memory per socket
# Further arguments go to `confab-bench storage`, e.g. `--json target/bench.json`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ "${1:-}" == "idle" ]]; then
  # Memory per idle WebSocket: the server binary runs as its own process.
  shift
  cargo build --release --locked -p confab -p confab-bench
  exec timeout 600 "${CARGO_TARGET_DIR:-target}/release/confab-bench" idle "$@"
fi
scale=(--users 10000 --conversations 100000 --messages 1000000 --member-of 1000)
limit=600
if [[ "${1:-}" == "--smoke" ]]; then
  shift
  scale=(--users 200 --conversations 1000 --messages 10000 --member-of 50
         --iterations 200 --max-seconds 2)
  limit=120
fi
cargo build --release --locked -p confab-bench
# A hard bound on the run, whatever the machine.
exec timeout "$limit" "${CARGO_TARGET_DIR:-target}/release/confab-bench" storage "${scale[@]}" "$@"
