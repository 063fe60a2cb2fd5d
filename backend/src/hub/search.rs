//! Search: the messages of the rooms a session is in that have all of a
//! query's words, newest first, read from the store's full-text index
//! beside the connection (like any other store read).

use std::sync::Arc;

use parley_protocol::ServerFrame;

use super::{Hub, Reading};
use crate::error::HubError;
use crate::ids::Identity;
use crate::store::Search;

/// What a client asked to find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The words (see [`crate::store::query_words`]).
    pub words: Vec<String>,
    /// Only this room (which must be joined).
    pub room: Option<String>,
    /// Only this author.
    pub nick: Option<String>,
    /// Older hits than this cursor.
    pub before: Option<u64>,
    /// At most this many (capped at `--search-page-max`).
    pub limit: usize,
    /// Echoed in the answer.
    pub id: Option<String>,
}

impl Hub {
    /// Searches the rooms `who` is in (or one of them).
    pub fn search(
        self: &Arc<Self>,
        who: &Identity,
        query: Query,
    ) -> Result<Reading<ServerFrame>, HubError> {
        let joined = self.with_session(who, |s| Ok(s.rooms.iter().cloned().collect::<Vec<_>>()))?;
        let rooms = match query.room {
            Some(room) if joined.contains(&room) => vec![room],
            Some(room) => return Err(HubError::NotJoined(room)),
            None => joined,
        };
        let search = Search {
            words: query.words,
            rooms,
            nick: query.nick,
            before: query.before,
            limit: query.limit.clamp(1, self.limits.search_page_max),
        };
        let (hub, id) = (self.clone(), query.id);
        Ok(Box::pin(async move {
            let found = hub.read_store(move |store| store.search(&search)).await?;
            Ok(ServerFrame::SearchResults {
                id,
                hits: found.hits,
                more: found.next.is_some(),
                next: found.next,
            })
        }))
    }
}
