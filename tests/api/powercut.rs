//! Durability across a power cut. The server runs as its own process with `testing/powercut`
//! loaded, which keeps beside the database only what an `fsync` made durable; it is killed in
//! the middle of a stream of sends, and a new server started on what a power cut would have
//! left must hold every message that anyone was told of: each acknowledged send and each
//! `message:new` a recipient's socket got. (A plain process kill cannot show this: the page
//! cache outlives the process, so unflushed commits survive it.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::helpers::{Person, TestApp, TEST_SECRET};

/// Sending tasks over REST: enough that batches hold several sends and commits overlap flushes.
const SENDERS: usize = 8;
/// Sockets sending at the same time (each at its own rate limit's pace).
const SOCKETS: usize = 4;

/// The interposing library, built for this test (its own target directory: `cargo test`
/// holds the lock of the one it builds in until every test has run).
fn powercut_library() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("powercut");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--locked", "-p", "powercut", "--target-dir"])
        .arg(&target)
        .current_dir(root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building testing/powercut failed");
    target.join("debug/libpowercut.so")
}

/// A `confab` process on the database in `dir`, ready to serve; killed when dropped.
struct Server {
    child: Child,
    app: TestApp,
}

impl Server {
    async fn start(dir: &Path, powercut: Option<(&Path, &Path)>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_confab"));
        command
            .env("APP_ENV", "development")
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/confab.db?mode=rwc", dir.display()),
            )
            .env("JWT_SECRET", TEST_SECRET)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            // One user sends as fast as the server stores: this is about what survives.
            .env("USER_WRITE_RATE", "0")
            .stdout(Stdio::null());
        if let Some((library, shadow)) = powercut {
            command
                .env("LD_PRELOAD", library)
                .env("POWERCUT_WATCH", dir)
                .env("POWERCUT_SHADOW", shadow);
        }
        let child = command.spawn().expect("the server starts");
        let server = Self {
            child,
            app: TestApp::at(format!("http://127.0.0.1:{port}")),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = server
                .app
                .client
                .get(server.app.url("/readyz"))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status() == StatusCode::OK) {
                return server;
            }
            assert!(Instant::now() < deadline, "the server never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: nothing runs after it, as after a power cut.
    fn cut(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A socket of `who`'s that, unlike [`TestApp::connect`]'s, just ends when the server goes.
async fn socket(app: &TestApp, who: &Person) -> Socket {
    let auth = format!("Bearer {}", who.token);
    let request = app.ws_request(&[("authorization", &auth)]);
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("socket");
    socket
}

/// Every `message:new` `who`'s socket gets until it ends, by message id.
async fn watch(app: &TestApp, who: &Person, seen: Arc<Mutex<HashMap<i64, Value>>>) {
    let mut socket = socket(app, who).await;
    while let Some(Ok(frame)) = socket.next().await {
        if let Frame::Text(text) = frame {
            let event: Value = serde_json::from_str(text.as_str()).unwrap();
            if event["event"] == "message:new" {
                let message = event["data"]["message"].clone();
                let id = message["id"].as_i64().unwrap();
                seen.lock().unwrap().insert(id, message);
            }
        }
    }
}

fn seq(message: &Value) -> i64 {
    message["seq"].as_i64().unwrap()
}

/// Sends over a socket of `who`'s, one message after another at the socket's allowed pace,
/// until the socket ends; each `message:ack` goes to `acked`.
async fn send_over_socket(app: &TestApp, who: &Person, id: i64, acked: Arc<Mutex<Vec<Value>>>) {
    let mut socket = socket(app, who).await;
    let device = uuid::Uuid::new_v4();
    for i in 0.. {
        tokio::time::sleep(Duration::from_millis(60)).await;
        let frame = json!({"event": "message:send", "data": {
            "conversation_id": id, "client_id": format!("{device}-{i}"), "body": format!("{device}/{i}"),
        }});
        if socket.send(Frame::text(frame.to_string())).await.is_err() {
            return;
        }
        loop {
            let Some(Ok(frame)) = socket.next().await else {
                return;
            };
            let Frame::Text(text) = frame else { continue };
            let event: Value = serde_json::from_str(text.as_str()).unwrap();
            match event["event"].as_str() {
                Some("message:ack") => {
                    acked.lock().unwrap().push(event["data"]["message"].clone());
                    break;
                }
                Some("error") => panic!("a send over the socket failed: {event}"),
                _ => {}
            }
        }
    }
}

/// Every message of conversation `id`, by message id, newest page first.
async fn history(app: &TestApp, who: &Person, id: i64) -> HashMap<i64, Value> {
    let mut all = HashMap::new();
    let mut before = String::new();
    loop {
        let path = format!("/api/conversations/{id}/messages?limit=100{before}");
        let res = app.get(who, &path).await;
        assert_eq!(res.status(), StatusCode::OK, "history");
        let page: Value = res.json().await.unwrap();
        let messages = page["messages"].as_array().unwrap();
        for message in messages {
            all.insert(message["id"].as_i64().unwrap(), message.clone());
        }
        if page["has_more"] != true {
            return all;
        }
        before = format!("&before={}", messages[0]["seq"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_anyone_was_told_of_survives_a_power_cut() {
    let library = powercut_library();
    let live = tempfile::tempdir().unwrap();
    let disk = tempfile::tempdir().unwrap();
    let server = Server::start(live.path(), Some((&library, disk.path()))).await;
    let app = &server.app;
    let (ann, bob) = (app.person("ann").await, app.person("bob").await);
    let id = app.direct(&ann, &bob).await;

    let delivered = Arc::new(Mutex::new(HashMap::new()));
    let watcher = tokio::spawn({
        let app = TestApp::at(app.base.clone());
        let (bob, delivered) = (bob.clone(), delivered.clone());
        async move { watch(&app, &bob, delivered).await }
    });
    // Until the cut, every sender sends one message after another; each answer is an ack.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let acked_over_socket = Arc::new(Mutex::new(Vec::new()));
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let app = TestApp::at(app.base.clone());
            let (ann, acked) = (ann.clone(), acked.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let body = json!({"body": format!("{sender}/{i}"), "client_id": format!("{sender}-{i}")});
                    let path = format!("/api/conversations/{id}/messages");
                    let sent = app.client.post(app.url(&path)).bearer_auth(&ann.token);
                    let Ok(res) = sent.json(&body).send().await else {
                        return;
                    };
                    if res.status() != StatusCode::CREATED {
                        return;
                    }
                    let Ok(message) = res.json::<Value>().await else {
                        return;
                    };
                    acked.lock().unwrap().push(message);
                }
            })
        })
        .chain((0..SOCKETS).map(|_| {
            let app = TestApp::at(app.base.clone());
            let (ann, acked) = (ann.clone(), acked_over_socket.clone());
            tokio::spawn(async move { send_over_socket(&app, &ann, id, acked).await })
        }))
        .collect();
    // Meanwhile bob reads up to the newest message he has been told of; each 204 is an ack.
    let read = Arc::new(Mutex::new(0));
    let reader = tokio::spawn({
        let app = TestApp::at(app.base.clone());
        let (bob, delivered, read) = (bob.clone(), delivered.clone(), read.clone());
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let newest = delivered.lock().unwrap().values().map(seq).max();
                let Some(seq) = newest else { continue };
                let path = app.url(&format!("/api/conversations/{id}/read"));
                let marked = app.client.post(path).bearer_auth(&bob.token);
                match marked.json(&json!({"seq": seq})).send().await {
                    Ok(res) if res.status() == StatusCode::NO_CONTENT => {
                        *read.lock().unwrap() = seq
                    }
                    _ => return,
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.cut();
    reader.await.unwrap();
    for sender in senders {
        sender.await.unwrap();
    }
    watcher.await.unwrap();

    let mut acked = std::mem::take(&mut *acked.lock().unwrap());
    let over_socket = std::mem::take(&mut *acked_over_socket.lock().unwrap());
    assert!(
        over_socket.len() >= 10,
        "only {} socket acks",
        over_socket.len()
    );
    acked.extend(over_socket);
    let delivered = std::mem::take(&mut *delivered.lock().unwrap());
    let read = *read.lock().unwrap();
    eprintln!(
        "{} sends acknowledged, {} delivered, read up to {read}",
        acked.len(),
        delivered.len()
    );
    assert!(acked.len() >= 50, "only {} sends acknowledged", acked.len());
    // What the cut left is on disk as the next server starts, and the next cut keeps it.
    let next_disk = tempfile::tempdir().unwrap();
    copy_files(disk.path(), next_disk.path());
    let after = Server::start(disk.path(), Some((&library, next_disk.path()))).await;
    let stored = history(&after.app, &ann, id).await;
    let told = acked.iter().chain(delivered.values());
    let lost: Vec<&Value> = told
        .filter(|m| stored.get(&m["id"].as_i64().unwrap()) != Some(m))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged and {} delivered messages lost or changed in the cut, e.g. {}",
        lost.len(),
        acked.len(),
        delivered.len(),
        lost[0]
    );
    let res = after
        .app
        .get(&bob, &format!("/api/conversations/{id}"))
        .await;
    let conversation: Value = res.json().await.unwrap();
    let bobs = conversation["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user"]["id"] == bob.id)
        .unwrap();
    assert!(read > 0, "bob never marked anything read");
    assert!(
        bobs["last_read_seq"].as_i64().unwrap() >= read,
        "bob read up to {read}, but after the cut: {bobs}"
    );
    // Numbering goes on after the last message anyone saw: no seq is given twice.
    let last_seq = stored.values().map(seq).max();
    let next = after.app.send(&ann, id, "after the cut").await;
    assert_eq!(next["seq"].as_i64(), last_seq.map(|s| s + 1));

    // A write that commits on its own (a read receipt, not a batch of sends) is as durable:
    // cut right after its answer, with no batch of sends flushed since.
    let path = format!("/api/conversations/{id}/read");
    let res = after
        .app
        .post(&bob, &path, json!({"seq": seq(&next)}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    after.cut();
    let last = Server::start(next_disk.path(), None).await;
    let res = last
        .app
        .get(&bob, &format!("/api/conversations/{id}"))
        .await;
    let conversation: Value = res.json().await.unwrap();
    assert_eq!(conversation["last_message"], next);
    assert_eq!(conversation["unread_count"], 0, "{conversation}");
}

/// Copies the files of `from` into `to`.
fn copy_files(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}
