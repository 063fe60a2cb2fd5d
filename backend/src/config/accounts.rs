//! The flags of accounts: who is an admin, how long a sign-in lasts, how
//! often one may try, how much password hashing may run at once.

use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use clap::Args;

use super::{positive_duration, Rate};

/// The rules the accounts enforce, from the flags.
#[derive(Debug, Clone)]
pub struct AccountRules {
    /// How long a sign-in lasts.
    pub token_ttl: Duration,
    /// Sign-in attempts per account.
    pub login_rate: Rate,
    /// Sign-in attempts per client address.
    pub login_rate_per_ip: Rate,
    /// Password hashes computed at once.
    pub hash_concurrency: usize,
    /// Nicknames that are server admins (`--admin`).
    pub admins: Vec<String>,
}

/// Account flags.
#[derive(Debug, Clone, Args)]
pub struct AccountFlags {
    /// A server admin's nickname (repeatable, or comma-separated): once
    /// signed in with that account, every right in every room.
    /// `parley-backend admin grant NICK` makes one admin in the database
    /// instead.
    #[arg(long = "admin", env = "PARLEY_ADMINS", value_delimiter = ',')]
    pub admins: Vec<String>,

    /// How long a sign-in (its token and cookie) lasts.
    #[arg(long, env = "PARLEY_TOKEN_TTL", default_value = "30days", value_parser = positive_duration)]
    pub token_ttl: Duration,

    /// Sign-in (and registration) attempts per account, e.g. `10/10min`;
    /// more get 429 with Retry-After.
    #[arg(long, env = "PARLEY_LOGIN_RATE", default_value = "10/10min")]
    pub login_rate: Rate,

    /// Sign-in and registration attempts per client address.
    #[arg(long, env = "PARLEY_LOGIN_RATE_PER_IP", default_value = "30/10min")]
    pub login_rate_per_ip: Rate,

    /// Password hashes computed at once (argon2id, 19 MiB and tens of ms
    /// each); a request that waits more than a second for one gets 503.
    #[arg(long, env = "PARLEY_HASH_CONCURRENCY", default_value_t = 2, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub hash_concurrency: usize,
}

impl AccountFlags {
    /// The rules the accounts enforce.
    pub fn rules(&self) -> AccountRules {
        AccountRules {
            token_ttl: self.token_ttl,
            login_rate: self.login_rate,
            login_rate_per_ip: self.login_rate_per_ip,
            hash_concurrency: self.hash_concurrency,
            admins: self.admins.clone(),
        }
    }
}
