//! Where messages are written: Enter sends, Shift+Enter starts a new line,
//! and Enter that confirms an IME composition (Korean, Japanese, Chinese
//! input) never sends half a word. Up-arrow in an empty composer edits
//! one's last message; Escape cancels an edit or a reply. `@` opens a list
//! of the room's members to complete (the server is asked in a large room).
//! A reader muted in the room finds it disabled, with the reason beside it.

use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use super::mention_list::MentionList;
use crate::state::members::Members;
use crate::text::mention_at;

/// How close to the limit the character counter appears.
const COUNTER_FROM: u32 = 200;
/// The most names the completion offers.
const COMPLETIONS: usize = 8;

/// What the composer writes, as it shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposeView {
    /// A new message.
    New,
    /// An answer to a message (its author and first line).
    Reply {
        /// The message answered.
        seq: u64,
        /// Its author.
        nick: String,
        /// Its first line.
        text: String,
    },
    /// New text for one's own message.
    Edit {
        /// The message.
        seq: u64,
        /// Its text now.
        text: String,
    },
}

/// Props of [`Composer`].
#[derive(Properties, PartialEq)]
pub struct ComposerProps {
    /// The room being written to (the draft is cleared when it changes).
    pub room: String,
    /// What the page calls it ("#rust", "@mina").
    pub title: String,
    /// Whether the reader is muted there: nothing can be sent.
    #[prop_or_default]
    pub muted: bool,
    /// The longest message, in characters.
    pub max_chars: u32,
    /// A new message, a reply or an edit.
    pub compose: ComposeView,
    /// The room's members, for `@` completion.
    pub members: Members,
    /// Called with the text to send.
    pub on_send: Callback<String>,
    /// Called while the user types.
    pub on_typing: Callback<()>,
    /// Up-arrow in an empty composer.
    pub on_edit_last: Callback<()>,
    /// Escape during an edit or a reply.
    pub on_cancel: Callback<()>,
    /// `@` + a prefix is being completed.
    pub on_complete: Callback<String>,
}

/// A completion under way: where its `@` is, and what follows it.
#[derive(Debug, Clone, PartialEq)]
struct Completing {
    at: usize,
    prefix: String,
    selected: usize,
}

fn area_of(area: &NodeRef) -> Option<HtmlTextAreaElement> {
    area.cast::<HtmlTextAreaElement>()
}

/// The message composer.
#[function_component(Composer)]
pub fn composer(props: &ComposerProps) -> Html {
    let draft = use_state(String::new);
    let completing = use_state(|| None::<Completing>);
    let area = use_node_ref();
    {
        // A new room: an empty draft, and the caret in it (on devices with a
        // keyboard and mouse; on touch screens that would pop the keyboard up).
        let (draft, area) = (draft.clone(), area.clone());
        use_effect_with(props.room.clone(), move |_| {
            draft.set(String::new());
            let touch = web_sys::window()
                .and_then(|w| w.match_media("(pointer: coarse)").ok().flatten())
                .is_some_and(|q| q.matches());
            if let (false, Some(area)) = (touch, area_of(&area)) {
                let _ = area.focus();
            }
        });
    }
    {
        // An edit starts: the draft is the message's text; it ends: cleared.
        // A reply starts: the caret goes to the composer.
        let (draft, area) = (draft.clone(), area.clone());
        let editing = match &props.compose {
            ComposeView::Edit { seq, text } => Some((*seq, text.clone())),
            _ => None,
        };
        let replying = matches!(props.compose, ComposeView::Reply { .. });
        let was_editing = use_mut_ref(|| false);
        use_effect_with((editing, replying), move |(editing, replying)| {
            if let Some((_, text)) = editing {
                draft.set(text.clone());
                if let Some(area) = area_of(&area) {
                    area.set_value(text);
                    let end = text.encode_utf16().count() as u32;
                    let _ = area.set_selection_range(end, end);
                }
            } else if *was_editing.borrow() {
                draft.set(String::new());
            }
            *was_editing.borrow_mut() = editing.is_some();
            if editing.is_some() || *replying {
                if let Some(area) = area_of(&area) {
                    let _ = area.focus();
                }
            }
        });
    }
    let length = draft.trim().chars().count() as u32;
    let too_long = length > props.max_chars;
    let sendable = length > 0 && !too_long;
    let options = completing
        .as_ref()
        .map(|c| props.members.completions(&c.prefix, COMPLETIONS))
        .unwrap_or_default();

    let send = {
        let (draft, on_send, area) = (draft.clone(), props.on_send.clone(), area.clone());
        move || {
            let text = draft.trim().to_owned();
            if !text.is_empty() {
                on_send.emit(text);
                draft.set(String::new());
                if let Some(area) = area_of(&area) {
                    area.set_value("");
                    let _ = area.focus();
                }
            }
        }
    };
    let pick = {
        let (draft, area, completing) = (draft.clone(), area.clone(), completing.clone());
        Callback::from(move |nick: String| {
            let (Some(c), Some(field)) = ((*completing).clone(), area_of(&area)) else {
                return;
            };
            let value = field.value();
            let end = (c.at + 1 + c.prefix.len()).min(value.len());
            let inserted = format!("{}@{nick} ", &value[..c.at]);
            let caret = inserted.encode_utf16().count() as u32;
            let value = format!("{inserted}{}", &value[end..]);
            field.set_value(&value);
            let _ = field.set_selection_range(caret, caret);
            let _ = field.focus();
            draft.set(value);
            completing.set(None);
        })
    };
    let on_input = {
        let (draft, on_typing, completing, on_complete) = (
            draft.clone(),
            props.on_typing.clone(),
            completing.clone(),
            props.on_complete.clone(),
        );
        Callback::from(move |e: InputEvent| {
            let field = e.target_unchecked_into::<HtmlTextAreaElement>();
            let value = field.value();
            // Deleting everything is not typing.
            if !value.trim().is_empty() {
                on_typing.emit(());
            }
            let caret = field.selection_start().ok().flatten().unwrap_or(0);
            match mention_at(&value, caret) {
                Some((at, prefix)) => {
                    on_complete.emit(prefix.clone());
                    completing.set(Some(Completing {
                        at,
                        prefix,
                        selected: 0,
                    }));
                }
                None => completing.set(None),
            }
            draft.set(value);
        })
    };
    let on_keydown = {
        let send = send.clone();
        let (completing, pick, options) = (completing.clone(), pick.clone(), options.clone());
        let (draft, compose) = (draft.clone(), props.compose.clone());
        let (on_edit_last, on_cancel) = (props.on_edit_last.clone(), props.on_cancel.clone());
        Callback::from(move |e: KeyboardEvent| {
            // keyCode 229 is what browsers report for keys an IME is handling.
            let composing = e.is_composing() || e.key_code() == 229;
            if let (Some(c), false, false) = ((*completing).clone(), options.is_empty(), composing)
            {
                let n = options.len();
                let selected = match e.key().as_str() {
                    "ArrowDown" => Some((c.selected + 1) % n),
                    "ArrowUp" => Some((c.selected + n - 1) % n),
                    "Enter" | "Tab" => {
                        e.prevent_default();
                        pick.emit(options[c.selected.min(n - 1)].clone());
                        return;
                    }
                    "Escape" => {
                        e.prevent_default();
                        completing.set(None);
                        return;
                    }
                    _ => None,
                };
                if let Some(selected) = selected {
                    e.prevent_default();
                    completing.set(Some(Completing { selected, ..c }));
                    return;
                }
            }
            match e.key().as_str() {
                "Enter" if !e.shift_key() && !composing => {
                    e.prevent_default();
                    if sendable {
                        send();
                    }
                }
                "ArrowUp" if draft.is_empty() && !composing => {
                    e.prevent_default();
                    on_edit_last.emit(());
                }
                "Escape" if compose != ComposeView::New => {
                    e.prevent_default();
                    on_cancel.emit(());
                }
                _ => {}
            }
        })
    };
    let on_submit = Callback::from(move |e: SubmitEvent| {
        e.prevent_default();
        if sendable {
            send();
        }
    });
    let cancel = {
        let on_cancel = props.on_cancel.clone();
        Callback::from(move |_: MouseEvent| on_cancel.emit(()))
    };
    let remaining = props.max_chars as i64 - length as i64;
    let selected = completing
        .as_ref()
        .map_or(0, |c| c.selected.min(options.len().saturating_sub(1)));
    let listing = !options.is_empty();
    let bar = match &props.compose {
        ComposeView::New => None,
        ComposeView::Reply { nick, text, .. } => Some(html! {
            <>
                <span class="compose-what">{ "Replying to " }<strong>{ nick.clone() }</strong></span>
                <span class="compose-quote">{ text.clone() }</span>
                <button type="button" class="link-button" data-testid="cancel-compose" onclick={cancel.clone()}
                    aria-label="Cancel the reply">{ "Cancel" }</button>
            </>
        }),
        ComposeView::Edit { .. } => Some(html! {
            <>
                <span class="compose-what">{ "Editing your message (Escape to cancel)" }</span>
                <button type="button" class="link-button" data-testid="cancel-compose" onclick={cancel.clone()}
                    aria-label="Cancel the edit">{ "Cancel" }</button>
            </>
        }),
    };
    let editing = matches!(props.compose, ComposeView::Edit { .. });
    html! {
        <form class="composer" onsubmit={on_submit}>
            if let Some(bar) = bar {
                <div class="compose-bar" data-testid="compose-bar">{ bar }</div>
            }
            if listing {
                <MentionList options={options.clone()} {selected} on_pick={pick.clone()} />
            }
            if props.muted {
                <p class="muted-note" id="muted-note" data-testid="muted-note">
                    { format!("You are muted in {}: you can read, but not send.", props.title) }
                </p>
            }
            <div class="compose-row">
                <label for="composer" class="visually-hidden">{ format!("Message {}", props.title) }</label>
                <textarea id="composer" data-testid="composer" rows="1" ref={area}
                    placeholder={format!("Message {}", props.title)}
                    disabled={props.muted} aria-describedby={props.muted.then_some("muted-note")}
                    value={(*draft).clone()} oninput={on_input} onkeydown={on_keydown}
                    aria-autocomplete="list"
                    aria-controls={listing.then_some("mention-list")}
                    aria-activedescendant={listing.then(|| format!("mention-{selected}"))}
                    aria-invalid={too_long.to_string()} />
                if remaining <= COUNTER_FROM as i64 {
                    <span class={classes!("counter", too_long.then_some("over"))} data-testid="char-counter" aria-live="polite">
                        { remaining.to_string() }
                    </span>
                }
                <button type="submit" data-testid="send-button" disabled={!sendable || props.muted}>
                    { if editing { "Save" } else { "Send" } }
                </button>
            </div>
        </form>
    }
}
