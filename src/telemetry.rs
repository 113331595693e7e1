use tracing_subscriber::EnvFilter;

use crate::{AppEnv, Config};

/// Structured logs: JSON lines in production, readable text in development. `RUST_LOG` filters.
pub fn init(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match config.app_env {
        AppEnv::Production => builder.json().try_init(),
        AppEnv::Development => builder.try_init(),
    };
}
