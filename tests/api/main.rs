//! Integration tests: each test starts the real server (`Application::build`) on a random port
//! with a fresh SQLite file and talks HTTP to it.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

mod accounts;
mod authorization;
mod conversations;
mod docs;
mod helpers;
mod messages;
mod participants;
mod shell;
mod startup;
mod tokens;
