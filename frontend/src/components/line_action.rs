//! What the reader can do from a message line, as one value: the list
//! hands every line a single callback of [`LineAction`]s (stable while the
//! same room is shown), so adding an action never adds a prop to compare.

/// Something done from a message line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineAction {
    /// Send a failed own message again (by cid).
    Retry(String),
    /// Answer the message.
    Reply(u64),
    /// Edit one's own message.
    Edit(u64),
    /// Delete one's own message (already confirmed).
    Delete(u64),
    /// Toggle one's reaction.
    React(u64, String),
    /// Show a message (a reply's quote was clicked).
    Show(u64),
}
