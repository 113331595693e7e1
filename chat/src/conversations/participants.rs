//! Group membership: owners and admins add and remove members, the owner grants roles, anyone
//! may leave. Direct and post-linked conversations keep the two people they were made for.

use protocol::{Conversation, ConversationId, ConversationKind, FieldError, Role, UserId};
use sqlx::{Connection, Row};
use tracing::instrument;

use super::{add_member, membership};
use crate::changes::{self, Change, ChangeKind};
use crate::{Chat, Error, Result};

fn groups_only(kind: ConversationKind) -> Result<()> {
    if kind == ConversationKind::Group {
        Ok(())
    } else {
        Err(FieldError::new(
            "conversation",
            "only group conversations take participant changes",
        )
        .into())
    }
}

impl Chat {
    /// Adds `user` to a group as member (or admin, which only the owner may grant).
    #[instrument(skip(self), fields(user_id = %me, conversation_id = %id))]
    pub async fn add_participant(
        &self,
        me: UserId,
        id: ConversationId,
        user: UserId,
        role: Option<Role>,
    ) -> Result<Conversation> {
        self.pace(me)?;
        let role = role.unwrap_or(Role::Member);
        if role == Role::Owner {
            return Err(FieldError::new("role", "must be \"admin\" or \"member\"").into());
        }
        // The write connection is held until the news is queued, so the hub hears of changes
        // in the order they were committed.
        let mut writer = self.db().write.acquire().await?;
        let mut tx = writer.begin().await?;
        let mine = membership(&mut *tx, id, me).await?;
        groups_only(mine.kind)?;
        if !mine.role.manages() {
            return Err(Error::Forbidden(
                "only the group's owner or an admin can add people",
            ));
        }
        if role == Role::Admin && mine.role != Role::Owner {
            return Err(Error::Forbidden(
                "only the group's owner can make someone an admin",
            ));
        }
        self.user(user).await?;
        let count: i64 = sqlx::query(
            "SELECT count(*) AS n, sum(CASE WHEN user_id = ? THEN 1 ELSE 0 END) AS present \
             FROM participants WHERE conversation_id = ?",
        )
        .bind(user.0)
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await
        .and_then(|row| {
            let present: Option<i64> = row.try_get("present")?;
            Ok(if present.unwrap_or(0) > 0 {
                -1
            } else {
                row.try_get("n")?
            })
        })?;
        if count < 0 {
            return Err(Error::Conflict("that user is already in the conversation"));
        }
        let max = self.settings().max_group_size;
        if usize::try_from(count).unwrap_or(usize::MAX) >= max {
            return Err(
                FieldError::new("user_id", format!("the group is full ({max} members)")).into(),
            );
        }
        // A newcomer starts with nothing unread; the history is there to scroll back through.
        add_member(&mut tx, id, user, role, mine.last_seq).await?;
        changes::record(
            &mut tx,
            id.0,
            Change::new(ChangeKind::MemberAdded).user(user.0),
        )
        .await?;
        tx.commit().await?;
        self.publish_conversation(id, None).await;
        drop(writer);
        self.conversation(me, id).await
    }

    /// Makes a participant admin or member; the owner only.
    #[instrument(skip(self), fields(user_id = %me, conversation_id = %id))]
    pub async fn set_role(
        &self,
        me: UserId,
        id: ConversationId,
        user: UserId,
        role: Role,
    ) -> Result<Conversation> {
        self.pace(me)?;
        if role == Role::Owner {
            return Err(FieldError::new("role", "must be \"admin\" or \"member\"").into());
        }
        // The write connection is held until the news is queued, so the hub hears of changes
        // in the order they were committed.
        let mut writer = self.db().write.acquire().await?;
        let mut tx = writer.begin().await?;
        let mine = membership(&mut *tx, id, me).await?;
        groups_only(mine.kind)?;
        if mine.role != Role::Owner {
            return Err(Error::Forbidden("only the group's owner can change roles"));
        }
        let theirs = membership(&mut *tx, id, user)
            .await
            .map_err(|_| Error::NotFound("participant"))?;
        if theirs.role == Role::Owner {
            return Err(FieldError::new("user_id", "the owner's role cannot change").into());
        }
        sqlx::query("UPDATE participants SET role = ? WHERE conversation_id = ? AND user_id = ?")
            .bind(role.as_str())
            .bind(id.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        changes::record(
            &mut tx,
            id.0,
            Change::new(ChangeKind::RoleChanged).user(user.0),
        )
        .await?;
        tx.commit().await?;
        self.publish_conversation(id, None).await;
        drop(writer);
        self.conversation(me, id).await
    }

    /// Removes `user` from a group: owners and admins remove anyone but the owner; anyone may
    /// remove themselves (leave). The owner stays.
    #[instrument(skip(self), fields(user_id = %me, conversation_id = %id))]
    pub async fn remove_participant(
        &self,
        me: UserId,
        id: ConversationId,
        user: UserId,
    ) -> Result<()> {
        self.pace(me)?;
        // The write connection is held until the news is queued, so the hub hears of changes
        // in the order they were committed.
        let mut writer = self.db().write.acquire().await?;
        let mut tx = writer.begin().await?;
        let mine = membership(&mut *tx, id, me).await?;
        groups_only(mine.kind)?;
        let theirs = membership(&mut *tx, id, user)
            .await
            .map_err(|_| Error::NotFound("participant"))?;
        if theirs.role == Role::Owner {
            return Err(Error::Forbidden("the group's owner cannot be removed"));
        }
        if user != me && !mine.role.manages() {
            return Err(Error::Forbidden(
                "only the group's owner or an admin can remove people",
            ));
        }
        sqlx::query("DELETE FROM participants WHERE conversation_id = ? AND user_id = ?")
            .bind(id.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        changes::record(
            &mut tx,
            id.0,
            Change::new(ChangeKind::MemberRemoved).user(user.0),
        )
        .await?;
        tx.commit().await?;
        self.publish_conversation(id, Some(user)).await;
        drop(writer);
        Ok(())
    }
}
