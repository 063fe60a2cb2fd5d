//! Accounts and their sign-in tokens, as the store keeps them.
//!
//! Separate from [`MessageStore`](super::MessageStore) because nothing
//! about history needs them: an account is a nickname kept for its owner
//! (by its name key, so a look-alike cannot be registered beside it), a
//! password hash (never the password), and the sessions signed in with
//! it, each a token kept only as its SHA-256 digest, so a copy of the
//! database signs nobody in. The store only keeps; the rules (what a
//! strong password is, how often one may try) are the caller's.

use thiserror::Error;

use super::StoreError;

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The nickname, as registered.
    pub nick: String,
    /// Its name key: what makes it unique.
    pub key: String,
    /// Every key it could be mistaken under (its look-alike keys).
    pub looks: Vec<String>,
    /// The password's hash (a PHC string).
    pub hash: String,
    /// A server admin (`parley-backend admin`).
    pub admin: bool,
    /// When it was registered, ms since the Unix epoch.
    pub created_ms: u64,
}

/// A sign-in token's record (the token itself is not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// SHA-256 of the token, hex.
    pub digest: String,
    /// The account's name key.
    pub key: String,
    /// When it stops working, ms since the Unix epoch.
    pub expires_ms: u64,
}

/// Why an account could not be stored.
#[derive(Debug, Error)]
pub enum AccountError {
    /// An account with that name key, or a look-alike, exists.
    #[error("the nickname {0:?} is registered")]
    Taken(String),
    /// No account with that key.
    #[error("no such account")]
    NoSuchAccount,
    /// The storage layer failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where accounts and tokens are kept.
pub trait AccountStore: Send + Sync + 'static {
    /// Stores a new account, unless one of its look-alike keys is already
    /// some account's.
    fn create_account(&self, account: &Account) -> Result<(), AccountError>;

    /// The account with this name key.
    fn account(&self, key: &str) -> Result<Option<Account>, StoreError>;

    /// The account one of `looks` belongs to (any look-alike key).
    fn account_looking_like(&self, looks: &[String]) -> Result<Option<Account>, StoreError>;

    /// Every account's look-alike keys and nickname (to know which
    /// nicknames are reserved without reading the store on each `hello`).
    fn reserved(&self) -> Result<Vec<(Vec<String>, String)>, StoreError>;

    /// Replaces an account's password hash; other tokens than `keep` are
    /// revoked.
    fn set_password(&self, key: &str, hash: &str, keep: Option<&str>) -> Result<(), AccountError>;

    /// Makes an account a server admin, or not.
    fn set_admin(&self, key: &str, admin: bool) -> Result<(), AccountError>;

    /// The nicknames of the accounts that are server admins.
    fn admins(&self) -> Result<Vec<String>, StoreError>;

    /// Deletes an account and its tokens.
    fn delete_account(&self, key: &str) -> Result<(), AccountError>;

    /// Stores a token record.
    fn add_token(&self, token: &TokenRecord) -> Result<(), StoreError>;

    /// The account a token digest signs in, if the token exists and has not
    /// expired at `now_ms`.
    fn token_account(&self, digest: &str, now_ms: u64) -> Result<Option<Account>, StoreError>;

    /// Revokes one token.
    fn revoke_token(&self, digest: &str) -> Result<(), StoreError>;

    /// Deletes tokens that expired before `now_ms`; returns how many.
    fn prune_tokens(&self, now_ms: u64) -> Result<usize, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemoryStore, SqliteStore, Synchronous};

    fn account(nick: &str, looks: &[&str]) -> Account {
        Account {
            nick: nick.into(),
            key: nick.to_lowercase(),
            looks: looks.iter().map(|l| l.to_string()).collect(),
            hash: format!("$argon2id$hash-of-{nick}"),
            admin: false,
            created_ms: 1,
        }
    }

    fn token(digest: &str, key: &str, expires_ms: u64) -> TokenRecord {
        TokenRecord {
            digest: digest.into(),
            key: key.into(),
            expires_ms,
        }
    }

    /// The same story, told to each store.
    fn keeps_accounts_and_tokens(store: &dyn AccountStore) {
        store
            .create_account(&account("Mina", &["mina", "rnina"]))
            .unwrap();
        assert!(matches!(
            store.create_account(&account("Rnina", &["rnina"])),
            Err(AccountError::Taken(nick)) if nick == "Rnina"
        ));
        store.create_account(&account("Joon", &["joon"])).unwrap();
        assert_eq!(
            store.account("mina").unwrap().unwrap().looks,
            ["mina", "rnina"]
        );
        assert_eq!(
            store
                .account_looking_like(&["x".into(), "rnina".into()])
                .unwrap()
                .unwrap()
                .nick,
            "Mina"
        );
        assert_eq!(store.account("nobody").unwrap(), None);
        let mut reserved = store.reserved().unwrap();
        reserved.sort();
        assert_eq!(reserved.len(), 2);
        assert_eq!(
            reserved[1],
            (vec!["mina".into(), "rnina".into()], "Mina".into())
        );

        store.add_token(&token("d1", "mina", 100)).unwrap();
        store.add_token(&token("d2", "mina", 100)).unwrap();
        store.add_token(&token("d3", "joon", 50)).unwrap();
        assert_eq!(store.token_account("d1", 99).unwrap().unwrap().nick, "Mina");
        assert_eq!(store.token_account("d1", 100).unwrap(), None, "expired");
        assert_eq!(store.token_account("nope", 0).unwrap(), None);
        assert_eq!(store.prune_tokens(60).unwrap(), 1);
        assert_eq!(store.token_account("d3", 0).unwrap(), None);

        store
            .set_password("mina", "$argon2id$new", Some("d1"))
            .unwrap();
        assert_eq!(
            store.account("mina").unwrap().unwrap().hash,
            "$argon2id$new"
        );
        assert!(store.token_account("d1", 0).unwrap().is_some(), "kept");
        assert!(store.token_account("d2", 0).unwrap().is_none(), "revoked");
        store.revoke_token("d1").unwrap();
        assert!(store.token_account("d1", 0).unwrap().is_none());

        store.set_admin("joon", true).unwrap();
        assert_eq!(store.admins().unwrap(), ["Joon"]);
        assert!(matches!(
            store.set_admin("nobody", true),
            Err(AccountError::NoSuchAccount)
        ));

        store.add_token(&token("d4", "mina", 100)).unwrap();
        store.delete_account("mina").unwrap();
        assert_eq!(store.account("mina").unwrap(), None);
        assert!(store.token_account("d4", 0).unwrap().is_none());
        assert!(matches!(
            store.delete_account("mina"),
            Err(AccountError::NoSuchAccount)
        ));
        assert!(matches!(
            store.set_password("mina", "x", None),
            Err(AccountError::NoSuchAccount)
        ));
        // Its look-alikes are free again.
        store.create_account(&account("Rnina", &["rnina"])).unwrap();
    }

    #[test]
    fn the_memory_store_keeps_accounts_and_tokens() {
        keeps_accounts_and_tokens(&MemoryStore::new(1));
    }

    #[test]
    fn the_sqlite_store_keeps_accounts_and_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("a.db"), Synchronous::Normal, 2).unwrap();
        keeps_accounts_and_tokens(&store);
        drop(store);
        let reopened = SqliteStore::open(&dir.path().join("a.db"), Synchronous::Normal, 2).unwrap();
        assert_eq!(reopened.admins().unwrap(), ["Joon"], "kept on disk");
    }

    #[test]
    fn the_postgres_store_keeps_accounts_and_tokens() {
        let pg = crate::store::pg_harness::Postgres::start();
        let store = crate::store::PostgresStore::open(&pg.url(), 2).unwrap();
        keeps_accounts_and_tokens(&store);
        drop(store);
        let reopened = crate::store::PostgresStore::open(&pg.url(), 2).unwrap();
        assert_eq!(reopened.admins().unwrap(), ["Joon"], "kept in the database");
    }

    #[test]
    fn two_postgres_servers_racing_register_one_look_alike() {
        let pg = crate::store::pg_harness::Postgres::start();
        let url = pg.url();
        let tries: Vec<_> = (0..4)
            .map(|n| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let store = crate::store::PostgresStore::open(&url, 1).unwrap();
                    let mut a = account(&format!("Twin{n}"), &["twin"]);
                    a.key = format!("twin{n}");
                    store.create_account(&a)
                })
            })
            .collect();
        let results: Vec<_> = tries.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(AccountError::Taken(_)))));
    }
}
