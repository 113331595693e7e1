//! Web Push: subscriptions over REST, and what the server posts for new messages to a push
//! service: the tests' own, on loopback, which checks each push's VAPID signature and decrypts
//! it as the subscribed browser would.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use web_push_native::Auth;

use crate::helpers::{assert_error, Person, TestApp};

const SUBJECT: &str = "mailto:ops@confab.example";

/// What the push service was sent: to which browser, with which headers.
pub struct Pushed {
    browser: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A push service on loopback. A browser whose name starts with `gone` is answered `410 Gone`,
/// as a push service answers for a subscription that ended; one whose name starts with `busy`
/// is answered `429` with `Retry-After: 1` the first time, as a service under load answers;
/// one whose name starts with `down` always `503` with `Retry-After: 0`.
pub struct PushService {
    base: String,
    pub pushes: mpsc::UnboundedReceiver<Pushed>,
}

impl PushService {
    pub async fn start() -> Self {
        let (tell, pushes) = mpsc::unbounded_channel();
        let refused = Arc::new(Mutex::new(HashSet::new()));
        let app = axum::Router::new().route(
            "/push/{browser}",
            axum::routing::post(
                move |Path(browser): Path<String>, headers: HeaderMap, body: Bytes| {
                    let answer = if browser.starts_with("gone") {
                        (StatusCode::GONE, "")
                    } else if browser.starts_with("down") {
                        (StatusCode::SERVICE_UNAVAILABLE, "0")
                    } else if browser.starts_with("busy")
                        && refused.lock().unwrap().insert(browser.clone())
                    {
                        (StatusCode::TOO_MANY_REQUESTS, "1")
                    } else {
                        (StatusCode::CREATED, "")
                    };
                    let _ = tell.send(Pushed {
                        browser,
                        headers,
                        body: body.to_vec(),
                    });
                    async move {
                        match answer {
                            (status, "") => status.into_response(),
                            (status, wait) => (status, [("retry-after", wait)]).into_response(),
                        }
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, pushes }
    }

    /// The next push, within a few seconds.
    pub async fn next(&mut self) -> Pushed {
        tokio::time::timeout(Duration::from_secs(10), self.pushes.recv())
            .await
            .expect("a push within 10 s")
            .expect("the service runs")
    }

    /// The next `n` pushes, by browser.
    async fn next_n(&mut self, n: usize) -> Vec<Pushed> {
        let mut pushes = Vec::with_capacity(n);
        for _ in 0..n {
            pushes.push(self.next().await);
        }
        pushes.sort_by(|a, b| a.browser.cmp(&b.browser));
        pushes
    }
}

/// A browser's side of a subscription: its key pair and secret.
pub struct Browser {
    name: String,
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Browser {
    pub fn new(name: &str) -> Self {
        let mut auth = [0u8; 16];
        auth.iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = i as u8 * 7 + name.len() as u8);
        Self {
            name: name.to_owned(),
            secret: p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng),
            auth,
        }
    }

    /// Its `PushSubscription.toJSON()`.
    fn subscription(&self, service: &PushService) -> Value {
        json!({
            "endpoint": format!("{}/push/{}", service.base, self.name),
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(self.secret.public_key().to_sec1_bytes()),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            },
        })
    }

    /// Decrypts a push, as the browser does.
    pub fn open(&self, pushed: &Pushed) -> Value {
        assert_eq!(pushed.browser, self.name);
        let auth = Auth::from(self.auth);
        let plain = web_push_native::decrypt(pushed.body.clone(), &self.secret, &auth).unwrap();
        serde_json::from_slice(&plain).unwrap()
    }
}

/// A server that pushes, with a VAPID key of its own, to push services on loopback over plain
/// HTTP.
pub async fn pushing_server() -> (TestApp, p256::SecretKey) {
    let key = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let encoded = URL_SAFE_NO_PAD.encode(key.to_bytes());
    let app = TestApp::spawn_with(|config| {
        config.vapid_private_key = Some(SecretString::from(encoded));
        config.vapid_subject = Some(SUBJECT.to_owned());
        config.push_services = "http://127.0.0.1".to_owned();
    })
    .await;
    (app, key)
}

pub async fn subscribe(app: &TestApp, who: &Person, browser: &Browser, service: &PushService) {
    let res = app
        .post(
            who,
            "/api/push/subscriptions",
            browser.subscription(service),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::NO_CONTENT,
        "{}",
        res.text().await.unwrap()
    );
}

/// The push's VAPID `Authorization`: signed by the server's key (its public half as `k`), for
/// the push service's origin, naming the server's contact.
fn assert_signed(pushed: &Pushed, key: &p256::SecretKey, service: &PushService) {
    let header = pushed.headers["authorization"].to_str().unwrap();
    let (token, k) = header
        .strip_prefix("vapid t=")
        .and_then(|rest| rest.split_once(", k="))
        .expect("vapid t=…, k=…");
    let point = key.public_key().to_sec1_bytes();
    assert_eq!(k, URL_SAFE_NO_PAD.encode(&point));
    let decoding = jsonwebtoken::DecodingKey::from_ec_components(
        &URL_SAFE_NO_PAD.encode(&point[1..33]),
        &URL_SAFE_NO_PAD.encode(&point[33..]),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[&service.base]);
    let claims = jsonwebtoken::decode::<Value>(token, &decoding, &validation).unwrap();
    assert_eq!(claims.claims["sub"], SUBJECT);
}

#[tokio::test]
async fn new_messages_are_pushed_to_every_subscribed_browser_of_their_recipients() {
    let mut service = PushService::start().await;
    let (app, key) = pushing_server().await;
    let [ann, bob, cat, dan] = app.people(["ann", "bob", "cat", "dan"]).await;

    // The key browsers subscribe with is the server's.
    let res = app
        .client
        .get(app.url("/api/push/key"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["public_key"],
        URL_SAFE_NO_PAD.encode(key.public_key().to_sec1_bytes())
    );

    let (bob_phone, bob_laptop) = (Browser::new("bob-phone"), Browser::new("bob-laptop"));
    let (ann_phone, dan_phone) = (Browser::new("ann-phone"), Browser::new("dan-phone"));
    subscribe(&app, &bob, &bob_phone, &service).await;
    subscribe(&app, &bob, &bob_laptop, &service).await;
    // Subscribing again is no error, and no second subscription.
    subscribe(&app, &bob, &bob_phone, &service).await;
    subscribe(&app, &ann, &ann_phone, &service).await;
    subscribe(&app, &dan, &dan_phone, &service).await;

    // A direct message: each of Bob's browsers, none of Ann's (she sent it).
    let direct = app.direct(&ann, &bob).await;
    app.send(&ann, direct, "Lunch on Friday?").await;
    let pushes = service.next_n(2).await;
    for (pushed, browser) in pushes.iter().zip([&bob_laptop, &bob_phone]) {
        assert_eq!(
            browser.open(pushed),
            json!({
                "title": "ann Display",
                "body": "Lunch on Friday?",
                "tag": format!("conversation-{direct}"),
                "path": format!("/c/{direct}"),
            })
        );
        assert_eq!(pushed.headers["content-encoding"], "aes128gcm");
        assert_eq!(pushed.headers["ttl"], "86400");
        assert_eq!(pushed.headers["urgency"], "high");
        assert_eq!(pushed.headers["topic"], format!("c{direct}"));
        assert_signed(pushed, &key, &service);
    }

    // A group: named by its title, the sender before the text; Cat has no browser subscribed.
    let group = app.group(&bob, "Reunion", &[&ann, &cat]).await;
    let long = "x".repeat(500);
    app.send(&bob, group, &long).await;
    let pushed = service.next().await;
    let note = ann_phone.open(&pushed);
    assert_eq!(note["title"], "Reunion");
    let body = note["body"].as_str().unwrap();
    assert!(body.starts_with("bob Display: xxx"), "{body}");
    assert_eq!(body.chars().count(), 200);

    // Pushes of one message are all made before the next's: none went to Dan, a stranger, or
    // to Ann's own or Bob's browsers for the other message.
    app.send(&dan, app.direct(&dan, &ann).await, "Hi Ann").await;
    let pushed = service.next().await;
    assert_eq!(ann_phone.open(&pushed)["body"], "Hi Ann");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(service.pushes.try_recv().is_err(), "no other push");
}

#[tokio::test]
async fn gone_subscriptions_are_forgotten_and_signing_out_or_unsubscribing_ends_pushes() {
    let mut service = PushService::start().await;
    let (app, _) = pushing_server().await;
    let [ann, bob, cat] = app.people(["ann", "bob", "cat"]).await;
    let (gone, phone, cat_phone) = (
        Browser::new("gone-tablet"),
        Browser::new("phone"),
        Browser::new("cat-phone"),
    );
    subscribe(&app, &bob, &gone, &service).await;
    subscribe(&app, &bob, &phone, &service).await;
    subscribe(&app, &cat, &cat_phone, &service).await;
    let to_bob = app.direct(&ann, &bob).await;
    let to_cat = app.direct(&ann, &cat).await;

    // The push service says the tablet's subscription ended: it is not pushed to again.
    app.send(&ann, to_bob, "one").await;
    let pushes = service.next_n(2).await;
    assert_eq!(pushes[0].browser, "gone-tablet");
    assert_eq!(phone.open(&pushes[1])["body"], "one");
    app.send(&ann, to_bob, "two").await;
    assert_eq!(phone.open(&service.next().await)["body"], "two");

    // Someone else cannot unsubscribe Bob's phone; Bob can.
    let endpoint = json!({"endpoint": format!("{}/push/phone", service.base)});
    let res = app
        .call(
            &cat,
            Method::DELETE,
            "/api/push/subscriptions",
            Some(endpoint.clone()),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.send(&ann, to_bob, "three").await;
    assert_eq!(phone.open(&service.next().await)["body"], "three");
    let res = app
        .call(
            &bob,
            Method::DELETE,
            "/api/push/subscriptions",
            Some(endpoint),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.send(&ann, to_bob, "four").await;
    app.send(&ann, to_cat, "to cat").await;
    assert_eq!(cat_phone.open(&service.next().await)["body"], "to cat");

    // Signing out ends the pushes to the browsers that session subscribed.
    let res = app.call(&cat, Method::POST, "/api/auth/logout", None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    subscribe(&app, &bob, &phone, &service).await;
    app.send(&ann, to_cat, "after signing out").await;
    app.send(&ann, to_bob, "five").await;
    assert_eq!(phone.open(&service.next().await)["body"], "five");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(service.pushes.try_recv().is_err(), "no other push");
}

#[tokio::test]
async fn subscriptions_are_checked_kept_to_twenty_and_refused_where_the_server_does_not_push() {
    let mut service = PushService::start().await;
    let (app, _) = pushing_server().await;
    let [ann, bob] = app.people(["ann", "bob"]).await;
    let browser = Browser::new("phone");
    let good = browser.subscription(&service);

    let mut bad = Vec::new();
    for endpoint in [
        "https://evil.example/push/1",
        "http://10.0.0.1/push/1",
        "not a url",
    ] {
        let mut subscription = good.clone();
        subscription["endpoint"] = json!(endpoint);
        bad.push(subscription);
    }
    let mut short_auth = good.clone();
    short_auth["keys"]["auth"] = json!(URL_SAFE_NO_PAD.encode([1u8; 15]));
    let mut not_a_point = good.clone();
    not_a_point["keys"]["p256dh"] = json!(URL_SAFE_NO_PAD.encode([4u8; 65]));
    let mut no_keys = good.clone();
    no_keys.as_object_mut().unwrap().remove("keys");
    bad.extend([short_auth, not_a_point, no_keys]);
    for subscription in bad {
        let res = app
            .post(&bob, "/api/push/subscriptions", subscription.clone())
            .await;
        assert_error(res, StatusCode::BAD_REQUEST, "invalid_input").await;
    }
    let res = app
        .client
        .post(app.url("/api/push/subscriptions"))
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;

    // Twenty-one browsers: the first one subscribed is dropped.
    let browsers: Vec<Browser> = (0..21).map(|n| Browser::new(&format!("b{n:02}"))).collect();
    for browser in &browsers {
        subscribe(&app, &bob, browser, &service).await;
        // Their times must differ for "oldest" to mean something.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    app.send(&ann, app.direct(&ann, &bob).await, "to all").await;
    let pushes = service.next_n(20).await;
    for (pushed, browser) in pushes.iter().zip(&browsers[1..]) {
        assert_eq!(browser.open(pushed)["body"], "to all");
    }

    // A server without a VAPID key does not push.
    let plain = TestApp::spawn().await;
    let res = plain
        .client
        .get(plain.url("/api/push/key"))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    let carol = plain.person("carol").await;
    let res = plain.post(&carol, "/api/push/subscriptions", good).await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_vapid_key_needs_a_subject_and_must_be_a_key() {
    for (key, subject) in [
        (URL_SAFE_NO_PAD.encode([7u8; 32]), None),
        ("not a key".to_owned(), Some(SUBJECT)),
        (URL_SAFE_NO_PAD.encode([7u8; 32]), Some("ops@example.org")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::helpers::test_config(&dir);
        config.vapid_private_key = Some(SecretString::from(key));
        config.vapid_subject = subject.map(str::to_owned);
        let Err(refused) = confab::Application::build(config).await else {
            panic!("started with {subject:?}");
        };
        // Said as the setting's own fault, not the database's.
        let said = format!("{refused:#}");
        assert!(said.contains("VAPID_"), "{said}");
        assert!(!said.contains("database"), "{said}");
    }
}

#[tokio::test]
async fn a_push_its_service_cannot_take_now_is_tried_again_while_it_is_still_news() {
    let mut service = PushService::start().await;
    let (app, _) = pushing_server().await;
    let [ann, bob, cat, dan, eve] = app.people(["ann", "bob", "cat", "dan", "eve"]).await;
    let browsers = [
        (&bob, Browser::new("busy-bob")),
        (&cat, Browser::new("busy-cat")),
        (&dan, Browser::new("busy-dan")),
        (&eve, Browser::new("down-eve")),
    ];
    for (who, browser) in &browsers {
        subscribe(&app, who, browser, &service).await;
    }
    let [(_, bob_phone), (_, cat_phone), (_, dan_phone), (_, eve_phone)] = &browsers;

    // Refused once (429, `Retry-After: 1`): tried again a second later, and taken.
    let to_bob = app.direct(&ann, &bob).await;
    app.send(&ann, to_bob, "one").await;
    assert_eq!(bob_phone.open(&service.next().await)["body"], "one");
    let refused = std::time::Instant::now();
    assert_eq!(bob_phone.open(&service.next().await)["body"], "one");
    assert!(refused.elapsed() >= Duration::from_millis(900));

    // A newer message of the conversation went out meanwhile: the older is not tried again
    // (with the same `Topic` it would replace the newer at the push service).
    let to_cat = app.direct(&ann, &cat).await;
    app.send(&ann, to_cat, "old").await;
    assert_eq!(cat_phone.open(&service.next().await)["body"], "old");
    app.send(&ann, to_cat, "new").await;
    assert_eq!(cat_phone.open(&service.next().await)["body"], "new");
    // Read on another device meanwhile: not tried again either.
    let to_dan = app.direct(&ann, &dan).await;
    let sent = app.send(&ann, to_dan, "read it").await;
    assert_eq!(dan_phone.open(&service.next().await)["body"], "read it");
    let read = app
        .post(
            &dan,
            &format!("/api/conversations/{to_dan}/read"),
            json!({"seq": sent["seq"]}),
        )
        .await;
    assert_eq!(read.status(), StatusCode::NO_CONTENT);

    // Never taken (503, `Retry-After: 0`): tried three times more, then given up.
    let to_eve = app.direct(&ann, &eve).await;
    app.send(&ann, to_eve, "anyone?").await;
    for _ in 0..4 {
        assert_eq!(eve_phone.open(&service.next().await)["body"], "anyone?");
    }
    // Past the retries of Cat's and Dan's pushes: none was made.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(service.pushes.try_recv().is_err(), "no other push");
}
