//! The JSON bodies of the account API (`/api/register`, `/api/login`,
//! `/api/logout`, `/api/password`, `/api/account`, `/api/me`), shared by
//! the server and the browser app. docs/protocol.md describes the routes.

use serde::{Deserialize, Serialize};

/// `POST /api/register` and `POST /api/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The nickname.
    pub nick: String,
    /// The password.
    pub password: String,
}

/// `POST /api/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChange {
    /// The password now.
    pub password: String,
    /// The one to use from now on.
    pub new_password: String,
}

/// `DELETE /api/account`: the password again, to be sure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The account's password.
    pub password: String,
}

/// The answer to `register` (201) and `GET /api/me` (200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The account's nickname.
    pub nick: String,
    /// Whether it is a server admin.
    #[serde(default)]
    pub admin: bool,
}

/// The answer to `login` (200): the token also goes in a cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// The account's nickname.
    pub nick: String,
    /// The token for `hello {token}` or `Authorization: Bearer`.
    pub token: String,
}

/// Why an account request failed (with its HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorCode {
    /// 400: the body is not the JSON the route takes.
    BadRequest,
    /// 400: the nickname breaks the rules.
    InvalidNick,
    /// 400: the new password is too short, too long or too easy to guess.
    WeakPassword,
    /// 409: the nickname (or one that looks like it) is registered or in use.
    NickTaken,
    /// 401: wrong nickname or password (which of the two is not said).
    BadCredentials,
    /// 401: no valid token or session cookie.
    Unauthorized,
    /// 403: the request came from a page of another site.
    Forbidden,
    /// 429: too many attempts; see `Retry-After`.
    TooManyAttempts,
    /// 503: the server is busy hashing passwords; try again.
    Busy,
    /// 500: the server failed.
    Internal,
}

/// The body of every failed account request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong, for programs.
    pub code: ApiErrorCode,
    /// What went wrong, for people.
    pub message: String,
}
