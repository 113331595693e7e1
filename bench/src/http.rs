//! The list and history over HTTP: `confab::Application` (every layer: request ids, security
//! headers, compression, auth) on 127.0.0.1, on the same database, signed in as the focus user.
//! The difference from the server-side figures is what HTTP, JSON and the layers add.

use anyhow::{Context, Result};
use protocol::{AuthResponse, ConversationId, LoginRequest};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::measure::{self, Budget, Measurement};
use crate::seed::{FOCUS_PASSWORD, FOCUS_USERNAME};

pub async fn measure(
    settings: &chat::Settings,
    mine: &[(ConversationId, i64)],
    budget: &impl Fn(u64) -> Budget,
) -> Result<Vec<Measurement>> {
    let mut config = confab::Config::defaults();
    config.database_url = settings.database_url.clone();
    config.site_addr = "127.0.0.1:0".parse()?;
    config.jwt_secret = Some(settings.jwt_secret.clone());
    config.app_env = confab::AppEnv::Development;
    let app = confab::Application::build(config)
        .await
        .context("starting the server")?;
    let base = format!("http://{}", app.addr());
    let server = tokio::spawn(app.run_until_stopped());
    let result = against(&base, mine, budget).await;
    server.abort();
    result
}

async fn against(
    base: &str,
    mine: &[(ConversationId, i64)],
    budget: &impl Fn(u64) -> Budget,
) -> Result<Vec<Measurement>> {
    // One keep-alive connection, as a browser tab has.
    let client = reqwest::Client::new();
    let signed_in: AuthResponse = client
        .post(format!("{base}/api/auth/login"))
        .json(&LoginRequest {
            username: FOCUS_USERNAME.to_owned(),
            password: FOCUS_PASSWORD.to_owned(),
        })
        .send()
        .await?
        .error_for_status()
        .context("signing in as the focus user")?
        .json()
        .await?;
    let token = signed_in.token;
    let get = |url: String| {
        let request = client.get(url).bearer_auth(&token);
        async move {
            // The whole body is read (not parsed: that is the client's cost, not the server's).
            request.send().await?.error_for_status()?.bytes().await?;
            Ok(())
        }
    };

    let mut out = Vec::new();
    let list = format!("{base}/api/conversations");
    out.push(
        measure::run("HTTP GET /api/conversations", budget(2_000), |_| {
            get(list.clone())
        })
        .await?,
    );
    let mut rng = StdRng::seed_from_u64(11);
    out.push(
        measure::run(
            "HTTP GET /api/conversations/{id}/messages",
            budget(5_000),
            |_| {
                let (id, _) = mine[rng.gen_range(0..mine.len())];
                get(format!("{base}/api/conversations/{}/messages", id.0))
            },
        )
        .await?,
    );
    Ok(out)
}
