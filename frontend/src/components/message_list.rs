//! The messages of a room: grouped by author, links clickable, every piece
//! of user text rendered as text or allowed Markdown elements (never as
//! HTML). It sticks to the bottom while the reader is there; a reader
//! scrolled up keeps their place and gets a "N new messages" button;
//! reaching the top loads older messages without moving what is on screen.
//! A message gone to (a reply's quote, a search hit) is scrolled into view
//! and flashed. At most one line's actions menu is open at a time.
//!
//! Each line is a [`MessageLine`] component, so a redraw of the list only
//! draws the lines that changed.

use std::collections::HashMap;
use std::rc::Rc;

use web_sys::{Element, ScrollIntoViewOptions, ScrollLogicalPosition};
use yew::prelude::*;

use super::dates::Today;
use super::line_action::LineAction;
use super::message_line::MessageLine;
use super::reply_quote::quote_view;
use crate::state::life::editable;
use crate::state::{Line, RoomView};

/// Within this many pixels of the bottom counts as "at the bottom".
const BOTTOM_SLACK: i32 = 48;
/// Within this many pixels of the top asks for older messages.
const TOP_SLACK: i32 = 80;

/// Props of [`MessageList`].
#[derive(Properties)]
pub struct MessageListProps {
    /// The room shown, shared with the state (never copied for a render).
    pub room: Rc<RoomView>,
    /// The reader's nickname.
    pub me: AttrValue,
    /// How long after sending a message may be edited (0: always).
    pub edit_window_ms: u64,
    /// What the reader does from a line.
    pub on_action: Callback<LineAction>,
    /// The reader reached the top.
    pub on_load_older: Callback<()>,
}

/// The same room (the same pointer: the state copies a room only to change
/// it) is equal without looking at its lines.
impl PartialEq for MessageListProps {
    fn eq(&self, other: &Self) -> bool {
        (Rc::ptr_eq(&self.room, &other.room) || self.room == other.room)
            && self.me == other.me
            && self.edit_window_ms == other.edit_window_ms
            && self.on_action == other.on_action
            && self.on_load_older == other.on_load_older
    }
}

/// Which line's menu is open (by key); a line closes only its own, so a
/// late "close" from one line never closes another's just opened.
#[derive(Default, PartialEq)]
struct OpenMenu(Option<AttrValue>);

impl Reducible for OpenMenu {
    type Action = (AttrValue, bool);

    fn reduce(self: Rc<Self>, (id, open): Self::Action) -> Rc<Self> {
        match (open, &self.0) {
            (true, _) => Rc::new(OpenMenu(Some(id))),
            (false, Some(current)) if *current == id => Rc::new(OpenMenu(None)),
            _ => self,
        }
    }
}

/// Keys that stay with their lines while lines are added before or after
/// them, one per line, all different.
///
/// Yew matches unkeyed children from the end, so without keys one new line
/// at the bottom would pair every old line with its neighbour's and redraw
/// them all. Own lines go by their `cid` (they get their `seq` only on the
/// `ack`), others' by `seq`, and system lines by the `seq` they follow and
/// how many system lines following that `seq` come before them (sorting
/// keeps their order).
fn line_keys(lines: &[Line]) -> Vec<String> {
    let mut system_lines = HashMap::new();
    lines
        .iter()
        .map(|line| match line {
            Line::Chat(chat) if chat.own && chat.cid.is_some() => {
                format!("o{}", chat.cid.as_deref().unwrap_or_default())
            }
            Line::Chat(chat) => format!("s{}", chat.seq.unwrap_or_default()),
            Line::System { after_seq, .. } => {
                let before = system_lines.entry(*after_seq).or_insert(0u32);
                *before += 1;
                format!("y{after_seq}.{}", *before - 1)
            }
        })
        .collect()
}

/// What the last render looked like, to decide how to scroll after this one.
#[derive(Default)]
struct Seen {
    room: String,
    first_seq: Option<u64>,
    lines: usize,
    scroll_height: i32,
    at_bottom: bool,
}

/// The message list.
#[function_component(MessageList)]
pub fn message_list(props: &MessageListProps) -> Html {
    let list = use_node_ref();
    let seen = use_mut_ref(|| Seen {
        at_bottom: true,
        ..Seen::default()
    });
    let unseen = use_state(|| 0usize);

    {
        let (list, seen, unseen) = (list.clone(), seen.clone(), unseen.clone());
        let (room, first_seq, lines) = (
            props.room.name.clone(),
            props.room.oldest_seq(),
            props.room.lines.len(),
        );
        let added = || {
            props
                .room
                .lines
                .iter()
                .rev()
                .take(lines.saturating_sub(seen.borrow().lines))
        };
        let new_chat_lines = added()
            .filter(|l| matches!(l, Line::Chat(c) if !c.own))
            .count();
        // The reader just sent something: show it, wherever they were.
        let sent_now = added().any(|l| matches!(l, Line::Chat(c) if c.own && c.seq.is_none()));
        let can_load = props.room.more_before && !props.room.loading_older;
        let load = props.on_load_older.clone();
        use_effect_with(
            (room, first_seq, lines, can_load),
            move |(room, first_seq, lines, can_load)| {
                if let Some(el) = list.cast::<Element>() {
                    let mut seen = seen.borrow_mut();
                    if seen.room != *room {
                        el.set_scroll_top(el.scroll_height());
                        seen.at_bottom = true;
                        if *unseen > 0 {
                            unseen.set(0);
                        }
                    } else if *first_seq < seen.first_seq && seen.first_seq.is_some() {
                        // Older messages were added above: keep what the reader sees in place.
                        el.set_scroll_top(
                            el.scroll_top() + el.scroll_height() - seen.scroll_height,
                        );
                    } else if *lines > seen.lines {
                        if seen.at_bottom || sent_now {
                            seen.at_bottom = true;
                            unseen.set(0);
                            el.set_scroll_top(el.scroll_height());
                        } else if new_chat_lines > 0 {
                            unseen.set(*unseen + new_chat_lines);
                        }
                    }
                    seen.room = room.clone();
                    seen.first_seq = *first_seq;
                    seen.lines = *lines;
                    seen.scroll_height = el.scroll_height();
                    // Too few messages to scroll: nothing would ever reach the
                    // top by scrolling, so fetch the older ones now.
                    if *can_load && el.scroll_height() <= el.client_height() + TOP_SLACK {
                        load.emit(());
                    }
                }
            },
        );
    }

    // A message gone to: into view (centred) once it is drawn.
    {
        let list = list.clone();
        use_effect_with(props.room.focus, move |focus| {
            let target = focus.and_then(|focus| {
                let el = list.cast::<Element>()?;
                el.query_selector(&format!("[data-seq=\"{}\"]", focus.seq))
                    .ok()
                    .flatten()
            });
            if let Some(target) = target {
                let options = ScrollIntoViewOptions::new();
                options.set_block(ScrollLogicalPosition::Center);
                target.scroll_into_view_with_scroll_into_view_options(&options);
            }
        });
    }
    let menu = use_reducer(OpenMenu::default);
    let on_menu = {
        let menu = menu.dispatcher();
        use_callback((), move |change: (AttrValue, bool), _| {
            menu.dispatch(change)
        })
    };

    let on_scroll = {
        let (list, seen, unseen, load) = (
            list.clone(),
            seen.clone(),
            unseen.clone(),
            props.on_load_older.clone(),
        );
        let can_load = props.room.more_before && !props.room.loading_older;
        Callback::from(move |_: Event| {
            if let Some(el) = list.cast::<Element>() {
                let at_bottom =
                    el.scroll_height() - el.scroll_top() - el.client_height() < BOTTOM_SLACK;
                let mut seen = seen.borrow_mut();
                seen.at_bottom = at_bottom;
                seen.scroll_height = el.scroll_height();
                if at_bottom && *unseen > 0 {
                    unseen.set(0);
                }
                if el.scroll_top() < TOP_SLACK && can_load {
                    load.emit(());
                }
            }
        })
    };
    let jump = {
        let (list, unseen) = (list.clone(), unseen.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(el) = list.cast::<Element>() {
                el.set_scroll_top(el.scroll_height());
            }
            unseen.set(0);
        })
    };

    let room = &props.room;
    let today = Today::now();
    let now = js_sys::Date::now();
    let seqs: HashMap<u64, usize> = if room
        .lines
        .iter()
        .any(|l| matches!(l, Line::Chat(c) if c.reply_to.is_some()))
    {
        room.lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| match l {
                Line::Chat(c) => c.seq.map(|s| (s, i)),
                Line::System { .. } => None,
            })
            .collect()
    } else {
        HashMap::new()
    };
    let flash = room.flash.map(|(seq, _)| seq);
    // The lines are one keyed list of their own (collected into one node):
    // Yew only diffs children by key when all of them are keyed, and the
    // list's other child (the "beginning" line) is not.
    let lines: Html = room
        .lines
        .iter()
        .zip(line_keys(&room.lines))
        .enumerate()
        .map(|(i, (line, key))| {
            let (quote, can_edit, flashed) = match line {
                Line::Chat(c) => (
                    quote_view(room, c, &seqs),
                    editable(c, props.edit_window_ms, now),
                    c.seq.is_some() && c.seq == flash,
                ),
                Line::System { .. } => (None, false, false),
            };
            let id = AttrValue::from(key.clone());
            html! {
                <MessageLine
                    {key}
                    menu_open={menu.0.as_ref() == Some(&id)}
                    {id}
                    line={line.clone()}
                    continues={room.continues(i)}
                    prev_ts={i.checked_sub(1).map(|p| room.lines[p].ts())}
                    {today}
                    me={props.me.clone()}
                    {quote}
                    {can_edit}
                    flash={flashed}
                    on_action={props.on_action.clone()}
                    on_menu={on_menu.clone()}
                />
            }
        })
        .collect();
    html! {
        <div class="messages-wrap">
            <ol class="messages" ref={list} onscroll={on_scroll} data-testid="message-list"
                aria-live="polite" aria-label={format!("Messages in #{}", room.name)} tabindex="0">
                if room.loading_older {
                    <li class="loading">{ "Loading older messages…" }</li>
                } else if !room.more_before && !room.lines.is_empty() {
                    <li class="beginning">{ if room.is_dm() { format!("This is the beginning of your conversation with {}.", room.title()) } else { format!("This is the beginning of {}.", room.title()) } }</li>
                }
                { lines }
            </ol>
            if *unseen > 0 {
                <button type="button" class="new-messages" data-testid="new-messages" onclick={jump}>
                    { format!("{} new message{} ↓", *unseen, if *unseen == 1 { "" } else { "s" }) }
                </button>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::rc::Rc;

    use super::line_keys;
    use crate::state::{ChatLine, Delivery, Line};

    fn chat(seq: Option<u64>, cid: &str, own: bool) -> Line {
        Line::Chat(Rc::new(ChatLine {
            seq,
            cid: Some(cid.into()),
            nick: "mina".into(),
            text: "hi".into(),
            ts: 0.0,
            own,
            delivery: Delivery::Sent,
            sent_on: None,
            sent_at: 0.0,
            ..ChatLine::default()
        }))
    }

    fn system(after_seq: u64) -> Line {
        Line::System {
            text: "joon joined".into(),
            ts: 0.0,
            after_seq,
        }
    }

    #[test]
    fn keys_are_unique_even_when_system_lines_are_apart() {
        // A presence, an own pending message, another presence: both system
        // lines follow seq 5 but are not next to each other.
        let lines = vec![
            chat(Some(5), "x-1", false),
            system(5),
            chat(None, "p-1", true),
            system(5),
        ];
        let keys = line_keys(&lines);
        assert_eq!(keys.iter().collect::<HashSet<_>>().len(), lines.len());
    }

    #[test]
    fn keys_stay_with_their_lines_when_one_is_added() {
        let mut lines = vec![
            chat(Some(1), "a", false),
            system(1),
            chat(None, "p-1", true),
        ];
        let before = line_keys(&lines);
        lines.push(chat(Some(2), "b", false));
        assert_eq!(line_keys(&lines)[..3], before[..]);
    }
}
