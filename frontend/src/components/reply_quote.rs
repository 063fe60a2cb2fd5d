//! The answered message above a reply: its author and first line (or
//! "message deleted"); a click goes to it, loading older pages if needed.

use std::collections::HashMap;

use yew::prelude::*;

use super::line_action::LineAction;
use crate::markdown::plain;
use crate::state::{ChatLine, Line, RoomView};

/// What a reply shows of the message it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteView {
    /// The answered message.
    pub seq: u64,
    /// Its author, if known.
    pub nick: Option<String>,
    /// Its first line.
    pub text: String,
    /// Whether it was deleted.
    pub deleted: bool,
}

/// What a reply shows of the message it answers (`seqs`: where each
/// message is in the room's lines): the message as loaded
/// (edits and deletion included), else the server's quote.
pub fn quote_view(
    room: &RoomView,
    line: &ChatLine,
    seqs: &HashMap<u64, usize>,
) -> Option<QuoteView> {
    let seq = line.reply_to?;
    let loaded = seqs.get(&seq).and_then(|&i| match &room.lines[i] {
        Line::Chat(c) => Some(c),
        Line::System { .. } => None,
    });
    Some(match loaded {
        Some(original) => QuoteView {
            seq,
            nick: Some(original.nick.clone()),
            text: parley_protocol::quote_of(original.shown_text()),
            deleted: original.is_deleted(),
        },
        None => QuoteView {
            seq,
            nick: line.quote.as_ref().map(|q| q.nick.clone()),
            deleted: line.quote.as_ref().is_some_and(|q| q.text.is_empty()),
            text: line
                .quote
                .as_ref()
                .map(|q| q.text.clone())
                .unwrap_or_default(),
        },
    })
}

/// Props of [`ReplyQuote`].
#[derive(Properties, PartialEq)]
pub struct ReplyQuoteProps {
    /// What to show.
    pub quote: QuoteView,
    /// Goes to the answered message.
    pub on_action: Callback<LineAction>,
}

/// The quote, as a button.
#[function_component(ReplyQuote)]
pub fn reply_quote(props: &ReplyQuoteProps) -> Html {
    let quote = &props.quote;
    let onclick = {
        let (on_action, seq) = (props.on_action.clone(), quote.seq);
        Callback::from(move |_: MouseEvent| on_action.emit(LineAction::Show(seq)))
    };
    let nick = quote.nick.clone().unwrap_or_else(|| "a message".into());
    let text = if quote.deleted {
        "message deleted".to_owned()
    } else {
        plain(&quote.text)
    };
    html! {
        <button type="button" class="reply-quote" data-testid="reply-quote" data-reply-to={quote.seq.to_string()}
            title="Show the message answered" {onclick}>
            <span class="reply-arrow" aria-hidden="true">{ "↪" }</span>
            <span class="visually-hidden">{ "In reply to " }</span>
            <span class="reply-nick">{ nick }</span>
            <span class="visually-hidden">{ ": " }</span>
            <span class={classes!("reply-text", quote.deleted.then_some("deleted"))}>{ text }</span>
        </button>
    }
}
