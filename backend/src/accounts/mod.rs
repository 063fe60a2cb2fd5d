//! Optional accounts: a nickname kept for its owner, behind a password.
//!
//! Guests still join with one click; an account adds what a guest cannot
//! have: a nickname nobody else may take while its owner is away, a
//! sign-in that outlives the server (a persistent token, sent by the
//! browser app as an HttpOnly cookie), rooms one can own, and direct
//! messages. This module holds the rules (password strength, how often one
//! may try, how long a token lasts) and the nicknames accounts reserve, in
//! memory, so a guest's `hello` never waits on the store; the HTTP routes
//! are in [`crate::api`], the storage behind [`AccountStore`].
//!
//! Tokens are 256 random bits; the store keeps only their SHA-256 digest.
//! Password hashing runs on the blocking pool, at most
//! `--hash-concurrency` at a time, so a burst of sign-ins cannot take every
//! core; a request that finds no free slot within a second gets `busy`.

mod password;
mod throttle;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use parley_protocol::api::ApiErrorCode;
use parley_protocol::{look_alike_keys, name_key, validate_nick};
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::config::AccountRules;
use crate::store::{Account, AccountError, AccountStore, MemoryStore, StoreError, TokenRecord};

pub use password::{WeakPassword, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
pub use throttle::LoginThrottle;

/// What a session knows of the account it is signed in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The account's nickname.
    pub nick: String,
    /// A server admin: every right in every room.
    pub admin: bool,
}

/// Why an account request failed.
#[derive(Debug, Error)]
pub enum AccountsError {
    /// The nickname breaks the rules.
    #[error(transparent)]
    InvalidNick(#[from] parley_protocol::ValidationError),
    /// The new password is not good enough.
    #[error(transparent)]
    WeakPassword(#[from] WeakPassword),
    /// The nickname, or a look-alike, is registered or in use.
    #[error("the nickname {0:?} is taken; pick another")]
    NickTaken(String),
    /// Wrong nickname or password.
    #[error("wrong nickname or password")]
    BadCredentials,
    /// No valid token.
    #[error("sign in first")]
    Unauthorized,
    /// Too many attempts; try again after this long.
    #[error("too many sign-in attempts; try again in {} s", .0.as_secs().max(1))]
    TooManyAttempts(Duration),
    /// Every hashing slot stayed busy.
    #[error("the server is busy; try again in a moment")]
    Busy,
    /// The store failed.
    #[error("the server could not reach its database")]
    Store(#[from] StoreError),
}

impl AccountsError {
    /// The API error code.
    pub fn code(&self) -> ApiErrorCode {
        match self {
            AccountsError::InvalidNick(_) => ApiErrorCode::InvalidNick,
            AccountsError::WeakPassword(_) => ApiErrorCode::WeakPassword,
            AccountsError::NickTaken(_) => ApiErrorCode::NickTaken,
            AccountsError::BadCredentials => ApiErrorCode::BadCredentials,
            AccountsError::Unauthorized => ApiErrorCode::Unauthorized,
            AccountsError::TooManyAttempts(_) => ApiErrorCode::TooManyAttempts,
            AccountsError::Busy => ApiErrorCode::Busy,
            AccountsError::Store(_) => ApiErrorCode::Internal,
        }
    }
}

impl From<AccountError> for AccountsError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::Taken(nick) => AccountsError::NickTaken(nick),
            AccountError::NoSuchAccount => AccountsError::Unauthorized,
            AccountError::Store(e) => AccountsError::Store(e),
        }
    }
}

/// The SHA-256 digest of a token, hex: what the store keeps.
fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The nicknames accounts reserve.
#[derive(Debug, Default)]
struct Reserved {
    /// Look-alike key → the registered nickname it belongs to.
    by_key: HashMap<String, String>,
    /// How many times `by_key` changed: a rereading of the store that
    /// raced a change is not kept.
    changes: u64,
}

impl Reserved {
    fn read(rows: Vec<(Vec<String>, String)>) -> HashMap<String, String> {
        let mut by_key = HashMap::new();
        for (looks, nick) in rows {
            for look in looks {
                by_key.insert(look, nick.clone());
            }
        }
        by_key
    }

    fn add(&mut self, nick: &str, looks: Vec<String>) {
        for look in looks {
            self.by_key.insert(look, nick.to_owned());
        }
        self.changes += 1;
    }

    fn remove(&mut self, key: &str) {
        self.by_key.retain(|_, held| name_key(held) != key);
        self.changes += 1;
    }
}

/// The accounts, their rules, and the nicknames they reserve.
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    rules: AccountRules,
    reserved: RwLock<Reserved>,
    throttle: LoginThrottle,
    hashing: tokio::sync::Semaphore,
    clock: crate::committer::Clock,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

impl Accounts {
    /// The accounts in `store`, with the reserved nicknames read once.
    pub fn load(store: Arc<dyn AccountStore>, rules: AccountRules) -> Result<Self, StoreError> {
        let reserved = Reserved {
            by_key: Reserved::read(store.reserved()?),
            changes: 0,
        };
        Ok(Accounts {
            throttle: LoginThrottle::new(rules.login_rate, rules.login_rate_per_ip),
            hashing: tokio::sync::Semaphore::new(rules.hash_concurrency.max(1)),
            reserved: RwLock::new(reserved),
            clock: Arc::new(crate::time::now_ms),
            store,
            rules,
        })
    }

    /// No accounts yet, kept in memory only (with `--database-url memory`,
    /// and in tests).
    pub fn in_memory(rules: AccountRules) -> Self {
        Accounts::load(Arc::new(MemoryStore::new(1)), rules).expect("an empty store reads")
    }

    /// How long a sign-in lasts.
    pub fn token_ttl(&self) -> Duration {
        self.rules.token_ttl
    }

    /// The registered nickname one of `looks` belongs to, if any: a guest
    /// may not use it.
    pub fn reserved_by(&self, looks: &[String]) -> Option<String> {
        let reserved = self.reserved.read().unwrap_or_else(|p| p.into_inner());
        looks.iter().find_map(|l| reserved.by_key.get(l).cloned())
    }

    fn reserved_mut(&self) -> std::sync::RwLockWriteGuard<'_, Reserved> {
        self.reserved.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the reserved nicknames from the store again (a node whose
    /// link to the others was down may have missed accounts registered or
    /// deleted elsewhere). A reading that raced a change here is read
    /// again, a few times at most.
    pub async fn reread_reserved(&self) -> Result<(), AccountsError> {
        for _ in 0..3 {
            let before = self
                .reserved
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .changes;
            let rows = self.stored(|s| Ok(s.reserved()?)).await?;
            let mut reserved = self.reserved_mut();
            if reserved.changes == before {
                reserved.by_key = Reserved::read(rows);
                reserved.changes += 1;
                return Ok(());
            }
        }
        Err(AccountsError::Busy)
    }

    /// Another node registered the account `nick` (or deleted it): its
    /// nickname is reserved here too (or free again).
    pub fn note_reserved(&self, nick: &str, registered: bool) {
        if registered {
            self.reserved_mut().add(nick, look_alike_keys(nick));
        } else {
            self.reserved_mut().remove(&name_key(nick));
        }
    }

    /// Whether `nick` is a server admin by `--admin`.
    fn is_listed_admin(&self, nick: &str) -> bool {
        let key = name_key(nick);
        self.rules.admins.iter().any(|a| name_key(a) == key)
    }

    fn profile(&self, account: &Account) -> Profile {
        Profile {
            nick: account.nick.clone(),
            admin: account.admin || self.is_listed_admin(&account.nick),
        }
    }

    /// Runs `f` (a password hash or check) on the blocking pool, holding
    /// one of the hashing slots.
    async fn hashing<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AccountsError> {
        let permit = tokio::time::timeout(Duration::from_secs(1), self.hashing.acquire())
            .await
            .map_err(|_| AccountsError::Busy)?
            .map_err(|_| AccountsError::Busy)?;
        let done = tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        drop(permit);
        Ok(done)
    }

    /// Runs a store call on the blocking pool.
    async fn stored<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn AccountStore) -> Result<T, AccountError> + Send + 'static,
    ) -> Result<T, AccountsError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?
            .map_err(AccountsError::from)
    }

    /// Registers `nick` with `password` (at most so many tries per
    /// nickname and per `ip`). Once the request passed every check of its
    /// own, `hold` keeps the nickname (given with its look-alike keys)
    /// from sessions, or refuses it if one holds it (or a look-alike) now.
    /// Returns the account as registered.
    pub async fn register<F, H>(
        &self,
        nick: &str,
        password: String,
        ip: Option<IpAddr>,
        hold: H,
    ) -> Result<Profile, AccountsError>
    where
        H: FnOnce(String, Vec<String>) -> F,
        F: std::future::Future<Output = Result<(), AccountsError>>,
    {
        let nick = validate_nick(nick)?;
        self.throttle
            .attempt(&name_key(&nick), ip)
            .map_err(AccountsError::TooManyAttempts)?;
        password::check_strength(&password, &nick)?;
        let looks = look_alike_keys(&nick);
        if self.reserved_by(&looks).is_some() {
            return Err(AccountsError::NickTaken(nick));
        }
        hold(nick.clone(), looks.clone()).await?;
        let hash = self.hashing(move || password::hash(&password)).await?;
        let account = Account {
            key: name_key(&nick),
            looks: looks.clone(),
            nick: nick.clone(),
            hash,
            admin: false,
            created_ms: (self.clock)(),
        };
        let stored = account.clone();
        self.stored(move |s| s.create_account(&stored)).await?;
        self.reserved_mut().add(&nick, looks);
        Ok(self.profile(&account))
    }

    /// Checks `password` for `nick` (at most so many tries per account and
    /// per `ip`) and signs in: a new token.
    pub async fn login(
        &self,
        nick: &str,
        password: String,
        ip: Option<IpAddr>,
    ) -> Result<(Profile, String), AccountsError> {
        let key = validate_nick(nick)
            .map(|n| name_key(&n))
            .map_err(|_| AccountsError::BadCredentials)?;
        self.throttle
            .attempt(&key, ip)
            .map_err(AccountsError::TooManyAttempts)?;
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(AccountsError::BadCredentials);
        }
        let lookup = key.clone();
        let account = self.stored(move |s| Ok(s.account(&lookup)?)).await?;
        // An unknown nickname costs a hash too, so timing does not tell.
        let hash = account
            .as_ref()
            .map_or_else(|| password::decoy_hash().to_owned(), |a| a.hash.clone());
        let right = self
            .hashing(move || password::verify(&password, &hash))
            .await?;
        let account = match account {
            Some(account) if right => account,
            _ => return Err(AccountsError::BadCredentials),
        };
        let token = format!("t_{}", Alphanumeric.sample_string(&mut rand::rng(), 43));
        let record = TokenRecord {
            digest: digest(&token),
            key,
            expires_ms: (self.clock)()
                .saturating_add(self.rules.token_ttl.as_millis().min(u64::MAX as u128) as u64),
        };
        self.stored(move |s| Ok(s.add_token(&record)?)).await?;
        Ok((self.profile(&account), token))
    }

    /// The account a token signs in, if it is valid.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Profile>, AccountsError> {
        let (digest, now) = (digest(token), (self.clock)());
        let account = self
            .stored(move |s| Ok(s.token_account(&digest, now)?))
            .await?;
        Ok(account.map(|a| self.profile(&a)))
    }

    /// Ends the sign-in of `token`.
    pub async fn logout(&self, token: &str) -> Result<(), AccountsError> {
        let digest = digest(token);
        self.stored(move |s| Ok(s.revoke_token(&digest)?)).await
    }

    /// The signed-in account of `token`, checking its `password` too.
    async fn confirmed(&self, token: &str, password: String) -> Result<Account, AccountsError> {
        let (digest, now) = (digest(token), (self.clock)());
        let account = self
            .stored(move |s| Ok(s.token_account(&digest, now)?))
            .await?
            .ok_or(AccountsError::Unauthorized)?;
        self.throttle
            .attempt(&account.key, None)
            .map_err(AccountsError::TooManyAttempts)?;
        let hash = account.hash.clone();
        if !self
            .hashing(move || password::verify(&password, &hash))
            .await?
        {
            return Err(AccountsError::BadCredentials);
        }
        Ok(account)
    }

    /// Changes the password of the account `token` signs in; every other
    /// sign-in of it ends.
    pub async fn change_password(
        &self,
        token: &str,
        password: String,
        new_password: String,
    ) -> Result<(), AccountsError> {
        let account = self.confirmed(token, password).await?;
        password::check_strength(&new_password, &account.nick)?;
        let hash = self.hashing(move || password::hash(&new_password)).await?;
        let keep = digest(token);
        self.stored(move |s| s.set_password(&account.key, &hash, Some(&keep)))
            .await
    }

    /// Deletes the account `token` signs in (its password confirming it):
    /// its nickname is free again, its sign-ins end. Returns the nickname.
    pub async fn delete(&self, token: &str, password: String) -> Result<String, AccountsError> {
        let account = self.confirmed(token, password).await?;
        let key = account.key.clone();
        self.stored(move |s| s.delete_account(&key)).await?;
        self.reserved_mut().remove(&account.key);
        Ok(account.nick)
    }

    /// Makes `nick`'s account a server admin, or not (`parley-backend
    /// admin`).
    pub fn set_admin(&self, nick: &str, admin: bool) -> Result<(), AccountsError> {
        let key = name_key(&validate_nick(nick)?);
        Ok(self.store.set_admin(&key, admin)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(nick: &str) -> Account {
        Account {
            key: name_key(nick),
            looks: look_alike_keys(nick),
            nick: nick.to_owned(),
            hash: "$argon2id$unused".to_owned(),
            admin: false,
            created_ms: 1,
        }
    }

    #[tokio::test]
    async fn rereading_finds_what_another_node_registered_and_deleted() {
        let store = Arc::new(MemoryStore::new(1));
        let rules = crate::config::Config::default().accounts.rules();
        let accounts = Accounts::load(store.clone(), rules).unwrap();
        accounts.note_reserved("kept", true);
        store.create_account(&account("kept")).unwrap();
        // Another node registers alice; its hint is lost.
        store.create_account(&account("alice")).unwrap();
        assert_eq!(accounts.reserved_by(&look_alike_keys("AIice")), None);
        accounts.reread_reserved().await.unwrap();
        assert_eq!(
            accounts.reserved_by(&look_alike_keys("AIice")).as_deref(),
            Some("alice")
        );
        // ... and deletes it; that hint is lost too.
        store.delete_account(&name_key("alice")).unwrap();
        accounts.reread_reserved().await.unwrap();
        assert_eq!(accounts.reserved_by(&look_alike_keys("alice")), None);
        assert_eq!(
            accounts.reserved_by(&look_alike_keys("kept")).as_deref(),
            Some("kept")
        );
    }
}
