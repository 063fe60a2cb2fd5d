//! [`AccountStore`] on PostgreSQL: accounts, their look-alike keys (a
//! primary key, so two look-alikes cannot both be registered, even by two
//! servers racing: the loser's insert fails and reads as "taken"), and
//! token digests. Writes use the writing connection between batches.

use postgres::error::SqlState;

use super::{from_sql, to_sql, PostgresStore, Tx};
use crate::store::accounts::{Account, AccountError, AccountStore, TokenRecord};
use crate::store::StoreError;

/// The looks of the account `key`, in byte order (as SQLite sorts them).
fn looks_of(tx: &mut Tx<'_>, key: &str) -> Result<Vec<String>, postgres::Error> {
    Ok(tx
        .query(
            "SELECT look FROM account_looks WHERE key = $1 ORDER BY look COLLATE \"C\"",
            &[&key],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

fn account_by_key(tx: &mut Tx<'_>, key: &str) -> Result<Option<Account>, postgres::Error> {
    let Some(row) = tx.query_opt(
        "SELECT nick, hash, admin, created_ms FROM accounts WHERE key = $1",
        &[&key],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(Account {
        nick: row.get(0),
        key: key.to_owned(),
        looks: looks_of(tx, key)?,
        hash: row.get(1),
        admin: row.get(2),
        created_ms: from_sql(row.get(3)),
    }))
}

/// `Ok(())` if a row changed, else the account does not exist.
fn changed(rows: u64) -> Result<(), AccountError> {
    if rows == 0 {
        Err(AccountError::NoSuchAccount)
    } else {
        Ok(())
    }
}

fn db(err: postgres::Error) -> AccountError {
    AccountError::Store(StoreError::from(err))
}

impl AccountStore for PostgresStore {
    fn create_account(&self, account: &Account) -> Result<(), AccountError> {
        let taken = || AccountError::Taken(account.nick.clone());
        self.write(|tx| {
            for look in &account.looks {
                if tx
                    .query_opt("SELECT 1 FROM account_looks WHERE look = $1", &[look])
                    .map_err(db)?
                    .is_some()
                {
                    return Err(taken());
                }
            }
            // Another server may register a look-alike meanwhile: the
            // unique keys then refuse this one.
            let unique = |err: postgres::Error| {
                if err.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                    taken()
                } else {
                    db(err)
                }
            };
            tx.execute(
                "INSERT INTO accounts (key, nick, hash, admin, created_ms) VALUES ($1, $2, $3, $4, $5)",
                &[
                    &account.key,
                    &account.nick,
                    &account.hash,
                    &account.admin,
                    &to_sql(account.created_ms),
                ],
            )
            .map_err(unique)?;
            for look in &account.looks {
                tx.execute(
                    "INSERT INTO account_looks (look, key) VALUES ($1, $2)",
                    &[look, &account.key],
                )
                .map_err(unique)?;
            }
            Ok(())
        })
    }

    fn account(&self, key: &str) -> Result<Option<Account>, StoreError> {
        self.read(|tx| account_by_key(tx, key))
    }

    fn account_looking_like(&self, looks: &[String]) -> Result<Option<Account>, StoreError> {
        self.read(|tx| {
            for look in looks {
                let key: Option<String> = tx
                    .query_opt("SELECT key FROM account_looks WHERE look = $1", &[look])?
                    .map(|r| r.get(0));
                if let Some(key) = key {
                    return account_by_key(tx, &key);
                }
            }
            Ok(None)
        })
    }

    fn reserved(&self) -> Result<Vec<(Vec<String>, String)>, StoreError> {
        self.read(|tx| {
            let mut by_key: std::collections::BTreeMap<String, (Vec<String>, String)> = tx
                .query("SELECT key, nick FROM accounts", &[])?
                .iter()
                .map(|r| (r.get(0), (Vec::new(), r.get(1))))
                .collect();
            for row in tx.query(
                "SELECT look, key FROM account_looks ORDER BY look COLLATE \"C\"",
                &[],
            )? {
                if let Some(entry) = by_key.get_mut(row.get::<_, &str>(1)) {
                    entry.0.push(row.get(0));
                }
            }
            Ok(by_key.into_values().collect())
        })
    }

    fn set_password(&self, key: &str, hash: &str, keep: Option<&str>) -> Result<(), AccountError> {
        self.write(|tx| {
            let rows = tx
                .execute(
                    "UPDATE accounts SET hash = $1 WHERE key = $2",
                    &[&hash, &key],
                )
                .map_err(db)?;
            changed(rows)?;
            tx.execute(
                "DELETE FROM tokens WHERE key = $1 AND digest IS DISTINCT FROM $2",
                &[&key, &keep],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn set_admin(&self, key: &str, admin: bool) -> Result<(), AccountError> {
        self.write(|tx| {
            let rows = tx
                .execute(
                    "UPDATE accounts SET admin = $1 WHERE key = $2",
                    &[&admin, &key],
                )
                .map_err(db)?;
            changed(rows)
        })
    }

    fn admins(&self) -> Result<Vec<String>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query(
                    "SELECT nick FROM accounts WHERE admin ORDER BY nick COLLATE \"C\"",
                    &[],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect())
        })
    }

    fn delete_account(&self, key: &str) -> Result<(), AccountError> {
        self.write(|tx| {
            let rows = tx
                .execute("DELETE FROM accounts WHERE key = $1", &[&key])
                .map_err(db)?;
            changed(rows)?;
            for table in ["account_looks", "tokens", "dms"] {
                tx.execute(&format!("DELETE FROM {table} WHERE key = $1"), &[&key])
                    .map_err(db)?;
            }
            Ok(())
        })
    }

    fn add_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO tokens (digest, key, expires_ms) VALUES ($1, $2, $3)",
                &[&token.digest, &token.key, &to_sql(token.expires_ms)],
            )?;
            Ok(())
        })
    }

    fn token_account(&self, digest: &str, now_ms: u64) -> Result<Option<Account>, StoreError> {
        self.read(|tx| {
            let key: Option<String> = tx
                .query_opt(
                    "SELECT key FROM tokens WHERE digest = $1 AND expires_ms > $2",
                    &[&digest, &to_sql(now_ms)],
                )?
                .map(|r| r.get(0));
            match key {
                Some(key) => account_by_key(tx, &key),
                None => Ok(None),
            }
        })
    }

    fn revoke_token(&self, digest: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM tokens WHERE digest = $1", &[&digest])?;
            Ok(())
        })
    }

    fn prune_tokens(&self, now_ms: u64) -> Result<usize, StoreError> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM tokens WHERE expires_ms <= $1",
                &[&to_sql(now_ms)],
            )? as usize)
        })
    }
}
