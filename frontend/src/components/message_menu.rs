//! A message's actions: a "⋯" button (shown on hover and keyboard focus;
//! a long press or a right click on the line opens it too) and its menu:
//! Reply, React (the emoji picker), and on one's own messages Edit and
//! Delete (which asks first). Escape closes it and gives the focus back to
//! the button; moving the focus out of it closes it too.

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, ScrollIntoViewOptions, ScrollLogicalPosition};
use yew::prelude::*;

use super::emoji_picker::EmojiPicker;
use super::line_action::LineAction;
use crate::hooks::{use_popup, Popup};

/// What the open menu shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Actions,
    Picker,
    Confirm,
}

/// Props of [`MessageMenu`].
#[derive(Properties, PartialEq)]
pub struct MessageMenuProps {
    /// The message.
    pub seq: u64,
    /// Whether it is the reader's (Delete).
    pub own: bool,
    /// Whether the reader may still edit it.
    pub can_edit: bool,
    /// Whether the menu is open.
    pub open: bool,
    /// Says whose message it is, for the button's label.
    pub label: AttrValue,
    /// Opens (`true`) or closes the menu.
    pub on_open: Callback<bool>,
    /// What was picked.
    pub on_action: Callback<LineAction>,
}

/// Focuses the menu's first button, and scrolls the whole menu into view.
fn focus_first(panel: &NodeRef) {
    let Some(panel) = panel.cast::<Element>() else {
        return;
    };
    let options = ScrollIntoViewOptions::new();
    options.set_block(ScrollLogicalPosition::Nearest);
    panel.scroll_into_view_with_scroll_into_view_options(&options);
    let first = panel
        .query_selector("button")
        .ok()
        .flatten()
        .and_then(|b| b.dyn_into::<HtmlElement>().ok());
    if let Some(first) = first {
        let _ = first.focus();
    }
}

/// The button and its menu.
#[function_component(MessageMenu)]
pub fn message_menu(props: &MessageMenuProps) -> Html {
    let view = use_state(|| View::Actions);
    let panel = use_node_ref();
    let Popup {
        trigger,
        wrap,
        close,
        toggle,
        on_focus_out,
    } = use_popup(props.open, props.on_open.clone());
    {
        let (view, panel) = (view.clone(), panel.clone());
        use_effect_with((props.open, *view), move |(open, shown)| {
            if !*open && *shown != View::Actions {
                view.set(View::Actions);
            } else if *open {
                focus_first(&panel);
            }
        });
    }
    let on_keydown = {
        let close = close.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                e.prevent_default();
                e.stop_propagation();
                close.emit(true);
            }
        })
    };
    let act = |action: LineAction| {
        let (on_action, close) = (props.on_action.clone(), close.clone());
        Callback::from(move |_: MouseEvent| {
            on_action.emit(action.clone());
            close.emit(false);
        })
    };
    let show = |next: View| {
        let view = view.clone();
        Callback::from(move |_: MouseEvent| view.set(next))
    };
    let seq = props.seq;
    let on_pick = {
        let (on_action, close) = (props.on_action.clone(), close.clone());
        Callback::from(move |emoji: String| {
            on_action.emit(LineAction::React(seq, emoji));
            close.emit(true);
        })
    };
    let body = match *view {
        View::Actions => html! {
            <>
                <button type="button" data-testid="action-reply" onclick={act(LineAction::Reply(seq))}>{ "Reply" }</button>
                <button type="button" data-testid="action-react" onclick={show(View::Picker)}>{ "React…" }</button>
                if props.can_edit {
                    <button type="button" data-testid="action-edit" onclick={act(LineAction::Edit(seq))}>{ "Edit" }</button>
                }
                if props.own {
                    <button type="button" class="danger" data-testid="action-delete" onclick={show(View::Confirm)}>{ "Delete…" }</button>
                }
            </>
        },
        View::Picker => html! { <EmojiPicker {on_pick} /> },
        View::Confirm => html! {
            <div class="confirm" role="group" aria-label="Delete this message?">
                <p class="confirm-text">{ "Delete this message? It cannot be undone." }</p>
                <button type="button" class="danger" data-testid="confirm-delete" onclick={act(LineAction::Delete(seq))}>{ "Delete" }</button>
                <button type="button" data-testid="cancel-delete" onclick={show(View::Actions)}>{ "Cancel" }</button>
            </div>
        },
    };
    html! {
        // Inside the message list's live region, but not news: not announced.
        <div class={classes!("msg-actions", props.open.then_some("open"))} ref={wrap} onfocusout={on_focus_out}
            aria-live="off">
            <button type="button" class="more" data-testid="message-actions" ref={trigger}
                aria-label={format!("Actions for {}", props.label)} aria-expanded={props.open.to_string()}
                onclick={toggle}>{ "⋯" }</button>
            if props.open {
                <div class="msg-menu" role="group" aria-label="Message actions" data-testid="message-menu"
                    ref={panel} onkeydown={on_keydown}>
                    { body }
                </div>
            }
        </div>
    }
}
