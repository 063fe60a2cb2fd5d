//! Searching the joined rooms: the question on its way, the hits shown,
//! and the next page.
//!
//! Each `search` carries an `id` of its own, and only the answer to the
//! latest one is shown, so a slow answer to an older query never replaces
//! a newer one. Hits are newest first; `more`/`next` page further back.

use parley_protocol::{ClientFrame, SearchHit};

use super::{Command, State};

/// Hits asked for per page.
pub const SEARCH_PAGE: u32 = 20;

/// The search panel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchView {
    /// The words searched for.
    pub query: String,
    /// Only this room, if any.
    pub room: Option<String>,
    /// The `id` of the question on its way (or last answered).
    pub id: String,
    /// The hits so far, newest first.
    pub hits: Vec<SearchHit>,
    /// Older hits exist.
    pub more: bool,
    /// Where the next page starts (`before`).
    pub next: Option<u64>,
    /// A page is on its way.
    pub loading: bool,
    /// Why the server refused the query.
    pub error: Option<String>,
}

/// Starts a search (an empty query just opens the panel, or clears it).
pub(super) fn search(
    state: &mut State,
    query: String,
    room: Option<String>,
    commands: &mut Vec<Command>,
) {
    let query = query.trim().to_owned();
    let mut view = SearchView {
        query: query.clone(),
        room: room.clone(),
        ..SearchView::default()
    };
    if query.is_empty() {
        state.search = Some(view);
        return;
    }
    match parley_protocol::validate_query(&query) {
        Ok(query) => {
            if state.online() {
                view.id = next_id(state);
                view.loading = true;
                commands.push(Command::Send(ClientFrame::Search {
                    query,
                    room,
                    nick: None,
                    before: None,
                    limit: Some(SEARCH_PAGE),
                    id: Some(view.id.clone()),
                }));
            } else {
                view.error = Some("Not connected: search when back online.".into());
            }
        }
        Err(err) => view.error = Some(err.to_string()),
    }
    state.search = Some(view);
}

/// Asks for the next (older) page of hits.
pub(super) fn more(state: &mut State, commands: &mut Vec<Command>) {
    let online = state.online();
    let id = next_id(state);
    let Some(view) = state.search.as_mut() else {
        return;
    };
    if !online || view.loading || !view.more {
        return;
    }
    view.id = id;
    view.loading = true;
    commands.push(Command::Send(ClientFrame::Search {
        query: view.query.clone(),
        room: view.room.clone(),
        nick: None,
        before: view.next,
        limit: Some(SEARCH_PAGE),
        id: Some(view.id.clone()),
    }));
}

/// An answer: shown if it answers the latest question.
pub(super) fn results(
    state: &mut State,
    id: Option<String>,
    hits: Vec<SearchHit>,
    more: bool,
    next: Option<u64>,
) {
    let Some(view) = state.search.as_mut() else {
        return;
    };
    if !view.loading || id.as_deref() != Some(view.id.as_str()) {
        return;
    }
    view.loading = false;
    view.error = None;
    for hit in hits {
        let known = view
            .hits
            .iter()
            .any(|h| h.room == hit.room && h.seq == hit.seq);
        if !known {
            view.hits.push(hit);
        }
    }
    view.more = more && next.is_some();
    view.next = next;
}

/// The server refused the query (`invalid_query`), or the socket closed
/// while a page was on its way.
pub(super) fn failed(state: &mut State, message: String) {
    if let Some(view) = state.search.as_mut().filter(|v| v.loading) {
        view.loading = false;
        view.error = Some(message);
    }
}

fn next_id(state: &mut State) -> String {
    state.next_search += 1;
    format!("q{}", state.next_search)
}
