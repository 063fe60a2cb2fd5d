//! `parley-backend admin`: names server admins in the database, for an
//! operator at the server's shell (`--admin NICK` does it per start
//! instead). Works beside a running server: SQLite lets a second process
//! write, and a server reads the flag at each sign-in.

use clap::{Args, Subcommand};

use crate::store::{AccountError, StoreError, Synchronous};

/// What to do.
#[derive(Debug, Clone, Subcommand)]
pub enum AdminAction {
    /// Makes the account NICK a server admin.
    Grant {
        /// The account's nickname.
        nick: String,
    },
    /// Makes the account NICK an ordinary account again.
    Revoke {
        /// The account's nickname.
        nick: String,
    },
    /// Lists the admins in the database.
    List,
}

/// `parley-backend admin`.
#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: AdminAction,
    /// The database, as for the server.
    #[arg(long, global = true, env = "PARLEY_DATABASE_URL", default_value = crate::config::DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No account has that nickname.
    #[error("no account is called {0:?}")]
    NoSuchAccount(String),
    /// The nickname breaks the rules.
    #[error(transparent)]
    InvalidNick(#[from] parley_protocol::ValidationError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs an admin command; returns what to print.
pub fn run(args: &AdminArgs) -> Result<String, AdminError> {
    let stores = crate::store::open(&args.database_url, Synchronous::Full, 1, 1)?;
    let set = |nick: &str, admin: bool| -> Result<String, AdminError> {
        let typed = parley_protocol::validate_nick(nick)?;
        let key = parley_protocol::name_key(&typed);
        let account = stores
            .accounts
            .account(&key)?
            .ok_or(AdminError::NoSuchAccount(typed))?;
        stores
            .accounts
            .set_admin(&key, admin)
            .map_err(|e| match e {
                AccountError::Store(e) => AdminError::Store(e),
                // Deleted meanwhile.
                _ => AdminError::NoSuchAccount(account.nick.clone()),
            })?;
        Ok(if admin {
            format!("{} is a server admin", account.nick)
        } else {
            format!("{} is no longer a server admin", account.nick)
        })
    };
    match &args.action {
        AdminAction::Grant { nick } => set(nick, true),
        AdminAction::Revoke { nick } => set(nick, false),
        AdminAction::List => {
            let admins = stores.accounts.admins()?;
            Ok(if admins.is_empty() {
                "no admins in the database".into()
            } else {
                admins.join("\n")
            })
        }
    }
}
