use confab::{AppEnv, Application, Config};
use reqwest::{Client, Response, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use tempfile::TempDir;

/// The signing key the test server uses, so tests can forge tokens with the right key too.
pub const TEST_SECRET: &str = "test-secret-that-is-long-enough-for-hs256-0123456789";

pub struct TestApp {
    pub base: String,
    /// A client without a cookie jar: auth is explicit (`bearer`).
    pub client: Client,
    /// Stops the server as SIGTERM would (`Application::shutdown_token`).
    stop: std::sync::Arc<dyn Fn() + Send + Sync>,
    _dir: Option<TempDir>,
}

pub fn test_config(dir: &TempDir) -> Config {
    let mut config = Config::defaults();
    config.database_url = format!("sqlite://{}/confab.db?mode=rwc", dir.path().display());
    config.site_addr = "127.0.0.1:0".parse().expect("address");
    config.jwt_secret = Some(SecretString::from(TEST_SECRET.to_owned()));
    config.app_env = AppEnv::Development;
    config.allowed_origins = vec!["https://friend.example".to_owned()];
    config
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(&dir);
        adjust(&mut config);
        let app = Application::build(config).await.expect("server builds");
        let addr = app.addr();
        let token = app.shutdown_token();
        tokio::spawn(app.run_until_stopped());
        let mut app = Self::at(format!("http://{addr}"));
        app.stop = std::sync::Arc::new(move || token.cancel());
        app._dir = Some(dir);
        app
    }

    /// A server already running at `base` (another process, which the caller stops).
    pub fn at(base: String) -> Self {
        Self {
            base,
            // A request that hangs fails its test instead of the whole run.
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .expect("client"),
            stop: std::sync::Arc::new(|| {}),
            _dir: None,
        }
    }

    /// Begins a graceful shutdown, as SIGTERM would.
    pub fn shut_down(&self) {
        (self.stop)();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A client that keeps cookies, like a browser.
    pub fn browser(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            // A page that never finishes fails its test instead of stalling the run.
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("client")
    }

    /// The page at `path` as `who`'s browser gets it (their session cookie), as HTML.
    pub async fn page_of(&self, who: &Person, path: &str) -> String {
        let res = self
            .client
            .get(self.url(path))
            .header("cookie", format!("confab_session={}", who.token))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        res.text().await.expect("html")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// Registers `username` (display name capitalised) and returns `(user, token)`.
    pub async fn register(&self, username: &str) -> (Value, String) {
        let res = self
            .post_json(
                "/api/auth/register",
                &json!({
                    "username": username,
                    "display_name": format!("{username} Display"),
                    "password": "correct horse battery",
                }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "register {username}");
        let body: Value = res.json().await.expect("json");
        let token = body["token"].as_str().expect("token").to_owned();
        (body["user"].clone(), token)
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.post_json(
            "/api/auth/login",
            &json!({ "username": username, "password": password }),
        )
        .await
    }
}

/// Asserts the contract's error shape and code; returns the message.
pub async fn assert_error(res: Response, status: StatusCode, code: &str) -> String {
    assert_eq!(res.status(), status, "status");
    let body: Value = res.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], code, "code in {body}");
    let message = body["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(!message.is_empty());
    message
}

/// A signed-in test user.
#[derive(Clone)]
pub struct Person {
    pub id: i64,
    pub token: String,
}

impl TestApp {
    pub async fn person(&self, username: &str) -> Person {
        let (user, token) = self.register(username).await;
        Person {
            id: user["id"].as_i64().expect("id"),
            token,
        }
    }

    /// Signed-in test users, registered one after another in the order given.
    pub async fn people<const N: usize>(&self, usernames: [&str; N]) -> [Person; N] {
        let mut people = Vec::with_capacity(N);
        for username in usernames {
            people.push(self.person(username).await);
        }
        people
            .try_into()
            .unwrap_or_else(|_| unreachable!("one person per name"))
    }

    /// Sends `method path` as `who` with an optional JSON body. The request is built before
    /// the future is returned, so the future borrows neither `who` nor `path`.
    pub fn call(
        &self,
        who: &Person,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> impl std::future::Future<Output = Response> + 'static {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&who.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move { req.send().await.expect("request") }
    }

    pub fn get(
        &self,
        who: &Person,
        path: &str,
    ) -> impl std::future::Future<Output = Response> + 'static {
        self.call(who, reqwest::Method::GET, path, None)
    }

    pub fn post(
        &self,
        who: &Person,
        path: &str,
        body: Value,
    ) -> impl std::future::Future<Output = Response> + 'static {
        self.call(who, reqwest::Method::POST, path, Some(body))
    }

    /// Creates a conversation and returns its JSON (201 or 200).
    pub async fn conversation(&self, who: &Person, body: Value) -> Value {
        let res = self.post(who, "/api/conversations", body).await;
        assert!(
            res.status().is_success(),
            "create conversation: {}",
            res.status()
        );
        res.json().await.expect("json")
    }

    pub async fn group(&self, owner: &Person, title: &str, members: &[&Person]) -> i64 {
        let ids: Vec<i64> = members.iter().map(|p| p.id).collect();
        self.conversation(
            owner,
            json!({"kind": "group", "title": title, "user_ids": ids}),
        )
        .await["id"]
            .as_i64()
            .expect("id")
    }

    pub async fn direct(&self, a: &Person, b: &Person) -> i64 {
        self.conversation(a, json!({"kind": "direct", "user_id": b.id}))
            .await["id"]
            .as_i64()
            .expect("id")
    }

    /// The first page of `who`'s conversation list.
    pub async fn conversations_of(&self, who: &Person) -> Vec<Value> {
        let res = self.get(who, "/api/conversations").await;
        assert_eq!(res.status(), StatusCode::OK, "list");
        let mut body: Value = res.json().await.expect("json");
        match body["conversations"].take() {
            Value::Array(list) => list,
            other => panic!("no conversation list: {other}"),
        }
    }

    /// One page of `who`'s conversation list for `query` (`"q=x&limit=3"`, or `""`): the
    /// conversations' ids in list order, and the cursor of the next page.
    pub async fn conversation_page(&self, who: &Person, query: &str) -> (Vec<i64>, Option<String>) {
        let res = self.get(who, &format!("/api/conversations?{query}")).await;
        assert_eq!(res.status(), StatusCode::OK, "list {query}");
        let body: Value = res.json().await.expect("json");
        let ids = body["conversations"]
            .as_array()
            .expect("a conversation list")
            .iter()
            .map(|c| c["id"].as_i64().expect("id"))
            .collect();
        (ids, body["next_cursor"].as_str().map(str::to_owned))
    }

    /// Sends a message and returns it.
    pub async fn send(&self, who: &Person, conversation: i64, body: &str) -> Value {
        let res = self
            .post(
                who,
                &format!("/api/conversations/{conversation}/messages"),
                json!({"body": body}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "send");
        res.json().await.expect("json")
    }
}
