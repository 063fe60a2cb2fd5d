//! One line of the message list (a message or a system line, with the day
//! divider before it when the day changes), as its own component.
//!
//! A component per line lets the list skip every line that did not change:
//! its props hold the line's shared `Rc` and compare by pointer first, so a
//! new message in a 5,000-line room draws one line, not 5,000 (each of which
//! would ask the browser for dates and times to format).

use yew::prelude::*;

use crate::state::{ChatLine, Delivery, Line};
use crate::text::{avatar_class, avatar_letter, segments, Segment};

/// The reader's calendar day, as (year, month, day of the month).
pub type Day = (u32, u32, u32);

/// Today and yesterday where the reader is, for the day dividers' labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Today {
    /// Today.
    pub today: Day,
    /// Yesterday.
    pub yesterday: Day,
}

impl Today {
    /// As of now.
    pub fn now() -> Today {
        let now = js_sys::Date::now();
        Today {
            today: day_of(now),
            yesterday: day_of(now - 86_400_000.0),
        }
    }
}

/// Props of [`MessageLine`].
#[derive(Properties, PartialEq)]
pub struct MessageLineProps {
    /// The line (a shared chat line compares by pointer first).
    pub line: Line,
    /// Whether it continues the previous line's author (see
    /// `RoomView::continues`); a new day starts a new block anyway.
    pub continues: bool,
    /// When the previous line was said (`None` for the first line): a day
    /// divider goes before this one when the day changes.
    pub prev_ts: Option<f64>,
    /// The day it is, for the divider's "Today" and "Yesterday".
    pub today: Today,
    /// Retry a failed own message (by cid).
    pub on_retry: Callback<String>,
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
fn day_of(ts: f64) -> Day {
    let date = date(ts);
    (date.get_full_year(), date.get_month(), date.get_date())
}

/// "Today", "Yesterday", or "Monday, 24 November" in the reader's language.
fn day_label(ts: f64, today: &Today) -> String {
    if day_of(ts) == today.today {
        return "Today".into();
    }
    if day_of(ts) == today.yesterday {
        return "Yesterday".into();
    }
    let options = js_sys::Object::new();
    for (key, value) in [("weekday", "long"), ("month", "long"), ("day", "numeric")] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    if day_of(ts).0 != today.today.0 {
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

/// One line, with a day divider before it when the day changes.
#[function_component(MessageLine)]
pub fn message_line(props: &MessageLineProps) -> Html {
    let ts = props.line.ts();
    // A divider where the day changes; a run never crosses it.
    let new_day = props.prev_ts.map(day_of) != Some(day_of(ts));
    let divider = new_day.then(|| {
        html! {
            <li class="day-divider" role="presentation"><span>{ day_label(ts, &props.today) }</span></li>
        }
    });
    let line = match &props.line {
        Line::Chat(chat) => chat_line(chat, props.continues && !new_day, &props.on_retry),
        Line::System { text, .. } => {
            html! { <li class="system" data-testid="system-line">{ text.clone() }</li> }
        }
    };
    html! { <>{ for divider }{ line }</> }
}
