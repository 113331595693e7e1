//! The push task: each new message, encrypted for each subscription of its recipients, posted
//! to their push services.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use http::{HeaderValue, StatusCode};
use protocol::{ConversationId, MessageId, PushNotification, UserId};
use sqlx::Row;
use tokio::sync::mpsc;
use web_push_native::WebPushBuilder;

use super::{browser_key, browser_secret, endpoint, Push, PushJob};
use crate::storage::now_ms;
use crate::{Chat, Error, Result};

/// Posts under way at once.
const CONCURRENT: usize = 16;
/// New messages whose recipients' subscriptions are looked up together.
const BATCH: usize = 256;
/// How long the push task waits for more messages before looking them up.
const GATHER: Duration = Duration::from_millis(10);
/// How long a push service keeps a push for a browser that is offline.
const TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// A push its service could not take now (429, a 5xx, no answer) is tried again after each of
/// these waits in turn, or after the wait the service asks for (`Retry-After`, up to
/// [`LONGEST_WAIT`]), then given up.
const RETRY_WAITS: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(25),
];
/// The longest wait a service's `Retry-After` gets.
const LONGEST_WAIT: Duration = Duration::from_secs(60);
/// Pushes waiting to be tried again at most; past it, a push that failed is dropped (logged).
pub(super) const RETRIES_WAITING: usize = 1024;

/// What a push service answered.
enum Answer {
    Taken,
    /// The subscription ended (404, 410), or no longer passes the checks: forget it.
    Gone,
    /// Not now (429, a 5xx, or no answer): worth trying again, after the wait the service
    /// asked for if it did.
    NotNow(Option<Duration>, String),
    /// Refused for good (another 4xx).
    Refused(StatusCode),
}

/// A push and what it is about, as handed to [`Chat::push_to`].
struct Post {
    subscription: Subscription,
    payload: Vec<u8>,
    conversation_id: ConversationId,
    message_id: MessageId,
    seq: i64,
}

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
                    // Muted: no news for them.
                    Ok(conversation) if conversation.muted => continue,
                    Ok(conversation) => conversation,
                    // Taken out since: no news for them.
                    Err(Error::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                };
                let payload =
                    serde_json::to_vec(&PushNotification::of(&conversation, &job.message, *user))
                        .map_err(Error::internal)?;
                posts.extend(theirs.iter().map(|subscription| Post {
                    subscription: subscription.clone(),
                    payload: payload.clone(),
                    conversation_id: job.message.conversation_id,
                    message_id: job.message.id,
                    seq: job.message.seq,
                }));
            }
            futures::stream::iter(posts)
                .for_each_concurrent(CONCURRENT, |post| self.push_to(push, post))
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

    /// One push. A subscription its service says is gone is forgotten; a push it could not
    /// take now is tried again later, off this task ([`Chat::retry_later`]).
    async fn push_to(&self, push: &Push, post: Post) {
        match self.push_once(push, &post).await {
            Answer::NotNow(wait, why) => self.retry_later(push, post, wait, why),
            answer => self.settle_push(&post, answer).await,
        }
    }

    /// What is done with a push's last answer: nothing, forgetting its subscription, or a word
    /// in the log.
    async fn settle_push(&self, post: &Post, answer: Answer) {
        match answer {
            Answer::Taken => {}
            Answer::Gone => {
                if let Err(e) = self.forget_subscription(&post.subscription.endpoint).await {
                    tracing::warn!(error = %e, "could not forget a push subscription");
                }
            }
            Answer::Refused(status) => tracing::warn!(%status, "a push service refused a push"),
            Answer::NotNow(_, why) => {
                tracing::warn!(%why, "a push was given up after its retries");
            }
        }
    }

    /// Tries a push again after a wait, up to [`RETRY_WAITS`] times, unless it is no longer
    /// news by then: a newer message of its conversation went out (with the same `Topic` it
    /// would replace that one at the push service), the recipient read it elsewhere, muted the
    /// conversation or left it, or it was deleted. At most [`RETRIES_WAITING`] wait at once.
    fn retry_later(&self, push: &Push, post: Post, mut wait: Option<Duration>, why: String) {
        let Ok(place) = std::sync::Arc::clone(&push.retries).try_acquire_owned() else {
            tracing::warn!(%why, "a push failed and too many wait to be tried again: dropped");
            return;
        };
        let chat = self.clone();
        tokio::spawn(async move {
            let _place = place;
            let Ok(push) = chat.push() else { return };
            let mut answer = Answer::NotNow(wait, why);
            for ours in RETRY_WAITS {
                tokio::time::sleep(wait.unwrap_or(ours).min(LONGEST_WAIT)).await;
                match chat.still_news(&post).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "a push's retry could not be checked");
                        return;
                    }
                }
                answer = chat.push_once(push, &post).await;
                match &answer {
                    Answer::NotNow(asked, _) => wait = *asked,
                    _ => break,
                }
            }
            chat.settle_push(&post, answer).await;
        });
    }

    /// Whether a push that waits to be tried again still tells its recipient something new.
    async fn still_news(&self, post: &Post) -> Result<bool> {
        let row = sqlx::query(
            "SELECT c.last_seq AS last_seq, m.deleted AS deleted, p.last_read_seq AS read, \
             p.muted_until AS muted_until FROM conversations c \
             JOIN messages m ON m.id = ? \
             JOIN participants p ON p.conversation_id = c.id AND p.user_id = ? \
             WHERE c.id = ?",
        )
        .bind(post.message_id.0)
        .bind(post.subscription.user_id.0)
        .bind(post.conversation_id.0)
        .fetch_optional(&mut *self.db().read.acquire().await?)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let (last_seq, deleted, read): (i64, i64, i64) = (
            row.try_get("last_seq")?,
            row.try_get("deleted")?,
            row.try_get("read")?,
        );
        let (muted, _) = crate::conversations::mute_now(row.try_get("muted_until")?, now_ms());
        Ok(last_seq == post.seq && deleted == 0 && read < post.seq && !muted)
    }

    /// Posts one push and sorts its service's answer.
    async fn push_once(&self, push: &Push, post: &Post) -> Answer {
        let response = match self.send_push(push, post).await {
            Ok(response) => response,
            Err(Error::Invalid(_)) => return Answer::Gone,
            Err(e) => return Answer::NotNow(None, e.to_string()),
        };
        let status = response.status();
        match status {
            s if s.is_success() => Answer::Taken,
            StatusCode::NOT_FOUND | StatusCode::GONE => Answer::Gone,
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                // Seconds only: a date is rare from push services, and then our own wait does.
                let asked = response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                Answer::NotNow(asked, status.to_string())
            }
            _ => Answer::Refused(status),
        }
    }

    async fn send_push(&self, push: &Push, post: &Post) -> Result<reqwest::Response> {
        let subscription = &post.subscription;
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
            .build(post.payload.clone())
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
        if let Ok(topic) = HeaderValue::from_str(&format!("c{}", post.conversation_id)) {
            headers.insert("topic", topic);
        }
        push.client.execute(request).await.map_err(Error::internal)
    }

    async fn forget_subscription(&self, endpoint: &str) -> Result<()> {
        sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = ?")
            .bind(endpoint)
            .execute(&mut *self.db().write.acquire().await?)
            .await?;
        Ok(())
    }
}
