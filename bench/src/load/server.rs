//! The servers under test, each started as its own process so that its CPU time and resident
//! memory are its own: Confab (the release `confab` binary on a fresh SQLite file), the
//! Socket.IO baseline (`bench/baselines/socketio`, Node + MySQL) and the bare axum echo.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Which server a scenario runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Confab,
    /// The Node + Socket.IO 4 + MySQL design Confab replaces.
    Socketio,
    /// A bare axum WebSocket echo: what the socket path costs with no chat in it.
    Echo,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Self::Confab => "confab",
            Self::Socketio => "socketio",
            Self::Echo => "echo",
        }
    }
}

/// A running server, killed when dropped.
pub struct Server {
    pub target: Target,
    /// `host:port`.
    pub addr: String,
    /// Signs the tokens the benchmark hands its clients (Confab's key, for seeded sessions).
    pub secret: String,
    /// Confab's database file, seeded before the server starts.
    pub db_path: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

fn random_secret() -> String {
    (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The project root: where `bench/baselines` lives (this program runs from `target/release`).
fn project_root() -> Result<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .map(Path::to_path_buf)
        .context("no project root above bench/")
}

impl Server {
    /// A fresh, empty Confab database file and key; seed it, then [`Server::start`].
    pub fn prepare(target: Target) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let db_path = dir.path().join("confab.db");
        Ok(Self {
            target,
            addr: String::new(),
            secret: random_secret(),
            db_path,
            child: None,
            _dir: dir,
        })
    }

    pub fn database_url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.db_path.display())
    }

    /// Starts the process and waits until it answers.
    pub async fn start(&mut self) -> Result<()> {
        let port = free_port()?;
        self.addr = format!("127.0.0.1:{port}");
        let mut command = match self.target {
            Target::Confab => {
                let binary = std::env::current_exe()?.with_file_name("confab");
                let mut c = Command::new(&binary);
                c.env("DATABASE_URL", self.database_url())
                    .env("JWT_SECRET", &self.secret)
                    .env("LEPTOS_SITE_ADDR", &self.addr)
                    // Every client of the benchmark is on 127.0.0.1, up to 19,000 of them.
                    .env("MAX_CONNECTIONS_PER_ADDRESS", "0")
                    .env("RUST_LOG", "warn");
                c
            }
            Target::Socketio => {
                let dir = project_root()?.join("bench/baselines/socketio");
                if !dir.join("node_modules").exists() {
                    bail!(
                        "{}: run `npm ci` there first (bench/run.sh does)",
                        dir.display()
                    );
                }
                let mut c = Command::new("node");
                c.arg("server.js")
                    .current_dir(dir)
                    .env("PORT", port.to_string())
                    .env("JWT_SECRET", &self.secret);
                c
            }
            Target::Echo => {
                let mut c = Command::new(std::env::current_exe()?);
                c.arg("echo-server").arg("--addr").arg(&self.addr);
                c
            }
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("could not start the {} server", self.target.name()))?;
        // Drain stdout so a chatty server never blocks on a full pipe.
        if let Some(out) = child.stdout.take() {
            tokio::spawn(async move {
                let mut lines = BufReader::new(out).lines();
                while let Ok(Some(_)) = lines.next_line().await {}
            });
        }
        let child = self.child.insert(child);
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = client
                .get(format!("http://{}/healthz", self.addr))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                bail!("the {} server exited: {status}", self.target.name());
            }
            if Instant::now() > deadline {
                bail!(
                    "the {} server did not answer within 60 s",
                    self.target.name()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn pid(&self) -> Result<u32> {
        self.child
            .as_ref()
            .and_then(Child::id)
            .context("the server is not running")
    }

    /// Resident memory of the server process, in bytes.
    pub fn rss(&self) -> Result<u64> {
        self.status_bytes("VmRSS:")
    }

    /// The anonymous part of [`Server::rss`]: memory the process allocated, without the pages
    /// of files it maps (Confab maps its SQLite database; those pages are the OS's file cache,
    /// there whether or not anyone is connected, and are reclaimable).
    pub fn rss_anon(&self) -> Result<u64> {
        self.status_bytes("RssAnon:")
    }

    fn status_bytes(&self, field: &str) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?))?;
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("no {field} in /proc status"))?;
        Ok(kib * 1024)
    }

    /// CPU time (user + system) the server process has used so far, in seconds.
    pub fn cpu_seconds(&self) -> Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()?))?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = stat
            .rsplit_once(')')
            .map(|(_, r)| r)
            .context("odd /proc stat")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| -> Result<f64> {
            Ok(fields.get(i).context("short /proc stat")?.parse::<f64>()?)
        };
        // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
        // Clock ticks are 100 per second on Linux.
        Ok((ticks(11)? + ticks(12)?) / 100.0)
    }
}
