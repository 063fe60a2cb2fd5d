//! One line of the message list (a message or a system line, with the day
//! divider before it when the day changes), as its own component: the
//! answered message's quote, the author and time, the text (Markdown, or
//! "message deleted"), "(edited)", the delivery state, the reactions and
//! the actions menu (opened by its button, a long press or a right click).
//!
//! A component per line lets the list skip every line that did not change:
//! its props hold the line's shared `Rc` and compare by pointer first, so a
//! new message in a 5,000-line room draws one line, not 5,000 (each of which
//! would ask the browser for dates and times to format).

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use yew::prelude::*;

use super::dates::{day_label, day_of, full_time, local_time, Today};
use super::line_action::LineAction;
use super::markdown_view::MarkdownView;
use super::message_menu::MessageMenu;
use super::reaction_chips::ReactionChips;
use super::reply_quote::{QuoteView, ReplyQuote};
use crate::state::{ChatLine, Delivery, Line};
use crate::text::{avatar_class, avatar_letter};

/// How long a touch must rest on a line to open its menu.
const LONG_PRESS_MS: u32 = 500;

/// Props of [`MessageLine`].
#[derive(Properties, PartialEq)]
pub struct MessageLineProps {
    /// The line (a shared chat line compares by pointer first).
    pub line: Line,
    /// The line's key in the list (to open and close its menu).
    pub id: AttrValue,
    /// Whether it continues the previous line's author (see
    /// `RoomView::continues`); a new day starts a new block anyway.
    pub continues: bool,
    /// When the previous line was said (`None` for the first line): a day
    /// divider goes before this one when the day changes.
    pub prev_ts: Option<f64>,
    /// The day it is, for the divider's "Today" and "Yesterday".
    pub today: Today,
    /// The reader's nickname.
    pub me: AttrValue,
    /// The message it answers, as shown.
    pub quote: Option<QuoteView>,
    /// Whether the reader may edit it now.
    pub can_edit: bool,
    /// Whether its menu is open.
    pub menu_open: bool,
    /// Whether it is highlighted for a moment (it was gone to).
    pub flash: bool,
    /// What the reader does from it.
    pub on_action: Callback<LineAction>,
    /// Opens (`Some(id)`) or closes (`None` with the id) a line's menu.
    pub on_menu: Callback<(AttrValue, bool)>,
}

fn delivery(line: &ChatLine, on_action: &Callback<LineAction>) -> Html {
    match &line.delivery {
        Delivery::Pending if line.sent_on.is_none() => html! {
            <span class="msg-state">{ "waiting for the connection…" }</span>
        },
        Delivery::Pending => html! { <span class="msg-state">{ "sending…" }</span> },
        Delivery::Sent => html! {},
        Delivery::Failed(reason) => {
            let cid = line.cid.clone().unwrap_or_default();
            let on_action = on_action.clone();
            html! {
                <span class="msg-state failed">
                    { format!("not sent: {reason} ") }
                    <button type="button" class="link-button" data-testid="retry"
                        onclick={Callback::from(move |_: MouseEvent| on_action.emit(LineAction::Retry(cid.clone())))}>{ "Retry" }</button>
                </span>
            }
        }
    }
}

fn chat_line(props: &MessageLineProps, line: &ChatLine, continues: bool, touch: &Touch) -> Html {
    let state = match line.delivery {
        Delivery::Pending => "pending",
        Delivery::Sent => "sent",
        Delivery::Failed(_) => "failed",
    };
    let seq = line.seq.map(|s| s.to_string()).unwrap_or_default();
    let (iso, long) = full_time(line.ts);
    let deleted = line.is_deleted();
    let mention = line.mentions_me && !line.own && !deleted;
    let reactions = line.shown_reactions(&props.me);
    let open = |open: bool| {
        let (on_menu, id) = (props.on_menu.clone(), props.id.clone());
        move || on_menu.emit((id.clone(), open))
    };
    let menu = line
        .seq
        .filter(|_| !deleted && line.delivery == Delivery::Sent)
        .map(|seq| {
            let on_open = {
                let (on_menu, id) = (props.on_menu.clone(), props.id.clone());
                Callback::from(move |open: bool| on_menu.emit((id.clone(), open)))
            };
            let who = if line.own {
                "your message".to_owned()
            } else {
                format!("{}'s message", line.nick)
            };
            html! {
                <MessageMenu {seq} own={line.own} can_edit={props.can_edit} open={props.menu_open}
                    label={AttrValue::from(format!("{who} at {}", local_time(line.ts)))}
                    {on_open} on_action={props.on_action.clone()} />
            }
        });
    let on_context = {
        let open = open(true);
        let has_menu = menu.is_some();
        Callback::from(move |e: MouseEvent| {
            let on_link = e
                .target_dyn_into::<web_sys::Element>()
                .is_some_and(|t| t.closest("a").ok().flatten().is_some());
            if has_menu && !on_link {
                e.prevent_default();
                open();
            }
        })
    };
    let on_pointer_down = {
        let (touch, open) = (touch.clone(), open(true));
        let has_menu = menu.is_some();
        Callback::from(move |e: PointerEvent| {
            if has_menu && e.pointer_type() == "touch" {
                let open = open.clone();
                *touch.borrow_mut() = Some(Timeout::new(LONG_PRESS_MS, open));
            }
        })
    };
    let cancel_press = {
        let touch = touch.clone();
        Callback::from(move |_: PointerEvent| drop(touch.borrow_mut().take()))
    };
    html! {
        <li class={classes!("msg", line.own.then_some("own"), continues.then_some("cont"), state,
                mention.then_some("mention"), props.flash.then_some("flash"), deleted.then_some("deleted"),
                props.menu_open.then_some("menu-open"))}
            data-testid="message" data-seq={seq} data-state={state} data-own={line.own.to_string()}
            data-mention={mention.to_string()} data-deleted={deleted.to_string()}
            data-flash={props.flash.to_string()}
            oncontextmenu={on_context} onpointerdown={on_pointer_down} onpointerup={cancel_press.clone()}
            onpointercancel={cancel_press.clone()} onpointerleave={cancel_press}>
            if let Some(quote) = props.quote.clone() {
                <ReplyQuote {quote} on_action={props.on_action.clone()} />
            }
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
            if deleted {
                <div class="msg-body deleted-body" data-testid="deleted-body">{ "message deleted" }</div>
            } else {
                <div class="msg-body"><MarkdownView text={AttrValue::from(line.shown_text().to_owned())} /></div>
                if line.is_edited() {
                    <span class="edited" data-testid="edited">{ "(edited)" }</span>
                }
            }
            { delivery(line, &props.on_action) }
            if let (false, Some(seq)) = (reactions.is_empty(), line.seq) {
                <ReactionChips {seq} {reactions} me={props.me.clone()} on_action={props.on_action.clone()} />
            }
            { for menu }
        </li>
    }
}

/// A long press on its way.
type Touch = Rc<RefCell<Option<Timeout>>>;

/// One line, with a day divider before it when the day changes.
#[function_component(MessageLine)]
pub fn message_line(props: &MessageLineProps) -> Html {
    let touch: Touch = use_mut_ref(|| None);
    let ts = props.line.ts();
    // A divider where the day changes; a run never crosses it.
    let new_day = props.prev_ts.map(day_of) != Some(day_of(ts));
    let divider = new_day.then(|| {
        html! {
            <li class="day-divider"><span>{ day_label(ts, &props.today) }</span></li>
        }
    });
    let line = match &props.line {
        Line::Chat(chat) => chat_line(props, chat, props.continues && !new_day, &touch),
        Line::System { text, .. } => {
            html! { <li class="system" data-testid="system-line">{ text.clone() }</li> }
        }
    };
    html! { <>{ for divider }{ line }</> }
}
