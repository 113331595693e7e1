//! `confab-bench`: Confab's performance figures, measured the way the server really runs.
//! `confab-bench storage` seeds a fresh SQLite database at a realistic scale (users,
//! conversations, messages, one "focus" user in many conversations), then times the same
//! `chat::Chat` calls the HTTP handlers make, and the list and history over real HTTP against
//! `confab::Application` on loopback. Results are HDR-histogram percentiles, printed as a
//! table and optionally written as JSON. BENCHMARKS.md records a full-scale run.
//!
//! Layout:
//! - [`seed`]: the data plan (fixed random seed) and its bulk insertion.
//! - [`storage`]: the `storage` scenario, server-side.
//! - [`http`]: the same reads over HTTP.
//! - [`idle`]: the `idle` scenario, memory per idle WebSocket of the real server process.
//! - [`measure`]: the timing loop (warm-up, iteration and time bounds).
//! - [`report`]: the table and the JSON.

/// Over loopback against the real server.
mod http;
/// Memory per idle WebSocket, against the server binary.
mod idle;
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
    /// Open many idle WebSockets against the `confab` binary and measure its memory per socket.
    Idle(idle::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Storage(args) => storage::run(args).await,
        Command::Idle(args) => idle::run(args).await,
    };
    match result.and_then(|text| Ok(std::io::stdout().lock().write_all(text.as_bytes())?)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("confab-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
