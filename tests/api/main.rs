//! Integration tests: each test starts the real server (`Application::build`) on a random port
//! with a fresh SQLite file and talks HTTP to it.

mod accounts;
mod helpers;
mod shell;
mod startup;
mod tokens;
