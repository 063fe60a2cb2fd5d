//! The messages of a room: grouped by author, links clickable, every piece
//! of user text rendered as text (never as HTML). It sticks to the bottom
//! while the reader is there; a reader scrolled up keeps their place and
//! gets a "N new messages" button; reaching the top loads older messages
//! without moving what is on screen.

use std::rc::Rc;

use web_sys::Element;
use yew::prelude::*;

use crate::state::{ChatLine, Delivery, Line, RoomView};
use crate::text::{avatar_class, avatar_letter, segments, Segment};

/// Within this many pixels of the bottom counts as "at the bottom".
const BOTTOM_SLACK: i32 = 48;
/// Within this many pixels of the top asks for older messages.
const TOP_SLACK: i32 = 80;

/// Props of [`MessageList`].
#[derive(Properties)]
pub struct MessageListProps {
    /// The room shown, shared with the state (never copied for a render).
    pub room: Rc<RoomView>,
    /// Retry a failed own message (by cid).
    pub on_retry: Callback<String>,
    /// The reader reached the top.
    pub on_load_older: Callback<()>,
}

/// The same room (the same pointer: the state copies a room only to change
/// it) is equal without looking at its lines.
impl PartialEq for MessageListProps {
    fn eq(&self, other: &Self) -> bool {
        (Rc::ptr_eq(&self.room, &other.room) || self.room == other.room)
            && self.on_retry == other.on_retry
            && self.on_load_older == other.on_load_older
    }
}

fn date(ts: f64) -> js_sys::Date {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts))
}

/// "14:05", in the reader's time zone.
fn local_time(ts: f64) -> String {
    let date = date(ts);
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

/// The full date and time, for the tooltip and `datetime`.
fn full_time(ts: f64) -> (String, String) {
    let date = date(ts);
    (
        date.to_iso_string().into(),
        date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
            .into(),
    )
}

/// The reader's calendar day of `ts`.
fn day_of(ts: f64) -> (u32, u32, u32) {
    let date = date(ts);
    (date.get_full_year(), date.get_month(), date.get_date())
}

/// "Today", "Yesterday", or "Monday, 24 November" in the reader's language.
fn day_label(ts: f64) -> String {
    let now = js_sys::Date::now();
    if day_of(ts) == day_of(now) {
        return "Today".into();
    }
    if day_of(ts) == day_of(now - 86_400_000.0) {
        return "Yesterday".into();
    }
    let options = js_sys::Object::new();
    for (key, value) in [("weekday", "long"), ("month", "long"), ("day", "numeric")] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    if day_of(ts).0 != day_of(now).0 {
        let _ = js_sys::Reflect::set(&options, &"year".into(), &"numeric".into());
    }
    date(ts).to_locale_date_string("default", &options).into()
}

fn render_text(text: &str) -> Html {
    segments(text)
        .into_iter()
        .map(|segment| match segment {
            Segment::Text(text) => html! { { text.to_owned() } },
            Segment::Link(url) => html! {
                <a href={url.to_owned()} target="_blank" rel="noopener noreferrer">{ url.to_owned() }</a>
            },
        })
        .collect()
}

fn chat_line(line: &ChatLine, continues: bool, on_retry: &Callback<String>) -> Html {
    let state = match line.delivery {
        Delivery::Pending => "pending",
        Delivery::Sent => "sent",
        Delivery::Failed(_) => "failed",
    };
    let seq = line.seq.map(|s| s.to_string()).unwrap_or_default();
    let (iso, long) = full_time(line.ts);
    html! {
        <li class={classes!("msg", line.own.then_some("own"), continues.then_some("cont"), state)}
            data-testid="message" data-seq={seq} data-state={state} data-own={line.own.to_string()}>
            if continues {
                <time class="gutter-time" aria-hidden="true" datetime={iso} title={long}>{ local_time(line.ts) }</time>
            } else {
                <span class={classes!("avatar", avatar_class(&line.nick))} aria-hidden="true">
                    { avatar_letter(&line.nick) }
                </span>
                <div class="msg-head">
                    <span class="nick">{ line.nick.clone() }</span>
                    <time datetime={iso.clone()} title={long.clone()}>{ local_time(line.ts) }</time>
                </div>
            }
            <div class="msg-body">{ render_text(&line.text) }</div>
            { match &line.delivery {
                Delivery::Pending if line.sent_on.is_none() => html! {
                    <span class="msg-state">{ "waiting for the connection…" }</span>
                },
                Delivery::Pending => html! { <span class="msg-state">{ "sending…" }</span> },
                Delivery::Sent => html! {},
                Delivery::Failed(reason) => {
                    let cid = line.cid.clone().unwrap_or_default();
                    let on_retry = on_retry.clone();
                    html! {
                        <span class="msg-state failed">
                            { format!("not sent: {reason} ") }
                            <button type="button" class="link-button" data-testid="retry"
                                onclick={Callback::from(move |_: MouseEvent| on_retry.emit(cid.clone()))}>{ "Retry" }</button>
                        </span>
                    }
                }
            } }
        </li>
    }
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
    let mut last_day = None;
    html! {
        <div class="messages-wrap">
            <ol class="messages" ref={list} onscroll={on_scroll} data-testid="message-list"
                aria-live="polite" aria-label={format!("Messages in #{}", room.name)} tabindex="0">
                if room.loading_older {
                    <li class="loading">{ "Loading older messages…" }</li>
                } else if !room.more_before && !room.lines.is_empty() {
                    <li class="beginning">{ format!("This is the beginning of #{}.", room.name) }</li>
                }
                { for room.lines.iter().enumerate().map(|(i, line)| {
                    let ts = match line {
                        Line::Chat(chat) => chat.ts,
                        Line::System { ts, .. } => *ts,
                    };
                    // A divider where the day changes; a run never crosses it.
                    let day = day_of(ts);
                    let new_day = last_day.replace(day) != Some(day);
                    let divider = new_day.then(|| html! {
                        <li class="day-divider" role="presentation"><span>{ day_label(ts) }</span></li>
                    });
                    let line = match line {
                        Line::Chat(chat) => chat_line(chat, room.continues(i) && !new_day, &props.on_retry),
                        Line::System { text, .. } => html! { <li class="system" data-testid="system-line">{ text.clone() }</li> },
                    };
                    html! { <>{ for divider }{ line }</> }
                }) }
            </ol>
            if *unseen > 0 {
                <button type="button" class="new-messages" data-testid="new-messages" onclick={jump}>
                    { format!("{} new message{} ↓", *unseen, if *unseen == 1 { "" } else { "s" }) }
                </button>
            }
        </div>
    }
}
