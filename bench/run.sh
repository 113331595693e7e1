#!/usr/bin/env bash
# Builds confab-bench (and the confab binary) in release and runs a benchmark (BENCHMARKS.md).
#   bench/run.sh               storage, full scale: 10k users, 100k conversations, 1M messages,
#                              focus user in 1,000 conversations (about 3 minutes on 2 cores)
#   bench/run.sh --smoke       storage, small scale: a few seconds
#   bench/run.sh all           storage at full scale, then `compare` with JSON and plots into
#                              target/bench/ (about 17 minutes): everything in BENCHMARKS.md
#   bench/run.sh compare       every load scenario on Confab, the Socket.IO baseline and the echo
#                              (about 14 minutes); add `--json F --plots DIR`
#   bench/run.sh smoke         each load scenario for a few seconds (the test command runs it)
#   bench/run.sh send|fanout|list|reconnect|idle [flags]
#                              one load scenario; `--target confab,socketio,echo`; `--help` lists flags
# Further storage arguments go to `confab-bench storage`, e.g. `--json target/bench.json`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="${CARGO_TARGET_DIR:-target}/release/confab-bench"
case "${1:-}" in
  all)
    mkdir -p target/bench
    "$0" --json target/bench/storage.json
    exec "$0" compare --json target/bench/compare.json --plots target/bench
    ;;
  compare|smoke|send|fanout|list|reconnect|idle)
    # Load scenarios start the server binary as its own process; the baseline needs its packages.
    cargo build --release --locked -p confab -p confab-bench
    if [[ "$*" == *socketio* || "$1" == compare ]]; then
      (cd bench/baselines/socketio && npm ci --silent --no-audit --no-fund >/dev/null)
    fi
    # Thousands of sockets: both ends need the descriptors.
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    limit=900
    [[ "$1" == smoke ]] && limit=180
    exec timeout "$limit" "$bin" "$@"
    ;;
esac
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
exec timeout "$limit" "$bin" storage "${scale[@]}" "$@"
