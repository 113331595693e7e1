//! Who people are by id (username and display name), kept in memory for the conversation list.
//!
//! A page of the list shows every participant of every conversation on it, hundreds of people.
//! Joined from `users` in SQLite, they were half of the page's time (BENCHMARKS.md); from here,
//! each costs a hash lookup. Names never change once an account exists (no endpoint edits
//! them), so nothing here goes stale and several nodes need no invalidation. The list's
//! snapshots (`conversations::snapshots`) keep the names they were built with, under a
//! conversation version a rename of a person does not bump: an endpoint that edits names must
//! remove the person here and drop the snapshots that name them. Bounded: people not seen
//! lately are dropped and read again, all of a page's misses in one query.

use std::collections::HashMap;
use std::sync::Arc;

use quick_cache::sync::Cache;
use sqlx::{AnyConnection, QueryBuilder, Row};

use crate::Result;

/// People held at most: about 100 bytes each, so 10 MB at most.
const CAPACITY: usize = 100_000;

/// Ids per lookup query, well under every backend's limit on bound parameters.
const PER_QUERY: usize = 500;

/// One person's names.
#[derive(Debug)]
pub(crate) struct Name {
    pub username: String,
    pub display_name: String,
}

pub(crate) struct Names {
    cache: Cache<i64, Arc<Name>>,
}

impl Names {
    pub(crate) fn new() -> Self {
        Self {
            cache: Cache::new(CAPACITY),
        }
    }

    /// The names of `ids` (repeats allowed). An id with no account is simply absent. Read on
    /// the caller's connection: a second one taken from the pool while holding the first could
    /// wait forever once every caller holds one.
    pub(crate) async fn of(
        &self,
        db: &mut AnyConnection,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<HashMap<i64, Arc<Name>>> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        for id in ids {
            if found.contains_key(&id) {
                continue;
            }
            match self.cache.get(&id) {
                Some(name) => {
                    found.insert(id, name);
                }
                None => missing.push(id),
            }
        }
        missing.sort_unstable();
        missing.dedup();
        for chunk in missing.chunks(PER_QUERY) {
            let mut q =
                QueryBuilder::new("SELECT id, username, display_name FROM users WHERE id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            for row in q.build().fetch_all(&mut *db).await? {
                let id: i64 = row.try_get("id")?;
                let name = Arc::new(Name {
                    username: row.try_get("username")?,
                    display_name: row.try_get("display_name")?,
                });
                self.cache.insert(id, Arc::clone(&name));
                found.insert(id, name);
            }
        }
        Ok(found)
    }
}
