use clap::Parser;

/// mimalloc instead of the system allocator: thousands of sockets each hold small, long-lived
/// buffers, and glibc's per-thread arenas keep far more memory around them (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use confab::{telemetry, Application, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // mimalloc asks for transparent huge pages, so each 2 MiB region it touched counted in
    // full: 28 of an idle server's 42 MiB, 8 to 28 MiB more under load (BENCHMARKS.md).
    // Refused only by kernels without THP, where there is nothing to turn off.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let config = Config::parse();
    telemetry::init(&config);
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("confab: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
