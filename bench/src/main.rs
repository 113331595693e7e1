//! `confab-bench`: Confab's performance figures, measured the way the server really runs.
//! `confab-bench storage` seeds a fresh SQLite database at a realistic scale (users,
//! conversations, messages, one "focus" user in many conversations), then times the same
//! `chat::Chat` calls the HTTP handlers make, and the list and history over real HTTP against
//! `confab::Application` on loopback. Results are HDR-histogram percentiles, printed as a
//! table and optionally written as JSON. BENCHMARKS.md records a full-scale run.
//!
//!
//! The load commands (`send`, `fanout`, `list`, `reconnect`, `idle`, and `compare` for all of
//! them) start a server as its own process (Confab, the Socket.IO baseline in
//! `bench/baselines/socketio`, or a bare axum echo) and drive it open-loop over WebSockets
//! and HTTP on loopback. `smoke` runs each briefly and fails if anything was not delivered.
//!
//! Layout:
//! - [`seed`]: the data plan (fixed random seed) and its bulk insertion.
//! - [`storage`]: the `storage` scenario, server-side.
//! - [`http`]: the same reads over HTTP.
//! - [`load`]: the load scenarios against a server process, and their report and plots.
//! - [`echo`]: the echo server, the socket path's reference.
//! - [`measure`]: the timing loop (warm-up, iteration and time bounds).
//! - [`report`]: the table and the JSON.

/// The bare WebSocket echo server.
mod echo;
/// Over loopback against the real server.
mod http;
/// Load scenarios against a server process.
mod load;
/// Timing loops that record into HDR histograms.
mod measure;
/// Output: text table and JSON.
mod report;
/// Generating and inserting the data set.
mod seed;
/// The storage scenario.
mod storage;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "confab-bench", about = "Confab benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Seed a database at scale, then time the conversation list, history and send.
    Storage(storage::Args),
    #[command(flatten)]
    Load(load::Load),
    /// Every load scenario on Confab and on the Socket.IO baseline: the suite in BENCHMARKS.md.
    Compare(load::Output),
    /// Each load scenario for a few seconds against Confab; fails if anything was not delivered.
    Smoke,
    /// Serve the bare WebSocket echo (started by the load commands with `--target echo`).
    EchoServer(echo::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Storage(args) => storage::run(args).await,
        Command::Load(load) => load::run(load).await,
        Command::Compare(out) => load::compare(out).await,
        Command::Smoke => load::smoke().await,
        Command::EchoServer(args) => echo::run(args).await,
    };
    match result.and_then(|text| Ok(std::io::stdout().lock().write_all(text.as_bytes())?)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("confab-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
