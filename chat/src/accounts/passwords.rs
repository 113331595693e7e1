//! Argon2id hashing, run on the blocking pool (it takes tens of milliseconds of CPU) with a cap
//! on how many run at once, so a burst of sign-ins cannot starve the async workers or the box.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use protocol::Password;
use tokio::sync::Semaphore;

use crate::{Error, Result};

/// How long a request waits for a hashing slot before it is told to come back later.
const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// Verified when the user does not exist, so both paths cost the same: the hash of 32 random
/// bytes nobody kept, with the parameters of `Argon2::default()` (a test checks they still
/// agree). A constant rather than hashed at start: that hashing's 19 MiB stayed with the
/// allocator, half of an idle server's memory (BENCHMARKS.md).
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$g+ABaqhpnYkmasHkw3m3aA$SGDTnyH7sYJ19xvCdHGA++zNHwd0nlIaCJTzMITMNhg";

pub(super) struct Passwords {
    permits: Arc<Semaphore>,
}

impl Passwords {
    pub(super) fn new() -> Self {
        let slots = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            permits: Arc::new(Semaphore::new(slots)),
        }
    }

    pub(super) async fn hash(&self, password: Password) -> Result<String> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(Error::internal)
        })
        .await
    }

    /// True when `password` matches `stored`; with no stored hash it does the same work and
    /// answers false.
    pub(super) async fn verify(&self, password: String, stored: Option<String>) -> Result<bool> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let ok = self
            .run(move || {
                let parsed = PasswordHash::new(&hash).map_err(Error::internal)?;
                Ok(Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        Ok(known && ok)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let permit = tokio::time::timeout(QUEUE_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| Error::RateLimited {
                retry_after: Duration::from_secs(1),
            })?
            .map_err(Error::internal)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(Error::internal)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        let real = Argon2::default()
            .hash_password(b"a password", &salt)
            .unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert_eq!(dummy.hash.map(|h| h.len()), real.hash.map(|h| h.len()));
    }

    #[tokio::test]
    async fn an_unknown_user_is_refused_by_verifying_the_dummy_hash() {
        let passwords = Passwords::new();
        assert!(!passwords.verify("anything".into(), None).await.unwrap());
    }
}
