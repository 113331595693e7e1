//! Accounts: sign-up, sign-in, sessions and user search.

mod names;
mod passwords;
mod sessions;
mod throttle;
mod tokens;

use std::net::IpAddr;
use std::time::Duration;

use protocol::accounts::parse_email;
use protocol::{DisplayName, LoginRequest, Password, RegisterRequest, User, UserId, Username};
use secrecy::SecretString;
use sqlx::{Connection, Row};
use tracing::instrument;

use crate::storage::{is_unique_violation, now_ms};
use crate::{Chat, Error, Result};
pub(crate) use names::Name;
use names::Names;
use passwords::Passwords;
use sessions::LiveSessions;
use throttle::FailureThrottle;
pub use tokens::Session;
use tokens::Tokens;

/// The signed-in caller, as proven by a valid, unrevoked token.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: UserId,
    pub session_id: String,
    /// When the token stops being valid (ms since the epoch): live connections end then.
    pub expires_at_ms: i64,
}

/// State the account services keep between requests.
pub struct Accounts {
    tokens: Tokens,
    passwords: Passwords,
    by_account: FailureThrottle<String>,
    by_address: FailureThrottle<IpAddr>,
    names: Names,
    sessions: LiveSessions,
}

impl Accounts {
    pub(crate) fn new(secret: &SecretString, token_ttl: Duration) -> Self {
        Self {
            tokens: Tokens::new(secret, token_ttl),
            passwords: Passwords::new(),
            // A person mistyping gets ten tries; a guesser gets throttled per account and per
            // address, and a success clears the account's count.
            by_account: FailureThrottle::new(10, Duration::from_secs(5 * 60), 100_000),
            by_address: FailureThrottle::new(50, Duration::from_secs(5 * 60), 100_000),
            names: Names::new(),
            sessions: LiveSessions::new(),
        }
    }

    pub fn token_ttl(&self) -> Duration {
        self.tokens.ttl()
    }

    pub(crate) fn names(&self) -> &Names {
        &self.names
    }
}

/// Maximum users one search returns.
const SEARCH_LIMIT: i64 = 20;

impl Chat {
    /// Creates an account and signs it in. `client` is the address asking, bounded in how
    /// many accounts it creates (`None`: the server's own code, not bounded).
    #[instrument(skip_all, fields(username = %req.username))]
    pub async fn register(
        &self,
        req: RegisterRequest,
        client: Option<IpAddr>,
    ) -> Result<(User, Session)> {
        let username = Username::parse(&req.username)?;
        let display_name = DisplayName::parse(&req.display_name)?;
        let password = Password::parse(&req.password)?;
        let email = req.email.as_deref().map(parse_email).transpose()?;
        // Counted once the request is valid, before the hash it costs.
        self.pace_signup(client)?;
        let hash = self.accounts().passwords.hash(password).await?;

        let inserted = sqlx::query(
            "INSERT INTO users (username, username_key, display_name, display_name_key, email, \
             password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(username.as_str())
        .bind(username.key())
        .bind(display_name.as_str())
        .bind(display_name.as_str().to_lowercase())
        .bind(email)
        .bind(hash)
        .bind(now_ms())
        .fetch_one(&mut *self.db().write.acquire().await?)
        .await;
        let id = match inserted {
            Ok(row) => UserId(row.try_get("id")?),
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Conflict("that username is taken"))
            }
            Err(e) => return Err(e.into()),
        };
        let user = User {
            id,
            username: username.as_str().to_owned(),
            display_name: display_name.as_str().to_owned(),
            online: false,
        };
        let session = self.open_session(id).await?;
        tracing::info!(user_id = %id, "account created");
        Ok((user, session))
    }

    /// Checks credentials and opens a session. Unknown user and wrong password are answered the
    /// same way, in the same time (a dummy hash is verified when there is no user).
    #[instrument(skip_all, fields(username = %req.username))]
    pub async fn login(
        &self,
        req: LoginRequest,
        client: Option<IpAddr>,
    ) -> Result<(User, Session)> {
        let accounts = self.accounts();
        if req.password.chars().count() > Password::MAX {
            // No account has such a password; refuse before paying for a hash.
            return Err(Error::BadCredentials);
        }
        let key = req.username.trim().to_ascii_lowercase();
        accounts.by_account.check(&key)?;
        if let Some(ip) = client {
            accounts.by_address.check(&ip)?;
        }
        let row = sqlx::query(
            "SELECT id, username, display_name, password_hash FROM users WHERE username_key = ?",
        )
        .bind(&key)
        .fetch_optional(&mut *self.db().read.acquire().await?)
        .await?;
        let stored_hash = row
            .as_ref()
            .map(|r| r.try_get::<String, _>("password_hash"))
            .transpose()?;
        let matches = accounts.passwords.verify(req.password, stored_hash).await?;
        let row = match row {
            Some(row) if matches => row,
            _ => {
                accounts.by_account.fail(key);
                if let Some(ip) = client {
                    accounts.by_address.fail(ip);
                }
                return Err(Error::BadCredentials);
            }
        };
        accounts.by_account.clear(&key);
        let user = user_from_row(&row)?;
        let session = self.open_session(user.id).await?;
        Ok((user, session))
    }

    /// Revokes the session behind a token; later uses of that token get 401.
    #[instrument(skip_all, fields(user_id = %viewer.user_id))]
    pub async fn logout(&self, viewer: &Viewer) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = ?")
            .bind(&viewer.session_id)
            .execute(&mut *self.db().write.acquire().await?)
            .await?;
        self.accounts().sessions.revoked(&viewer.session_id);
        self.live().hub.end_session(&viewer.session_id);
        Ok(())
    }

    /// Resolves a bearer token to its caller: signature, algorithm, `exp`/`nbf`, and that the
    /// session was not revoked (asked of the database at most every `sessions::FRESH`; a
    /// sign-out here is seen at once).
    pub async fn authenticate(&self, token: &str) -> Result<Viewer> {
        let (user_id, claims) = self.accounts().tokens.verify(token)?;
        let sessions = &self.accounts().sessions;
        if !sessions.is_live(&claims.jti, user_id.0) {
            let lookup = sessions.lookup();
            let live = sqlx::query("SELECT user_id FROM sessions WHERE id = ? AND expires_at > ?")
                .bind(&claims.jti)
                .bind(now_ms())
                .fetch_optional(&mut *self.db().read.acquire().await?)
                .await?;
            match live {
                Some(row) if row.try_get::<i64, _>("user_id")? == user_id.0 => {
                    sessions.keep(lookup, &claims.jti, user_id.0);
                }
                _ => return Err(Error::Unauthenticated),
            }
        }
        Ok(Viewer {
            user_id,
            session_id: claims.jti,
            expires_at_ms: claims.exp.saturating_mul(1000),
        })
    }

    pub async fn user(&self, id: UserId) -> Result<User> {
        let row = sqlx::query("SELECT id, username, display_name FROM users WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&mut *self.db().read.acquire().await?)
            .await?
            .ok_or(Error::NotFound("user"))?;
        let mut user = user_from_row(&row)?;
        user.online = self.live().hub.is_online(user.id);
        Ok(user)
    }

    /// Users whose username or display name starts with `q`, ignoring case.
    pub async fn search_users(&self, q: &str) -> Result<Vec<User>> {
        let q = protocol::text::clean("q", q, 0, 64, false)?.to_lowercase();
        // A range on the case-folded columns uses their indexes, unlike LIKE.
        let upper = format!("{q}\u{10FFFF}");
        let rows = sqlx::query(
            "SELECT id, username, display_name FROM users \
             WHERE (username_key >= ? AND username_key < ?) \
                OR (display_name_key >= ? AND display_name_key < ?) \
             ORDER BY username_key LIMIT ?",
        )
        .bind(&q)
        .bind(&upper)
        .bind(&q)
        .bind(&upper)
        .bind(SEARCH_LIMIT)
        .fetch_all(&mut *self.db().read.acquire().await?)
        .await?;
        let hub = &self.live().hub;
        rows.iter()
            .map(|row| {
                let mut user = user_from_row(row)?;
                user.online = hub.is_online(user.id);
                Ok(user)
            })
            .collect()
    }

    async fn open_session(&self, user_id: UserId) -> Result<Session> {
        let session = self.accounts().tokens.issue(user_id)?;
        let now = now_ms();
        let mut writer = self.db().write.acquire().await?;
        let mut tx = writer.begin().await?;
        // Expired rows are dead weight; sweeping them here keeps the table small without a timer.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&session.id)
        .bind(user_id.0)
        .bind(now)
        .bind(session.expires_at_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(session)
    }
}

pub(crate) fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User> {
    Ok(User {
        id: UserId(row.try_get("id")?),
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        online: false,
    })
}
