//! Where messages are written: Enter sends, Shift+Enter starts a new line,
//! and Enter that confirms an IME composition (Korean, Japanese, Chinese
//! input) never sends half a word.

use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

/// How close to the limit the character counter appears.
const COUNTER_FROM: u32 = 200;

/// Props of [`Composer`].
#[derive(Properties, PartialEq)]
pub struct ComposerProps {
    /// The room being written to (the draft is cleared when it changes).
    pub room: String,
    /// The longest message, in characters.
    pub max_chars: u32,
    /// Called with the text to send.
    pub on_send: Callback<String>,
    /// Called while the user types.
    pub on_typing: Callback<()>,
}

/// The message composer.
#[function_component(Composer)]
pub fn composer(props: &ComposerProps) -> Html {
    let draft = use_state(String::new);
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
            if let (false, Some(area)) = (touch, area.cast::<HtmlTextAreaElement>()) {
                let _ = area.focus();
            }
        });
    }
    let length = draft.trim().chars().count() as u32;
    let too_long = length > props.max_chars;
    let sendable = length > 0 && !too_long;

    let send = {
        let (draft, on_send, area) = (draft.clone(), props.on_send.clone(), area.clone());
        move || {
            let text = draft.trim().to_owned();
            if !text.is_empty() {
                on_send.emit(text);
                draft.set(String::new());
                if let Some(area) = area.cast::<HtmlTextAreaElement>() {
                    area.set_value("");
                    let _ = area.focus();
                }
            }
        }
    };
    let on_input = {
        let (draft, on_typing) = (draft.clone(), props.on_typing.clone());
        Callback::from(move |e: InputEvent| {
            let value = e.target_unchecked_into::<HtmlTextAreaElement>().value();
            // Deleting everything is not typing.
            if !value.trim().is_empty() {
                on_typing.emit(());
            }
            draft.set(value);
        })
    };
    let on_keydown = {
        let send = send.clone();
        Callback::from(move |e: KeyboardEvent| {
            // keyCode 229 is what browsers report for keys an IME is handling.
            if e.key() == "Enter" && !e.shift_key() && !e.is_composing() && e.key_code() != 229 {
                e.prevent_default();
                if sendable {
                    send();
                }
            }
        })
    };
    let on_submit = Callback::from(move |e: SubmitEvent| {
        e.prevent_default();
        if sendable {
            send();
        }
    });
    let remaining = props.max_chars as i64 - length as i64;
    html! {
        <form class="composer" onsubmit={on_submit}>
            <label for="composer" class="visually-hidden">{ format!("Message #{}", props.room) }</label>
            <textarea id="composer" data-testid="composer" rows="1" ref={area}
                placeholder={format!("Message #{}", props.room)}
                value={(*draft).clone()} oninput={on_input} onkeydown={on_keydown}
                aria-invalid={too_long.to_string()} />
            if remaining <= COUNTER_FROM as i64 {
                <span class={classes!("counter", too_long.then_some("over"))} data-testid="char-counter" aria-live="polite">
                    { remaining.to_string() }
                </span>
            }
            <button type="submit" data-testid="send-button" disabled={!sendable}>{ "Send" }</button>
        </form>
    }
}
