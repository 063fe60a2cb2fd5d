//! [`AccountStore`] in memory, with the same rules as the SQLite one.

use std::collections::HashMap;

use super::MemoryStore;
use crate::store::accounts::{Account, AccountError, AccountStore, TokenRecord};
use crate::store::StoreError;

/// Accounts by name key, which key each look belongs to, and tokens.
#[derive(Debug, Default)]
pub(super) struct Accounts {
    by_key: HashMap<String, Account>,
    looks: HashMap<String, String>,
    tokens: HashMap<String, TokenRecord>,
}

impl MemoryStore {
    fn accounts(&self) -> std::sync::MutexGuard<'_, Accounts> {
        self.accounts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl AccountStore for MemoryStore {
    fn create_account(&self, account: &Account) -> Result<(), AccountError> {
        let mut accounts = self.accounts();
        if account.looks.iter().any(|l| accounts.looks.contains_key(l)) {
            return Err(AccountError::Taken(account.nick.clone()));
        }
        for look in &account.looks {
            accounts.looks.insert(look.clone(), account.key.clone());
        }
        accounts.by_key.insert(account.key.clone(), account.clone());
        Ok(())
    }

    fn account(&self, key: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.accounts().by_key.get(key).cloned())
    }

    fn account_looking_like(&self, looks: &[String]) -> Result<Option<Account>, StoreError> {
        let accounts = self.accounts();
        Ok(looks
            .iter()
            .find_map(|l| accounts.looks.get(l))
            .and_then(|key| accounts.by_key.get(key))
            .cloned())
    }

    fn reserved(&self) -> Result<Vec<(Vec<String>, String)>, StoreError> {
        Ok(self
            .accounts()
            .by_key
            .values()
            .map(|a| (a.looks.clone(), a.nick.clone()))
            .collect())
    }

    fn set_password(&self, key: &str, hash: &str, keep: Option<&str>) -> Result<(), AccountError> {
        let mut accounts = self.accounts();
        let account = accounts
            .by_key
            .get_mut(key)
            .ok_or(AccountError::NoSuchAccount)?;
        account.hash = hash.to_owned();
        accounts
            .tokens
            .retain(|digest, t| t.key != key || Some(digest.as_str()) == keep);
        Ok(())
    }

    fn set_admin(&self, key: &str, admin: bool) -> Result<(), AccountError> {
        let mut accounts = self.accounts();
        let account = accounts
            .by_key
            .get_mut(key)
            .ok_or(AccountError::NoSuchAccount)?;
        account.admin = admin;
        Ok(())
    }

    fn admins(&self) -> Result<Vec<String>, StoreError> {
        let mut admins: Vec<String> = self
            .accounts()
            .by_key
            .values()
            .filter(|a| a.admin)
            .map(|a| a.nick.clone())
            .collect();
        admins.sort();
        Ok(admins)
    }

    fn delete_account(&self, key: &str) -> Result<(), AccountError> {
        let mut accounts = self.accounts();
        accounts
            .by_key
            .remove(key)
            .ok_or(AccountError::NoSuchAccount)?;
        accounts.looks.retain(|_, k| k != key);
        accounts.tokens.retain(|_, t| t.key != key);
        Ok(())
    }

    fn add_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.accounts()
            .tokens
            .insert(token.digest.clone(), token.clone());
        Ok(())
    }

    fn token_account(&self, digest: &str, now_ms: u64) -> Result<Option<Account>, StoreError> {
        let accounts = self.accounts();
        Ok(accounts
            .tokens
            .get(digest)
            .filter(|t| t.expires_ms > now_ms)
            .and_then(|t| accounts.by_key.get(&t.key))
            .cloned())
    }

    fn revoke_token(&self, digest: &str) -> Result<(), StoreError> {
        self.accounts().tokens.remove(digest);
        Ok(())
    }

    fn prune_tokens(&self, now_ms: u64) -> Result<usize, StoreError> {
        let mut accounts = self.accounts();
        let before = accounts.tokens.len();
        accounts.tokens.retain(|_, t| t.expires_ms > now_ms);
        Ok(before - accounts.tokens.len())
    }
}
