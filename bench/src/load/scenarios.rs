//! The scenarios. Each starts its server, makes its world, connects its clients, then drives
//! load open-loop: the n-th operation is due at `start + n / rate` whatever happened to the
//! ones before, so a slow server meets more load, not less (no coordinated omission). Latency
//! runs from the moment an operation is handed to its socket or HTTP client to the moment its
//! result arrives; the generator's own lag behind its schedule is reported beside it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures::StreamExt;
use tokio::time::Instant;

use super::client::{Client, Handler, Kind};
use super::record::{client_id, sent_at, wait_for, Outcome, Recorder};
use super::server::{Server, Target};
use super::world::{self, Shape, World};

/// Sockets opened at once while connecting a world.
const CONNECT_PARALLEL: usize = 200;
/// How long stragglers may take once the schedule is done.
const DRAIN: Duration = Duration::from_secs(10);
const BODY: &str = "Hello! Is the mentoring session still on for Thursday?";

/// Connects one socket per listed user; `rooms(i)` are the conversations user i listens to.
async fn connect_all(
    server: &Server,
    world: &World,
    users: &[usize],
    rooms: impl Fn(usize) -> Vec<i64>,
    handler: impl Fn(usize) -> Handler,
) -> Result<Vec<Client>> {
    let tasks = users.iter().map(|&i| {
        let user = &world.users[i];
        let rooms = rooms(i);
        let handler = handler(i);
        async move {
            Client::connect(server.target, &server.addr, &user.token, &rooms, handler)
                .await
                .with_context(|| format!("connecting user {}", user.id))
        }
    });
    futures::stream::iter(tasks)
        .buffered(CONNECT_PARALLEL)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// The handler of a chat client: deliveries of messages sent by others, and acks.
fn chat_handler(recorder: &Arc<Recorder>, me: i64, tag: char) -> Handler {
    let recorder = recorder.clone();
    Arc::new(move |event, at| {
        let Some(stamp) = event.client_id.and_then(|id| sent_at(id, tag)) else {
            if event.kind == Kind::Error {
                recorder.error();
            }
            return;
        };
        match event.kind {
            Kind::New if event.sender_id != Some(me) => recorder.delivered(stamp, at),
            Kind::New => {}
            Kind::Ack => recorder.acked(stamp, at),
            Kind::Page => {}
            Kind::Error => recorder.error(),
        }
    })
}

/// Runs `count` operations at `rate` per second; returns how far behind schedule the
/// generator fell at worst. The thread sleeps to each operation's due time itself: tokio's
/// timers round up to whole milliseconds, which fired 5,000 operations a second as bursts of
/// five (BENCHMARKS.md), and a server answers a burst slower than the same load spread out.
async fn schedule(rate: f64, count: u64, mut op: impl FnMut(u64)) -> Duration {
    // On a terminal only (indicatif hides it otherwise); drawn a few times a second.
    let progress = indicatif::ProgressBar::new(count).with_style(
        indicatif::ProgressStyle::with_template("  {bar:40} {pos}/{len} at {per_sec}, {eta} left")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    // This worker's other tasks move to another thread meanwhile; `op` only queues work.
    let worst = tokio::task::block_in_place(|| {
        let start = std::time::Instant::now();
        let mut worst = Duration::ZERO;
        for n in 0..count {
            let due = start + Duration::from_secs_f64(n as f64 / rate);
            let now = std::time::Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            } else {
                worst = worst.max(now - due);
            }
            op(n);
            progress.inc(1);
        }
        worst
    });
    progress.finish_and_clear();
    worst
}

/// Measures the server's CPU time over a window.
struct Window {
    started: Instant,
    cpu: f64,
}

impl Window {
    fn open(server: &Server) -> Result<Self> {
        Ok(Self {
            started: Instant::now(),
            cpu: server.cpu_seconds()?,
        })
    }

    fn close(self, server: &Server) -> Result<(Duration, f64)> {
        Ok((self.started.elapsed(), server.cpu_seconds()? - self.cpu))
    }
}

fn lag_note(lag: Duration) -> (String, String) {
    (
        "generator lag".to_owned(),
        format!("{:.1} ms worst", lag.as_secs_f64() * 1000.0),
    )
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, clap::Args)]
pub struct SendArgs {
    /// Direct conversations, each between two users with one socket each.
    #[arg(long, default_value_t = 500)]
    pub pairs: usize,
    /// Messages per second, all pairs together; several (comma-separated) run one after another.
    #[arg(long, value_delimiter = ',', default_value = "5000")]
    pub rate: Vec<f64>,
    /// Seconds at each rate.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
}

/// What the 1:1 send scenario's results are called, before the rate.
pub const SEND_SCENARIO: &str = "1:1 send → delivery";

/// 1:1 send → delivery: each message goes from one user of a pair to the other; latency is
/// until the other user's socket has it; the ack's latency is reported beside it.
pub async fn send(target: Target, args: &SendArgs) -> Result<Vec<Outcome>> {
    let mut server = Server::prepare(target)?;
    let world = world::make(&mut server, &Shape::pairs(args.pairs)).await?;
    let users: Vec<usize> = (0..world.users.len()).collect();
    let mut outcomes = Vec::new();
    for (step, &rate) in args.rate.iter().enumerate() {
        let tag = char::from(b'a' + (step % 26) as u8);
        let count = (rate * args.seconds).round() as u64;
        let recorder = Arc::new(Recorder::new(count));
        let clients = connect_all(
            &server,
            &world,
            &users,
            |i| vec![world.directs[i / 2].id],
            |i| chat_handler(&recorder, world.users[i].id, tag),
        )
        .await?;
        // One second of warm-up at the same rate, then the measured run.
        let warm = rate.round() as u64;
        schedule(rate, warm, |n| send_one(&clients, &world, n, 'w', 0)).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        recorder.reset();
        let window = Window::open(&server)?;
        let lag = schedule(rate, count, |n| {
            let stamp = recorder.stamp(Instant::now());
            send_one(&clients, &world, n, tag, stamp);
        })
        .await;
        wait_for(DRAIN, || recorder.received() >= count).await;
        let (wall, cpu) = window.close(&server)?;
        outcomes.push(Outcome {
            scenario: format!("{SEND_SCENARIO} at {rate}/s"),
            target,
            expected: count,
            recorded: recorder.snapshot(),
            wall,
            server_cpu: cpu,
            server_rss: server.rss()?,
            notes: vec![lag_note(lag), ("sockets".into(), clients.len().to_string())],
        });
        drop(clients);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(outcomes)
}

/// The n-th message of a run: pairs take turns, and within a pair the two users alternate.
fn send_one(clients: &[Client], world: &World, n: u64, tag: char, stamp: u64) {
    let pairs = world.directs.len() as u64;
    let pair = (n % pairs) as usize;
    let side = ((n / pairs) % 2) as usize;
    let client = &clients[pair * 2 + side];
    client.send(world.directs[pair].id, &client_id(tag, n, stamp), BODY);
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, clap::Args)]
pub struct FanoutArgs {
    /// People in the group, each with one socket.
    #[arg(long, default_value_t = 1000)]
    pub members: usize,
    /// Messages per second into the group (sent by ten members in turn).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
}

/// Group fan-out: one message to a group of `members` is `members - 1` deliveries; latency is
/// per delivery, until the last member has it.
pub async fn fanout(target: Target, args: &FanoutArgs) -> Result<Outcome> {
    if args.members < 2 {
        bail!("a group needs at least 2 members");
    }
    let mut server = Server::prepare(target)?;
    let shape = Shape {
        users: args.members,
        groups: vec![(0..args.members).collect()],
        ..Shape::default()
    };
    let world = world::make(&mut server, &shape).await?;
    let group = world.groups[0].id;
    let count = (args.rate * args.seconds).round() as u64;
    let deliveries = count * (args.members as u64 - 1);
    let recorder = Arc::new(Recorder::new(deliveries));
    let users: Vec<usize> = (0..args.members).collect();
    // Everyone connecting at once is a storm of its own: each member is told of every other
    // one coming online (Confab), so its cost grows with the square of the group.
    let storm = Window::open(&server)?;
    let clients = connect_all(
        &server,
        &world,
        &users,
        |_| vec![group],
        |i| chat_handler(&recorder, world.users[i].id, 'f'),
    )
    .await?;
    let (storm_wall, storm_cpu) = settled(&server, storm).await?;
    let senders = args.members.min(10);
    let send = |n: u64, tag: char, stamp: u64| {
        clients[(n % senders as u64) as usize].send(group, &client_id(tag, n, stamp), BODY);
    };
    schedule(args.rate, (args.rate.round() as u64).max(1), |n| {
        send(n, 'w', 0)
    })
    .await;
    wait_for(DRAIN, || false).await;
    recorder.reset();
    let window = Window::open(&server)?;
    let lag = schedule(args.rate, count, |n| {
        send(n, 'f', recorder.stamp(Instant::now()));
    })
    .await;
    wait_for(DRAIN, || recorder.received() >= deliveries).await;
    let (wall, cpu) = window.close(&server)?;
    let recorded = recorder.snapshot();
    let per_core_second = recorded.received as f64 / cpu.max(1e-9);
    Ok(Outcome {
        scenario: format!("fan-out 1 → {} at {}/s", args.members, args.rate),
        target,
        expected: deliveries,
        recorded,
        wall,
        server_cpu: cpu,
        server_rss: server.rss()?,
        notes: vec![
            lag_note(lag),
            (
                "deliveries per server core-second".into(),
                format!("{per_core_second:.0}"),
            ),
            (
                "all connecting at once".into(),
                format!(
                    "{storm_cpu:.2} s of server CPU in {:.2} s",
                    storm_wall.as_secs_f64()
                ),
            ),
        ],
    })
}

/// Closes `window` once the server has gone quiet (under a tenth of a core for 200 ms) or 30 s
/// have passed: what a burst of connections set off is done by then.
async fn settled(server: &Server, window: Window) -> Result<(Duration, f64)> {
    const STEP: Duration = Duration::from_millis(200);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut cpu = server.cpu_seconds()?;
    while Instant::now() < deadline {
        tokio::time::sleep(STEP).await;
        let now = server.cpu_seconds()?;
        let busy = now - cpu;
        cpu = now;
        if busy < STEP.as_secs_f64() / 10.0 {
            break;
        }
    }
    let (wall, cpu) = window.close(server)?;
    // The quiet step at the end was not part of it.
    Ok((wall.saturating_sub(STEP), cpu))
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    /// Direct conversations of the user whose list is read.
    #[arg(long, default_value_t = 150)]
    pub directs: usize,
    /// Groups of ten of that user.
    #[arg(long, default_value_t = 50)]
    pub groups: usize,
    /// Messages already in each conversation.
    #[arg(long, default_value_t = 20)]
    pub messages: u32,
    /// Requests per second.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Requests in flight at most (more wait, and their wait counts as latency).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Confab only: read the focus user's list in this database, seeded at scale by
    /// `confab-bench storage --seed-only --db PATH`, instead of a small made one.
    #[arg(long)]
    pub db: Option<std::path::PathBuf>,
    /// `Accept-Encoding` to send: browsers send `gzip, deflate, br, zstd`, and the server
    /// then compresses every page. None by default, so the figures compare with earlier ones.
    #[arg(long)]
    pub accept_encoding: Option<String>,
}

/// The conversation list over HTTP, under load: `GET /api/conversations` (first page) for a
/// user in `directs + groups` conversations.
pub async fn list(target: Target, args: &ListArgs) -> Result<Outcome> {
    let mut server = Server::prepare(target)?;
    let (token, conversations) = match &args.db {
        Some(db) if target == Target::Confab => (
            world::focus_of(&mut server, db).await?.token,
            "seeded".to_owned(),
        ),
        Some(_) => bail!("--db is for Confab only"),
        None => {
            let mut shape = Shape {
                users: 1 + args.directs + 9 * args.groups,
                messages: args.messages,
                ..Shape::default()
            };
            shape.directs = (1..=args.directs).map(|i| (0, i)).collect();
            shape.groups = (0..args.groups)
                .map(|g| {
                    let first = 1 + args.directs + 9 * g;
                    std::iter::once(0).chain(first..first + 9).collect()
                })
                .collect();
            let world = world::make(&mut server, &shape).await?;
            let token = world.users[0].token.clone();
            (token, (args.directs + args.groups).to_string())
        }
    };
    let url = format!("http://{}/api/conversations", server.addr);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let count = (args.rate * args.seconds).round() as u64;
    let recorder = Arc::new(Recorder::new(count));
    let permits = Arc::new(tokio::sync::Semaphore::new(args.concurrency.max(1)));
    let failures = Arc::new(AtomicU64::new(0));
    let encoding = args.accept_encoding.clone();
    let fire = |stamp: Option<u64>| {
        let (recorder, permits, failures) = (recorder.clone(), permits.clone(), failures.clone());
        let mut request = http.get(&url).bearer_auth(&token);
        if let Some(encoding) = &encoding {
            request = request.header(reqwest::header::ACCEPT_ENCODING, encoding);
        }
        tokio::spawn(async move {
            let Ok(_permit) = permits.acquire().await else {
                return;
            };
            let ok = match request.send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            match (ok, stamp) {
                (true, Some(stamp)) => recorder.delivered(stamp, Instant::now()),
                (false, _) => {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                (true, None) => {}
            }
        });
    };
    schedule(args.rate, (args.rate.round() as u64).max(1), |_| fire(None)).await;
    wait_for(DRAIN, || {
        permits.available_permits() == args.concurrency.max(1)
    })
    .await;
    failures.store(0, Ordering::Relaxed);
    let window = Window::open(&server)?;
    let lag = schedule(args.rate, count, |_| {
        fire(Some(recorder.stamp(Instant::now())));
    })
    .await;
    wait_for(DRAIN, || {
        recorder.received() + failures.load(Ordering::Relaxed) >= count
    })
    .await;
    let (wall, cpu) = window.close(&server)?;
    Ok(Outcome {
        scenario: format!(
            "conversation list ({conversations} conversations) at {}/s",
            args.rate
        ),
        target,
        expected: count,
        recorded: recorder.snapshot(),
        wall,
        server_cpu: cpu,
        server_rss: server.rss()?,
        notes: vec![
            lag_note(lag),
            (
                "failed requests".into(),
                failures.load(Ordering::Relaxed).to_string(),
            ),
        ],
    })
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, clap::Args)]
pub struct ReconnectArgs {
    /// Clients (in pairs, one direct conversation each).
    #[arg(long, default_value_t = 2000)]
    pub clients: usize,
}

/// A reconnect storm: every client drops at once, a message arrives in each conversation
/// meanwhile, then all reconnect at the same moment and catch up; latency is per client, from
/// the storm's start until it is connected and has what it missed.
pub async fn reconnect(target: Target, args: &ReconnectArgs) -> Result<Outcome> {
    if target == Target::Echo {
        bail!("the echo has nothing to resume");
    }
    let mut server = Server::prepare(target)?;
    let pairs = (args.clients / 2).max(1);
    let world = world::make(&mut server, &Shape::pairs(pairs)).await?;
    let users: Vec<usize> = (0..world.users.len()).collect();
    let recorder = Arc::new(Recorder::new(users.len() as u64));
    let quiet: Handler = Arc::new(|_, _| {});
    let clients = connect_all(
        &server,
        &world,
        &users,
        |i| vec![world.directs[i / 2].id],
        |_| quiet.clone(),
    )
    .await?;
    // Everyone drops; one message per conversation arrives while they are away.
    let senders: Vec<&Client> = clients.iter().step_by(2).collect();
    for (pair, client) in senders.iter().enumerate() {
        client.send(
            world.directs[pair].id,
            &client_id('x', pair as u64, 0),
            BODY,
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(clients);
    tokio::time::sleep(Duration::from_secs(1)).await;

    let http = reqwest::Client::new();
    let window = Window::open(&server)?;
    let storm = Instant::now();
    let resumes = users.iter().map(|&i| {
        let (http, recorder, quiet) = (http.clone(), recorder.clone(), quiet.clone());
        let user = &world.users[i];
        let conversation = &world.directs[i / 2];
        let server = &server;
        async move {
            let client = match server.target {
                Target::Confab => {
                    resume_on_socket(
                        server,
                        &user.token,
                        conversation,
                        client_id('x', (i / 2) as u64, 0),
                    )
                    .await?
                }
                _ => resume_over_http(server, &http, &user.token, conversation, quiet).await?,
            };
            recorder.delivered(recorder.stamp(storm), Instant::now());
            anyhow::Ok(client)
        }
    });
    let results: Vec<Result<Client>> = futures::future::join_all(resumes).await;
    let (wall, cpu) = window.close(&server)?;
    let failed = results.iter().filter(|r| r.is_err()).count();
    if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
        eprintln!("  first failure: {e:#}");
    }
    Ok(Outcome {
        scenario: format!("reconnect storm, {} clients", users.len()),
        target,
        expected: users.len() as u64,
        recorded: recorder.snapshot(),
        wall,
        server_cpu: cpu,
        server_rss: server.rss()?,
        notes: vec![
            (
                "all resumed in".into(),
                format!("{:.2} s", wall.as_secs_f64()),
            ),
            ("failed".into(), failed.to_string()),
        ],
    })
}

/// Confab's way back: the socket, then the missed change over it (`changes:fetch`), no second
/// connection. Returns once the page holding the missed message (`missed`) has arrived.
async fn resume_on_socket(
    server: &Server,
    token: &str,
    conversation: &world::Conversation,
    missed: String,
) -> Result<Client> {
    let (tell, page) = tokio::sync::oneshot::channel::<bool>();
    let tell = std::sync::Mutex::new(Some(tell));
    let handler: Handler = Arc::new(move |event, _| {
        if matches!(event.kind, Kind::Page | Kind::Error) {
            let whole = event.kind == Kind::Page && event.client_id == Some(missed.as_str());
            if let Some(tell) = tell.lock().ok().and_then(|mut t| t.take()) {
                let _ = tell.send(whole);
            }
        }
    });
    let client = Client::connect(
        server.target,
        &server.addr,
        token,
        &[conversation.id],
        handler,
    )
    .await?;
    client.fetch_changes(conversation.id, conversation.version);
    let whole = tokio::time::timeout(Duration::from_secs(30), page)
        .await
        .context("no changes:page within 30 s")??;
    anyhow::ensure!(whole, "the page did not hold the missed message");
    Ok(client)
}

/// The baseline's way back: the socket, then the newest history page over HTTP.
async fn resume_over_http(
    server: &Server,
    http: &reqwest::Client,
    token: &str,
    conversation: &world::Conversation,
    quiet: Handler,
) -> Result<Client> {
    let client = Client::connect(
        server.target,
        &server.addr,
        token,
        &[conversation.id],
        quiet,
    )
    .await?;
    let path = format!("/api/conversations/{}/messages?limit=50", conversation.id);
    let body = http
        .get(format!("http://{}{path}", server.addr))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    anyhow::ensure!(body.contains(BODY), "it did not get what it missed: {body}");
    Ok(client)
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, clap::Args)]
pub struct IdleArgs {
    /// Idle sockets, one per user (users in pairs).
    #[arg(long, default_value_t = 10_000)]
    pub sockets: usize,
}

/// Memory per idle socket: the growth of the server's anonymous resident memory (what it
/// allocated; the pages of a mapped database file are the OS's cache) over `sockets` connected,
/// idle clients, divided by their number; the growth of all resident memory is reported too.
/// Then every socket is proved live: one message per conversation must reach its other member.
pub async fn idle(target: Target, args: &IdleArgs) -> Result<Outcome> {
    let mut server = Server::prepare(target)?;
    let pairs = (args.sockets / 2).max(1);
    let world = world::make(&mut server, &Shape::pairs(pairs)).await?;
    let users: Vec<usize> = (0..world.users.len()).collect();
    let recorder = Arc::new(Recorder::new(pairs as u64));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = (server.rss()?, server.rss_anon()?);
    let window = Window::open(&server)?;
    let clients = connect_all(
        &server,
        &world,
        &users,
        |i| vec![world.directs[i / 2].id],
        |i| chat_handler(&recorder, world.users[i].id, 'i'),
    )
    .await?;
    let (connect_time, _) = window.close(&server)?;
    // Let allocations settle (handshake buffers freed, presence news sent).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = (server.rss()?, server.rss_anon()?);
    for (pair, conversation) in world.directs.iter().enumerate() {
        let stamp = recorder.stamp(Instant::now());
        clients[pair * 2].send(conversation.id, &client_id('i', pair as u64, stamp), BODY);
        if pair % 100 == 99 {
            // Stay under per-socket rate limits and out of one giant burst.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    wait_for(DRAIN, || recorder.received() >= pairs as u64).await;
    let sockets = clients.len().max(1) as f64;
    let per = |(before, after): (u64, u64)| after.saturating_sub(before) as f64 / sockets / 1024.0;
    Ok(Outcome {
        scenario: format!("idle sockets: {}", clients.len()),
        target,
        expected: pairs as u64,
        recorded: recorder.snapshot(),
        wall: connect_time,
        server_cpu: 0.0,
        server_rss: after.0,
        notes: vec![
            (
                "per idle socket".into(),
                format!("{:.2} KiB", per((before.1, after.1))),
            ),
            (
                "with mapped files".into(),
                format!("{:.2} KiB", per((before.0, after.0))),
            ),
            (
                "RSS before → after".into(),
                format!(
                    "{:.1} → {:.1} MiB",
                    before.0 as f64 / 1048576.0,
                    after.0 as f64 / 1048576.0
                ),
            ),
            (
                "connected in".into(),
                format!("{:.2} s", connect_time.as_secs_f64()),
            ),
        ],
    })
}
