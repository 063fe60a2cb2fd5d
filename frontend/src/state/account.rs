//! Accounts, as the reducer sees them: what the browser knows of its
//! sign-in (from `GET /api/me` or a sign-in just made), the sign-in and
//! create-account forms' requests and their failures, and signing out.
//!
//! The HTTP calls themselves are browser glue (`api.rs`, run by the store
//! for [`Command::Register`], [`Command::Login`] and [`Command::Logout`]);
//! this file only decides what to ask for and turns the server's answers
//! into plain words next to the right field, so it is tested natively like
//! the rest of the reducer. The password is never kept in the state: it
//! goes straight from the form into the command.

use super::{user, Command, State};

/// The shortest password the server takes (it also refuses easy guesses,
/// and says why).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// What the app knows of the account.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Account {
    /// The account this browser is signed in to (its session cookie), as
    /// `GET /api/me` or the last sign-in said.
    pub signed_in_as: Option<String>,
    /// Whether `GET /api/me` has answered (until then the join screen does
    /// not offer to continue).
    pub checked: bool,
    /// The next `hello` names no nickname, so the server signs the
    /// connection in with the cookie the upgrade carries.
    pub use_cookie: bool,
    /// Whether the current session is an account's (the last `welcome`
    /// said `account: true`); else a guest.
    pub session: bool,
    /// A request to register or sign in is under way.
    pub busy: bool,
    /// Why the last one failed.
    pub error: Option<AuthError>,
    /// The room to join once signed in.
    pub room: String,
}

/// Which field of the account form an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthField {
    /// The nickname.
    Nick,
    /// The password.
    Password,
    /// The form as a whole (rate limits, a busy server, the network).
    Form,
}

/// A refused sign-in or registration, in plain words.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthError {
    /// Where to show it.
    pub field: AuthField,
    /// What to say.
    pub message: String,
}

/// What the server answered to a failed `/api/register` or `/api/login`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuthFailure {
    /// The HTTP status (0: the server could not be reached).
    pub status: u16,
    /// The error's `code` (e.g. `nick_taken`), empty if the body had none.
    pub code: String,
    /// The error's `message`.
    pub message: String,
    /// `Retry-After`, in seconds, if the answer had one.
    pub retry_after: Option<u64>,
}

/// `GET /api/me` answered: the nickname signed in, or nobody.
pub(super) fn me(state: &mut State, nick: Option<String>) {
    state.account.checked = true;
    state.account.signed_in_as = nick;
}

/// The sign-in form was sent: ask the server.
pub(super) fn sign_in(
    state: &mut State,
    nick: String,
    password: String,
    room: String,
    commands: &mut Vec<Command>,
) {
    if request(state, &nick, &password, room) {
        commands.push(Command::Login {
            nick: nick.trim().to_owned(),
            password,
        });
    }
}

/// The create-account form was sent: ask the server (the glue signs in
/// with the same password once the account exists).
pub(super) fn register(
    state: &mut State,
    nick: String,
    password: String,
    room: String,
    commands: &mut Vec<Command>,
) {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        state.account.error = Some(AuthError {
            field: AuthField::Password,
            message: format!("use at least {MIN_PASSWORD_CHARS} characters"),
        });
        return;
    }
    if request(state, &nick, &password, room) {
        commands.push(Command::Register {
            nick: nick.trim().to_owned(),
            password,
        });
    }
}

/// Checks a request before it goes out; false (with the reason shown) if
/// it should not, or if one is already under way.
fn request(state: &mut State, nick: &str, password: &str, room: String) -> bool {
    if state.account.busy {
        return false;
    }
    if let Err(err) = parley_protocol::validate_nick(nick) {
        state.account.error = Some(AuthError {
            field: AuthField::Nick,
            message: err.to_string(),
        });
        return false;
    }
    if password.is_empty() {
        state.account.error = Some(AuthError {
            field: AuthField::Password,
            message: "type your password".into(),
        });
        return false;
    }
    state.account.error = None;
    state.account.busy = true;
    state.account.room = room;
    true
}

/// The server signed the browser in (its cookie is set): connect as the
/// account and join the room the form named.
pub(super) fn signed_in(state: &mut State, nick: String, commands: &mut Vec<Command>) {
    state.account.busy = false;
    state.account.error = None;
    state.account.checked = true;
    state.account.signed_in_as = Some(nick.clone());
    let room = std::mem::take(&mut state.account.room);
    continue_as(state, nick, room, commands);
}

/// "Continue as …": connect with the cookie, as the account.
pub(super) fn continue_signed_in(state: &mut State, room: String, commands: &mut Vec<Command>) {
    if let Some(nick) = state.account.signed_in_as.clone() {
        continue_as(state, nick, room, commands);
    }
}

fn continue_as(state: &mut State, nick: String, room: String, commands: &mut Vec<Command>) {
    user::start(state, nick, room, commands);
    state.account.use_cookie = true;
}

/// A registration or sign-in failed: say why, next to the field it is about.
pub(super) fn failed(state: &mut State, failure: AuthFailure) {
    state.account.busy = false;
    state.account.error = Some(explain(&failure));
}

/// The server's answer in plain words, and the field it is about.
pub fn explain(failure: &AuthFailure) -> AuthError {
    let (field, message) = match failure.code.as_str() {
        "invalid_nick" => (AuthField::Nick, failure.message.clone()),
        "nick_taken" => (AuthField::Nick, "that nickname is taken".into()),
        "weak_password" => (AuthField::Password, failure.message.clone()),
        "bad_credentials" => (AuthField::Password, "wrong nickname or password".into()),
        "too_many_attempts" => (
            AuthField::Form,
            match failure.retry_after {
                Some(secs) => format!("too many attempts, try again in {secs} s"),
                None => "too many attempts, try again later".into(),
            },
        ),
        "busy" => (
            AuthField::Form,
            "the server is busy, try again in a moment".into(),
        ),
        _ if failure.status == 0 => (AuthField::Form, "cannot reach the server".into()),
        _ if !failure.message.is_empty() => (AuthField::Form, failure.message.clone()),
        _ => (
            AuthField::Form,
            format!("the server answered {}, try again", failure.status),
        ),
    };
    AuthError { field, message }
}

/// The join screen's "Sign out": the browser forgets the account.
pub(super) fn forget(state: &mut State, commands: &mut Vec<Command>) {
    if state.account.signed_in_as.take().is_some() || state.account.use_cookie {
        commands.push(Command::Logout);
    }
    state.account.use_cookie = false;
    state.account.session = false;
    state.account.error = None;
}

/// The cookie no longer signs in (`invalid_token` to a cookie `hello`):
/// back to the join screen, signed out.
pub(super) fn sign_in_ended(state: &mut State) {
    state.account.signed_in_as = None;
    state.account.use_cookie = false;
    state.account.session = false;
}
