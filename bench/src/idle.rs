//! The `idle` scenario: memory per idle WebSocket. It starts the real `confab` binary as a child
//! process (so its resident memory is its own), opens N sockets for one user (a user may have
//! many devices), waits for the server to settle, and divides the growth of the server's RSS by
//! N. Then it proves the sockets are live: one message sent over REST must reach every socket.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Idle sockets to open.
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 200)]
    parallel: usize,
    /// The server binary (default: `confab` next to this program).
    #[arg(long)]
    server: Option<PathBuf>,
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The server as a child process, killed when dropped.
struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(binary: PathBuf) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let secret: String = (0..48)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        let child = Command::new(&binary)
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/idle.db?mode=rwc", dir.path().display()),
            )
            .env("JWT_SECRET", secret)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("could not start {}", binary.display()))?;
        let server = Self {
            child,
            base: format!("127.0.0.1:{port}"),
            _dir: dir,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while client
            .get(format!("http://{}/healthz", server.base))
            .send()
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                bail!("the server did not answer /healthz within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(server)
    }

    /// Resident memory of the server process, in bytes.
    fn rss(&self) -> anyhow::Result<u64> {
        let pid = self.child.id().context("the server has exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no VmRSS in /proc status")?;
        Ok(kib * 1024)
    }
}

async fn register(
    client: &reqwest::Client,
    base: &str,
    name: &str,
) -> anyhow::Result<(i64, String)> {
    let res: Value = client
        .post(format!("http://{base}/api/auth/register"))
        .json(&json!({"username": name, "display_name": name, "password": "idle-benchmark"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = res["user"]["id"].as_i64().context("user id")?;
    let token = res["token"].as_str().context("token")?.to_owned();
    Ok((id, token))
}

async fn open(base: &str, token: &str) -> anyhow::Result<Socket> {
    let mut request = format!("ws://{base}/ws").into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    // Small client buffers: this process holds as many sockets as the server.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), false).await?;
    let first = next_text(&mut socket).await?;
    if !first.contains("connection:established") {
        bail!("first frame was not connection:established: {first}");
    }
    Ok(socket)
}

async fn next_text(socket: &mut Socket) -> anyhow::Result<String> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .context("no frame within 30 s")?
            .context("socket closed")??;
        if let Message::Text(text) = frame {
            return Ok(text.to_string());
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<String> {
    let binary = match args.server {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("confab"),
    };
    let server = Server::start(binary).await?;
    let client = reqwest::Client::new();
    let (owner, token) = register(&client, &server.base, "idle_device_owner").await?;
    let (_, friend_token) = register(&client, &server.base, "idle_friend").await?;
    let conversation: Value = client
        .post(format!("http://{}/api/conversations", server.base))
        .bearer_auth(&friend_token)
        .json(&json!({"kind": "direct", "user_id": owner}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let conversation = conversation["id"].as_i64().context("conversation id")?;

    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = server.rss()?;
    let started = Instant::now();
    let mut sockets: Vec<Socket> = Vec::with_capacity(args.sockets);
    let parallel = args.parallel.max(1);
    while sockets.len() < args.sockets {
        let batch = (args.sockets - sockets.len()).min(parallel);
        let opened =
            futures::future::join_all((0..batch).map(|_| open(&server.base, &token))).await;
        for socket in opened {
            sockets.push(socket?);
        }
    }
    let open_time = started.elapsed();
    // Let allocations settle (handshake buffers freed, presence news sent).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = server.rss()?;

    // Every socket is live: one message reaches all of them.
    let sent = Instant::now();
    client
        .post(format!(
            "http://{}/api/conversations/{conversation}/messages",
            server.base
        ))
        .bearer_auth(&friend_token)
        .json(&json!({"body": "are you all there?"}))
        .send()
        .await?
        .error_for_status()?;
    let mut delivered = 0usize;
    for socket in &mut sockets {
        loop {
            let text = next_text(socket).await?;
            if text.contains("message:new") {
                delivered += 1;
                break;
            }
        }
    }
    let fan_out = sent.elapsed();
    if delivered != sockets.len() {
        bail!(
            "only {delivered} of {} sockets got the message",
            sockets.len()
        );
    }
    for socket in &mut sockets {
        let _ = socket.send(Message::Close(None)).await;
    }

    let n = sockets.len().max(1) as f64;
    let per = after.saturating_sub(before) as f64 / n;
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    Ok(format!(
        "idle sockets: {}\n\
         opened in: {:.2} s ({:.0} handshakes/s)\n\
         server RSS before: {:.1} MiB, after: {:.1} MiB\n\
         per idle socket: {:.2} KiB ({:.0} bytes)\n\
         one message to all sockets (REST send to last delivery): {:.1} ms; delivered {}/{}\n",
        sockets.len(),
        open_time.as_secs_f64(),
        n / open_time.as_secs_f64().max(1e-9),
        mib(before),
        mib(after),
        per / 1024.0,
        per,
        fan_out.as_secs_f64() * 1000.0,
        delivered,
        sockets.len(),
    ))
}
