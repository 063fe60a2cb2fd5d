//! The frames that change a room — `send`, `edit`, `delete`, `react` —
//! and `search`: their own validation (text, emoji, query), the `send`
//! rate they all count against, and the hub call. The answer to a change
//! (`ack` or `error`) comes once the committer has decided.

use parley_protocol::{
    validate_cid, validate_emoji, validate_query, validate_room, validate_text_with_limit,
    ClientFrame, ErrorCode, ServerFrame,
};

use super::{Client, Refusal};
use crate::budget::Kind;
use crate::hub::{Query, Reading};
use crate::ids::Identity;
use crate::metrics;
use crate::store::{query_words, Change};

/// Hits in one search page when the client does not say.
const DEFAULT_SEARCH_PAGE: usize = 20;

impl Client {
    /// Applies a `send`, `edit`, `delete` or `react`.
    pub(super) fn change(&mut self, who: &Identity, frame: ClientFrame) -> Result<(), Refusal> {
        let max_text = self.hub.limits().max_text_chars;
        let text = |raw: &str| validate_text_with_limit(raw, max_text);
        let (room, cid, change) = match frame {
            ClientFrame::Send {
                room,
                text: raw,
                cid,
                reply_to,
            } => (
                room,
                cid,
                text(&raw).map(|text| Change::Message {
                    text,
                    reply_to,
                    mentions: Vec::new(),
                }),
            ),
            ClientFrame::Edit {
                room,
                target,
                text: raw,
                cid,
            } => (
                room,
                cid,
                text(&raw).map(|text| Change::Edit {
                    target,
                    text,
                    mentions: Vec::new(),
                }),
            ),
            ClientFrame::Delete { room, target, cid } => (room, cid, Ok(Change::Delete { target })),
            ClientFrame::React {
                room,
                target,
                emoji,
                on,
                cid,
            } => (
                room,
                cid,
                validate_emoji(&emoji).map(|emoji| Change::React { target, emoji, on }),
            ),
            _ => unreachable!("only changes come here"),
        };
        validate_cid(&cid)?;
        let room = validate_room(&room).map_err(|e| Refusal::from(e).about(None, Some(&cid)))?;
        let about = |e: Refusal| e.about(Some(&room), Some(&cid));
        let change = change.map_err(|e| about(e.into()))?;
        if self.budget.take(Kind::Send, self.hub.limits()).is_err() {
            metrics::rate_limited();
            let limits = self.hub.limits();
            return Err(about(Refusal::new(
                ErrorCode::RateLimited,
                format!(
                    "too many messages and changes: at most {} at once, then {} per second",
                    limits.rate_burst, limits.rate_per_sec
                ),
            )));
        }
        // The ack (or an error) follows once the committer has decided.
        self.hub
            .submit(who, &room, change, cid.clone(), &self.outbox)
            .map_err(|e| about(e.into()))
    }

    /// Starts a `search`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn search(
        &mut self,
        who: &Identity,
        query: &str,
        room: Option<String>,
        nick: Option<String>,
        before: Option<u64>,
        limit: Option<u32>,
        id: Option<String>,
    ) -> Result<Reading<ServerFrame>, Refusal> {
        let words = query_words(&validate_query(query)?);
        if words.is_empty() {
            return Err(parley_protocol::ValidationError::BadQuery.into());
        }
        let room = room.map(|r| validate_room(&r)).transpose()?;
        let rate = self.hub.limits().search_rate;
        self.pace(Kind::Search, "searches", rate)?;
        let query = Query {
            words,
            room,
            nick,
            before,
            limit: limit.map_or(DEFAULT_SEARCH_PAGE, |l| l as usize),
            id,
        };
        self.hub.search(who, query).map_err(Refusal::from)
    }
}
