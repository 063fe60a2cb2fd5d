//! [`AccountStore`] on SQLite: accounts, their look-alike keys (unique, so
//! two look-alikes cannot both be registered, even by two servers racing),
//! and token digests. Writes take the writing connection between batches.

use rusqlite::{params, Connection, OptionalExtension};

use super::{column_u64, to_sql, SqliteStore};
use crate::store::accounts::{Account, AccountError, AccountStore, TokenRecord};
use crate::store::StoreError;

/// Version 5: accounts and sign-in tokens.
pub(super) const SCHEMA_V5: &str = "
    CREATE TABLE accounts (
        key        TEXT PRIMARY KEY,
        nick       TEXT NOT NULL,
        hash       TEXT NOT NULL,
        admin      INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE account_looks (
        look TEXT PRIMARY KEY,
        key  TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX account_looks_by_key ON account_looks (key);
    CREATE TABLE tokens (
        digest     TEXT PRIMARY KEY,
        key        TEXT NOT NULL,
        expires_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX tokens_by_key ON tokens (key);
";

/// The looks of the account `key`, in the order they were stored.
fn looks_of(conn: &Connection, key: &str) -> Result<Vec<String>, rusqlite::Error> {
    conn.prepare_cached("SELECT look FROM account_looks WHERE key = ?1 ORDER BY look")?
        .query_map([key], |r| r.get(0))?
        .collect()
}

fn account_by_key(conn: &Connection, key: &str) -> Result<Option<Account>, rusqlite::Error> {
    let row = conn
        .prepare_cached("SELECT nick, hash, admin, created_ms FROM accounts WHERE key = ?1")?
        .query_row([key], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                column_u64(r, 3)?,
            ))
        })
        .optional()?;
    let Some((nick, hash, admin, created_ms)) = row else {
        return Ok(None);
    };
    Ok(Some(Account {
        nick,
        key: key.to_owned(),
        looks: looks_of(conn, key)?,
        hash,
        admin,
        created_ms,
    }))
}

/// `Ok(())` if a row changed, else the account does not exist.
fn changed(rows: usize) -> Result<(), AccountError> {
    if rows == 0 {
        Err(AccountError::NoSuchAccount)
    } else {
        Ok(())
    }
}

impl AccountStore for SqliteStore {
    fn create_account(&self, account: &Account) -> Result<(), AccountError> {
        let mut writer = self.writer();
        let tx = writer.conn.transaction().map_err(StoreError::from)?;
        let taken = {
            let mut look_up = tx
                .prepare_cached("SELECT 1 FROM account_looks WHERE look = ?1")
                .map_err(StoreError::from)?;
            let mut taken = false;
            for look in &account.looks {
                taken |= look_up.exists([look]).map_err(StoreError::from)?;
            }
            taken
        };
        if taken {
            return Err(AccountError::Taken(account.nick.clone()));
        }
        tx.execute(
            "INSERT INTO accounts (key, nick, hash, admin, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                account.key,
                account.nick,
                account.hash,
                account.admin,
                to_sql(account.created_ms)
            ],
        )
        .map_err(StoreError::from)?;
        for look in &account.looks {
            tx.execute(
                "INSERT INTO account_looks (look, key) VALUES (?1, ?2)",
                params![look, account.key],
            )
            .map_err(StoreError::from)?;
        }
        tx.commit().map_err(StoreError::from)?;
        Ok(())
    }

    fn account(&self, key: &str) -> Result<Option<Account>, StoreError> {
        self.read(|conn| account_by_key(conn, key))
    }

    fn account_looking_like(&self, looks: &[String]) -> Result<Option<Account>, StoreError> {
        self.read(|conn| {
            for look in looks {
                let key: Option<String> = conn
                    .prepare_cached("SELECT key FROM account_looks WHERE look = ?1")?
                    .query_row([look], |r| r.get(0))
                    .optional()?;
                if let Some(key) = key {
                    return account_by_key(conn, &key);
                }
            }
            Ok(None)
        })
    }

    fn reserved(&self) -> Result<Vec<(Vec<String>, String)>, StoreError> {
        self.read(|conn| {
            let mut by_key: std::collections::BTreeMap<String, (Vec<String>, String)> = conn
                .prepare("SELECT key, nick FROM accounts")?
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .map(|row| row.map(|(key, nick)| (key, (Vec::new(), nick))))
                .collect::<Result<_, _>>()?;
            let looks = conn
                .prepare("SELECT look, key FROM account_looks")?
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            for (look, key) in looks {
                if let Some(entry) = by_key.get_mut(&key) {
                    entry.0.push(look);
                }
            }
            Ok(by_key.into_values().collect())
        })
    }

    fn set_password(&self, key: &str, hash: &str, keep: Option<&str>) -> Result<(), AccountError> {
        let mut writer = self.writer();
        let tx = writer.conn.transaction().map_err(StoreError::from)?;
        let rows = tx
            .execute(
                "UPDATE accounts SET hash = ?1 WHERE key = ?2",
                params![hash, key],
            )
            .map_err(StoreError::from)?;
        changed(rows)?;
        tx.execute(
            "DELETE FROM tokens WHERE key = ?1 AND digest IS NOT ?2",
            params![key, keep],
        )
        .map_err(StoreError::from)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(())
    }

    fn set_admin(&self, key: &str, admin: bool) -> Result<(), AccountError> {
        let rows = self
            .writer()
            .conn
            .execute(
                "UPDATE accounts SET admin = ?1 WHERE key = ?2",
                params![admin, key],
            )
            .map_err(StoreError::from)?;
        changed(rows)
    }

    fn admins(&self) -> Result<Vec<String>, StoreError> {
        self.read(|conn| {
            conn.prepare("SELECT nick FROM accounts WHERE admin ORDER BY nick")?
                .query_map([], |r| r.get(0))?
                .collect()
        })
    }

    fn delete_account(&self, key: &str) -> Result<(), AccountError> {
        let mut writer = self.writer();
        let tx = writer.conn.transaction().map_err(StoreError::from)?;
        let rows = tx
            .execute("DELETE FROM accounts WHERE key = ?1", [key])
            .map_err(StoreError::from)?;
        changed(rows)?;
        for table in ["account_looks", "tokens", "dms"] {
            tx.execute(&format!("DELETE FROM {table} WHERE key = ?1"), [key])
                .map_err(StoreError::from)?;
        }
        tx.commit().map_err(StoreError::from)?;
        Ok(())
    }

    fn add_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.writer().conn.execute(
            "INSERT INTO tokens (digest, key, expires_ms) VALUES (?1, ?2, ?3)",
            params![token.digest, token.key, to_sql(token.expires_ms)],
        )?;
        Ok(())
    }

    fn token_account(&self, digest: &str, now_ms: u64) -> Result<Option<Account>, StoreError> {
        self.read(|conn| {
            let key: Option<String> = conn
                .prepare_cached("SELECT key FROM tokens WHERE digest = ?1 AND expires_ms > ?2")?
                .query_row(params![digest, to_sql(now_ms)], |r| r.get(0))
                .optional()?;
            match key {
                Some(key) => account_by_key(conn, &key),
                None => Ok(None),
            }
        })
    }

    fn revoke_token(&self, digest: &str) -> Result<(), StoreError> {
        self.writer()
            .conn
            .execute("DELETE FROM tokens WHERE digest = ?1", [digest])?;
        Ok(())
    }

    fn prune_tokens(&self, now_ms: u64) -> Result<usize, StoreError> {
        Ok(self.writer().conn.execute(
            "DELETE FROM tokens WHERE expires_ms <= ?1",
            [to_sql(now_ms)],
        )?)
    }
}
