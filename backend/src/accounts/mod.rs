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
mod reserved;
mod throttle;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use parley_protocol::api::ApiErrorCode;
use parley_protocol::{look_alike_keys, name_key, validate_nick};
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::config::AccountRules;
use crate::store::{Account, AccountError, AccountStore, MemoryStore, StoreError, TokenRecord};
use reserved::Reserved;

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

/// What keeps a nickname from sessions while its account is registered
/// (the hub: on every node, in a cluster).
pub trait NickHold {
    /// Refuses `nick` (whose look-alike keys are `looks`) with
    /// `nick_taken` if a session holds it or a look-alike, else keeps
    /// every guest off it from now on.
    fn hold(
        &self,
        nick: &str,
        looks: &[String],
    ) -> impl std::future::Future<Output = Result<(), AccountsError>> + Send;

    /// `nick` was held, but its account could not be stored: guests may
    /// have it again.
    fn lift(&self, nick: &str);
}

/// The accounts, their rules, and the nicknames they reserve.
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    rules: AccountRules,
    reserved: Reserved,
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
        let reserved = Reserved::new(store.reserved()?);
        Ok(Accounts {
            throttle: LoginThrottle::new(rules.login_rate, rules.login_rate_per_ip),
            hashing: tokio::sync::Semaphore::new(rules.hash_concurrency.max(1)),
            reserved,
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
        self.reserved.by(looks)
    }

    /// Reads the reserved nicknames from the store again (a node whose
    /// link to the others was down may have missed accounts registered or
    /// deleted elsewhere). A reading that raced a change here is read
    /// again, a few times at most.
    pub async fn reread_reserved(&self) -> Result<(), AccountsError> {
        for _ in 0..3 {
            let before = self.reserved.changes();
            let rows = self.stored(|s| Ok(s.reserved()?)).await?;
            if self.reserved.replace(rows, before) {
                return Ok(());
            }
        }
        Err(AccountsError::Busy)
    }

    /// Another node registered the account `nick` (or deleted it): its
    /// nickname is reserved here too (or free again).
    pub fn note_reserved(&self, nick: &str, registered: bool) {
        if registered {
            self.reserved.add(nick, look_alike_keys(nick));
        } else {
            self.reserved.remove(&name_key(nick));
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
    /// own, `hold` keeps the nickname from sessions (or refuses it), and
    /// lifts that again if the account could not be stored after all.
    /// Returns the account as registered.
    pub async fn register(
        &self,
        nick: &str,
        password: String,
        ip: Option<IpAddr>,
        hold: &impl NickHold,
    ) -> Result<Profile, AccountsError> {
        let nick = validate_nick(nick)?;
        self.throttle
            .attempt(&name_key(&nick), ip)
            .map_err(AccountsError::TooManyAttempts)?;
        password::check_strength(&password, &nick)?;
        let looks = look_alike_keys(&nick);
        if self.reserved_by(&looks).is_some() {
            return Err(AccountsError::NickTaken(nick));
        }
        hold.hold(&nick, &looks).await?;
        let account = self.create(&nick, looks, password).await;
        match account {
            // Taken by an account registered at the same time elsewhere:
            // the reservation is that account's now.
            Err(AccountsError::NickTaken(_)) => {}
            Err(_) => hold.lift(&nick),
            Ok(_) => {}
        }
        account
    }

    /// Hashes `password` and stores the account `nick`.
    async fn create(
        &self,
        nick: &str,
        looks: Vec<String>,
        password: String,
    ) -> Result<Profile, AccountsError> {
        let hash = self.hashing(move || password::hash(&password)).await?;
        let account = Account {
            key: name_key(nick),
            looks: looks.clone(),
            nick: nick.to_owned(),
            hash,
            admin: false,
            created_ms: (self.clock)(),
        };
        let stored = account.clone();
        self.stored(move |s| s.create_account(&stored)).await?;
        self.reserved.add(nick, looks);
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
        self.reserved.remove(&account.key);
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

    /// What the hub was asked while an account was registered.
    #[derive(Default)]
    struct Recorder {
        asked: std::sync::Mutex<Vec<String>>,
        refuse: bool,
    }

    impl NickHold for Recorder {
        async fn hold(&self, nick: &str, _looks: &[String]) -> Result<(), AccountsError> {
            self.asked.lock().unwrap().push(format!("hold {nick}"));
            if self.refuse {
                return Err(AccountsError::NickTaken(nick.to_owned()));
            }
            Ok(())
        }

        fn lift(&self, nick: &str) {
            self.asked.lock().unwrap().push(format!("lift {nick}"));
        }
    }

    const PASSWORD: &str = "correct horse battery staple";

    fn accounts(hash_concurrency: usize) -> (Arc<MemoryStore>, Accounts) {
        let store = Arc::new(MemoryStore::new(1));
        let mut rules = crate::config::Config::default().accounts.rules();
        rules.hash_concurrency = hash_concurrency;
        (store.clone(), Accounts::load(store, rules).unwrap())
    }

    async fn register(
        accounts: &Accounts,
        nick: &str,
        password: &str,
        hold: &Recorder,
    ) -> Result<Profile, AccountsError> {
        accounts
            .register(nick, password.to_owned(), None, hold)
            .await
    }

    #[tokio::test]
    async fn a_nickname_is_held_once_the_request_passed_its_own_checks_and_lifted_if_not_stored() {
        let (store, accounts) = accounts(1);
        let hold = Recorder::default();
        // Its own checks fail first: nothing is held.
        assert!(matches!(
            register(&accounts, "mina", "x", &hold).await,
            Err(AccountsError::WeakPassword(_))
        ));
        assert!(hold.asked.lock().unwrap().is_empty());

        // Held, stored: kept.
        register(&accounts, "mina", PASSWORD, &hold).await.unwrap();
        assert_eq!(*hold.asked.lock().unwrap(), ["hold mina"]);
        assert!(accounts.reserved_by(&look_alike_keys("MINA")).is_some());
        // Registered here already: refused before anything is held.
        assert!(matches!(
            register(&accounts, "Mina", PASSWORD, &hold).await,
            Err(AccountsError::NickTaken(_))
        ));
        assert_eq!(hold.asked.lock().unwrap().len(), 1);

        // The hub refuses it (a session holds it): nothing to lift.
        let refusing = Recorder {
            refuse: true,
            ..Recorder::default()
        };
        assert!(matches!(
            register(&accounts, "zed", PASSWORD, &refusing).await,
            Err(AccountsError::NickTaken(_))
        ));
        assert_eq!(*refusing.asked.lock().unwrap(), ["hold zed"]);

        // Registered at the same moment on another node (the store has it,
        // this node has not heard yet): the reservation is that account's.
        let hold = Recorder::default();
        store.create_account(&account("ann")).unwrap();
        assert!(matches!(
            register(&accounts, "ann", PASSWORD, &hold).await,
            Err(AccountsError::NickTaken(_))
        ));
        assert_eq!(*hold.asked.lock().unwrap(), ["hold ann"]);

        // Held, but every hashing slot stays busy: lifted again.
        let slot = accounts.hashing.acquire().await.unwrap();
        assert!(matches!(
            register(&accounts, "bob", PASSWORD, &hold).await,
            Err(AccountsError::Busy)
        ));
        drop(slot);
        assert_eq!(
            *hold.asked.lock().unwrap(),
            ["hold ann", "hold bob", "lift bob"]
        );
        assert_eq!(accounts.reserved_by(&look_alike_keys("bob")), None);
    }
}
