//! A participant's own mute: no notification and no push for a conversation's messages, on
//! any of their devices, for a while or until they unmute. Nobody else sees it; the
//! conversation's history and version do not change, so it is in no change record. Their
//! connections hear of it (`conversation:muted`) and the list shows it (`muted`,
//! `muted_until`).

use chrono::DateTime;
use protocol::{Conversation, ConversationId, FieldError, MuteConversation, ServerEvent, UserId};
use tracing::instrument;

use crate::storage::{now_ms, rfc3339};
use crate::{Chat, Error, Result};

/// `muted_until` of a mute that lasts until the participant unmutes.
const FOREVER: i64 = i64::MAX;

/// A stored `muted_until` as the viewer sees it now: whether the mute is in force, and when it
/// ends (`None` for one that lasts until they unmute, and when not muted). A mute that ran out
/// reads as none.
pub(crate) fn mute_now(stored: Option<i64>, now: i64) -> (bool, Option<String>) {
    match stored {
        Some(FOREVER) => (true, None),
        Some(until) if until > now => (true, Some(rfc3339(until))),
        _ => (false, None),
    }
}

impl Chat {
    /// Mutes conversation `id` for `me` until `request.until`, or until they unmute.
    #[instrument(skip(self, request), fields(user_id = %me, conversation_id = %id))]
    pub async fn mute_conversation(
        &self,
        me: UserId,
        id: ConversationId,
        request: &MuteConversation,
    ) -> Result<Conversation> {
        let until = match request.until.as_deref() {
            None => FOREVER,
            Some(raw) => {
                let until = DateTime::parse_from_rfc3339(raw.trim())
                    .map_err(|_| FieldError::new("until", "must be an RFC 3339 time"))?
                    .timestamp_millis();
                if until <= now_ms() {
                    return Err(FieldError::new("until", "must be in the future").into());
                }
                until
            }
        };
        self.set_mute(me, id, Some(until)).await
    }

    /// Ends `me`'s mute of conversation `id`; nothing changes if there was none.
    #[instrument(skip(self), fields(user_id = %me, conversation_id = %id))]
    pub async fn unmute_conversation(
        &self,
        me: UserId,
        id: ConversationId,
    ) -> Result<Conversation> {
        self.set_mute(me, id, None).await
    }

    async fn set_mute(
        &self,
        me: UserId,
        id: ConversationId,
        until: Option<i64>,
    ) -> Result<Conversation> {
        self.pace(me)?;
        // The write connection is held until the news is queued, so two changes in a row
        // reach the other devices in the order they were made.
        let mut writer = self.db().write.acquire().await?;
        let changed = sqlx::query(
            "UPDATE participants SET muted_until = ? WHERE conversation_id = ? AND user_id = ?",
        )
        .bind(until)
        .bind(id.0)
        .bind(me.0)
        .execute(&mut *writer)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(Error::NotFound("conversation"));
        }
        let (muted, muted_until) = mute_now(until, now_ms());
        let event = ServerEvent::ConversationMuted {
            conversation_id: id,
            muted,
            muted_until,
        };
        self.live().hub.to_users(&[me], &event);
        drop(writer);
        self.conversation(me, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mute_shows_until_it_runs_out() {
        assert_eq!(mute_now(None, 5), (false, None));
        assert_eq!(mute_now(Some(FOREVER), 5), (true, None));
        assert_eq!(
            mute_now(Some(1_800_000_000_000), 5),
            (true, Some("2027-01-15T08:00:00.000Z".to_owned()))
        );
        assert_eq!(mute_now(Some(5), 5), (false, None));
        assert_eq!(mute_now(Some(4), 5), (false, None));
    }
}
