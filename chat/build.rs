//! `sqlx::migrate!` embeds the migrations at compile time, and on stable Rust cargo does not
//! know it read them: without this, a new migration file would not rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
