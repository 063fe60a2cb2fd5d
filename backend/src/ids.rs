//! The identifiers every layer shares: which session, and which connection
//! of it.
//!
//! A leaf module: the hub, the rooms, the committer and the connection task
//! all name sessions, and keeping the names here means none of them has to
//! import another just for an id.

/// Identifies a session for as long as it lives (it outlives connections).
pub type SessionId = u64;

/// Who a connection speaks for after a successful `hello`: a session, and
/// which attachment of that session this connection is, so a connection that
/// was replaced by a resume cannot end or detach the session it lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The session.
    pub id: SessionId,
    /// The session's nickname.
    pub nick: String,
    /// Which attachment of the session this connection is (1 for the first).
    pub attachment: u64,
}

/// What the upgrade request said of the client a connection serves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The sign-in token of the browser's session cookie, if any.
    pub cookie: Option<String>,
    /// The client's address (behind a trusted proxy, the one it names): a
    /// guest's ban holds it.
    pub addr: Option<std::net::IpAddr>,
}
