//! The push task: each new message, encrypted for each subscription of its recipients, posted
//! to their push services.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use http::{HeaderValue, StatusCode};
use protocol::{PushNotification, UserId};
use sqlx::Row;
use tokio::sync::mpsc;
use web_push_native::WebPushBuilder;

use super::{browser_key, browser_secret, endpoint, Push, PushJob};
use crate::{Chat, Error, Result};

/// Posts under way at once.
const CONCURRENT: usize = 16;
/// New messages whose recipients' subscriptions are looked up together.
const BATCH: usize = 256;
/// How long the push task waits for more messages before looking them up.
const GATHER: Duration = Duration::from_millis(10);
/// How long a push service keeps a push for a browser that is offline.
const TTL: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Clone)]
struct Subscription {
    user_id: UserId,
    endpoint: String,
    p256dh: String,
    auth: String,
}

impl Chat {
    /// Runs as long as the service: pushes the messages handed to it, in order, those waiting
    /// together looked up at once.
    pub(crate) async fn deliver_pushes(self, mut jobs: mpsc::Receiver<PushJob>) {
        let mut batch = Vec::with_capacity(BATCH);
        while jobs.recv_many(&mut batch, BATCH).await > 0 {
            // A push takes seconds through its service anyway: a moment's wait gathers the
            // messages that follow, so a busy server asks for subscriptions once a batch, not
            // once a message (BENCHMARKS.md).
            tokio::time::sleep(GATHER).await;
            while batch.len() < BATCH {
                let Ok(job) = jobs.try_recv() else { break };
                batch.push(job);
            }
            if let Err(e) = self.push_messages(&batch).await {
                tracing::warn!(error = %e, "pushes of new messages failed");
            }
            batch.clear();
        }
    }

    async fn push_messages(&self, jobs: &[PushJob]) -> Result<()> {
        let push = self.push()?;
        let mut users: Vec<UserId> = jobs.iter().flat_map(|job| job.recipients.clone()).collect();
        users.sort_unstable_by_key(|user| user.0);
        users.dedup();
        let subscriptions = self.subscriptions_of(&users).await?;
        if subscriptions.is_empty() {
            return Ok(());
        }
        for job in jobs {
            let mut posts = Vec::new();
            for user in &job.recipients {
                let Some(theirs) = subscriptions.get(user) else {
                    continue;
                };
                let conversation = match self.conversation(*user, job.message.conversation_id).await
                {
                    Ok(conversation) => conversation,
                    // Taken out since: no news for them.
                    Err(Error::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                };
                let payload =
                    serde_json::to_vec(&PushNotification::of(&conversation, &job.message, *user))
                        .map_err(Error::internal)?;
                posts.extend(theirs.iter().map(|s| (s.clone(), payload.clone())));
            }
            let topic = format!("c{}", job.message.conversation_id);
            futures::stream::iter(posts)
                .for_each_concurrent(CONCURRENT, |(subscription, payload)| {
                    self.push_to(push, subscription, payload, &topic)
                })
                .await;
        }
        Ok(())
    }

    /// Every subscription of `users`, by user; asked in chunks that stay under SQLite's bound
    /// on a statement's parameters.
    async fn subscriptions_of(
        &self,
        users: &[UserId],
    ) -> Result<HashMap<UserId, Vec<Subscription>>> {
        let mut found: HashMap<UserId, Vec<Subscription>> = HashMap::new();
        for chunk in users.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT user_id, endpoint, p256dh, auth FROM push_subscriptions \
                 WHERE user_id IN ({marks})"
            );
            let mut query = sqlx::query(&sql);
            for user in chunk {
                query = query.bind(user.0);
            }
            let rows = query
                .fetch_all(&mut *self.db().read.acquire().await?)
                .await?;
            for row in &rows {
                let subscription = Subscription {
                    user_id: UserId(row.try_get("user_id")?),
                    endpoint: row.try_get("endpoint")?,
                    p256dh: row.try_get("p256dh")?,
                    auth: row.try_get("auth")?,
                };
                found
                    .entry(subscription.user_id)
                    .or_default()
                    .push(subscription);
            }
        }
        Ok(found)
    }

    /// One push; a subscription its service says is gone (404, 410), or that no longer
    /// passes the checks (the list of services changed), is forgotten.
    async fn push_to(
        &self,
        push: &Push,
        subscription: Subscription,
        payload: Vec<u8>,
        topic: &str,
    ) {
        let endpoint = subscription.endpoint.clone();
        match self.push_once(push, subscription, payload, topic).await {
            Ok(status) if status.is_success() => {}
            Ok(StatusCode::NOT_FOUND | StatusCode::GONE) | Err(Error::Invalid(_)) => {
                if let Err(e) = self.forget_subscription(&endpoint).await {
                    tracing::warn!(error = %e, "could not forget a push subscription");
                }
            }
            Ok(status) => tracing::warn!(%status, "a push service refused a push"),
            Err(e) => tracing::warn!(error = %e, "a push did not reach its service"),
        }
    }

    async fn push_once(
        &self,
        push: &Push,
        subscription: Subscription,
        payload: Vec<u8>,
        topic: &str,
    ) -> Result<StatusCode> {
        // A row that no longer passes the checks (the list of services changed) is as gone.
        let (Some(endpoint), Some(key), Some(auth)) = (
            endpoint(&subscription.endpoint, &push.services),
            browser_key(&subscription.p256dh),
            browser_secret(&subscription.auth),
        ) else {
            return Err(protocol::FieldError::new("endpoint", "no longer pushed to").into());
        };
        let request = WebPushBuilder::new(endpoint.clone(), key, auth)
            .with_valid_duration(TTL)
            .build(payload)
            .map_err(Error::internal)?;
        let mut request = reqwest::Request::try_from(request).map_err(Error::internal)?;
        let headers = request.headers_mut();
        let authorization = push.vapid.authorization(&endpoint)?;
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&authorization).map_err(Error::internal)?,
        );
        // A chat message: delivered at once, even to a phone saving its battery.
        headers.insert("urgency", HeaderValue::from_static("high"));
        // One waiting push per conversation: a newer one replaces it at the push service.
        if let Ok(topic) = HeaderValue::from_str(topic) {
            headers.insert("topic", topic);
        }
        let response = push
            .client
            .execute(request)
            .await
            .map_err(Error::internal)?;
        Ok(response.status())
    }

    async fn forget_subscription(&self, endpoint: &str) -> Result<()> {
        sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = ?")
            .bind(endpoint)
            .execute(&mut *self.db().write.acquire().await?)
            .await?;
        Ok(())
    }
}
