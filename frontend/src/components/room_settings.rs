//! The room's settings, for its owner, ops and server admins: a dialog
//! (`role=dialog`, labelled by its heading; Escape or "Close" closes it,
//! and the focus moves into it and back to "Room settings") with the
//! topic, the modes ("Signed-in members only", "Invite only"), an invite
//! by nickname, the members with their roles, and the modlog (asked for
//! with `modlog`). The server's refusals show in it as text.
//!
//! The requests go to the reducer as [`ModRequest`]s; what they changed
//! comes back as the room's own events, so the dialog only reads the
//! room's settings.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlInputElement};
use yew::prelude::*;

use super::dates::local_time;
use crate::state::{ModRequest, Rank, RoomView};

/// Props of [`RoomSettings`].
#[derive(Properties, PartialEq)]
pub struct RoomSettingsProps {
    /// The room (shared with the state).
    pub room: Rc<RoomView>,
    /// The reader's nickname.
    pub me: AttrValue,
    /// The reader's rank there.
    pub rank: Rank,
    /// A request (topic, modes, invite).
    pub on_request: Callback<ModRequest>,
    /// Ask for the modlog.
    pub on_modlog: Callback<()>,
    /// Close the dialog.
    pub on_close: Callback<()>,
}

fn value_of(input: &NodeRef) -> String {
    input
        .cast::<HtmlInputElement>()
        .map(|i| i.value())
        .unwrap_or_default()
}

/// Gives the focus back to the header's "Room settings" button, now and
/// once the dialog is gone.
fn refocus_opener() {
    focus_opener();
    gloo_timers::callback::Timeout::new(0, focus_opener).forget();
}

fn focus_opener() {
    let button = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector("[data-testid=room-settings]")
                .ok()
                .flatten()
        })
        .and_then(|e| e.dyn_into::<HtmlElement>().ok());
    if let Some(button) = button {
        let _ = button.focus();
    }
}

/// Tab from the dialog's last control goes to its first, Shift+Tab from
/// the first to the last: the focus stays in the (modal) dialog.
fn keep_focus_in(dialog: &NodeRef, e: &KeyboardEvent) {
    let Some(dialog) = dialog.cast::<web_sys::Element>() else {
        return;
    };
    let Ok(list) = dialog.query_selector_all("input, button:not([disabled])") else {
        return;
    };
    let controls: Vec<HtmlElement> = (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<HtmlElement>().ok())
        .collect();
    let (Some(first), Some(last)) = (controls.first(), controls.last()) else {
        return;
    };
    let active = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element());
    let at = |el: &HtmlElement| active.as_ref() == Some(el.unchecked_ref::<web_sys::Element>());
    let wrap_to = match (e.shift_key(), at(first), at(last)) {
        (true, true, _) => last,
        (false, _, true) => first,
        _ => return,
    };
    e.prevent_default();
    let _ = wrap_to.focus();
}

/// The settings dialog.
#[function_component(RoomSettings)]
pub fn room_settings(props: &RoomSettingsProps) -> Html {
    let (topic, invite) = (use_node_ref(), use_node_ref());
    {
        // The topic field is filled once, not bound: yew 0.23 would put a
        // bound value back on every render, over what the user types.
        let (topic, now) = (topic.clone(), props.room.settings.topic.clone());
        use_effect_with((), move |_| {
            if let Some(field) = topic.cast::<HtmlInputElement>() {
                field.set_value(&now.unwrap_or_default());
                let _ = field.focus();
            }
        });
    }
    let room = &props.room;
    let settings = &room.settings;
    // Closing gives the focus back to the opener.
    let close = props.on_close.reform(|_: MouseEvent| refocus_opener());
    let dialog = use_node_ref();
    let on_keydown = {
        let (on_close, dialog) = (props.on_close.clone(), dialog.clone());
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                e.prevent_default();
                e.stop_propagation();
                on_close.emit(());
                refocus_opener();
            } else if e.key() == "Tab" {
                keep_focus_in(&dialog, &e);
            }
        })
    };
    let save_topic = {
        let (topic, on_request) = (topic.clone(), props.on_request.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            on_request.emit(ModRequest::Topic(value_of(&topic)));
        })
    };
    let send_invite = {
        let (invite, on_request) = (invite.clone(), props.on_request.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let nick = value_of(&invite);
            if !nick.trim().is_empty() {
                on_request.emit(ModRequest::Invite(nick.trim().to_owned()));
                if let Some(field) = invite.cast::<HtmlInputElement>() {
                    field.set_value("");
                }
            }
        })
    };
    let modes = settings.modes;
    let set_mode = |accounts: bool| {
        let on_request = props.on_request.clone();
        Callback::from(move |e: Event| {
            let on = e.target_unchecked_into::<HtmlInputElement>().checked();
            on_request.emit(ModRequest::Modes {
                accounts_only: if accounts { on } else { modes.accounts_only },
                invite_only: if accounts { modes.invite_only } else { on },
            });
        })
    };
    let title = room.title();
    let member = |nick: &String| {
        let role = room.role_of(nick);
        let me = *nick == *props.me;
        html! {
            <li data-testid="settings-member" data-nick={nick.clone()}>
                <span class="member-name">{ nick.clone() }</span>
                if let Some(role) = role {
                    <span class="role-badge" data-role={role}>{ role }</span>
                }
                if me {
                    <span class="role-badge" data-role="you">
                        { if props.rank == Rank::Admin { "you (server admin)" } else { "you" } }
                    </span>
                }
                if room.is_muted_member(nick) {
                    <span class="role-badge muted-badge">{ "muted" }</span>
                }
            </li>
        }
    };
    let modlog = match &room.modlog {
        None => html! {},
        Some(entries) if entries.is_empty() => {
            html! { <p class="member-note" data-testid="settings-modlog-empty">{ "Nothing yet." }</p> }
        }
        Some(entries) => html! {
            <ol class="modlog" data-testid="settings-modlog">
                { for entries.iter().map(|entry| html! {
                    <li key={entry.seq} data-testid="modlog-entry">
                        <time class="modlog-time">{ local_time(entry.ts) }</time>{ " " }{ entry.text.clone() }
                    </li>
                }) }
            </ol>
        },
    };
    html! {
        <div class="dialog-backdrop">
            <div class="settings-dialog" role="dialog" aria-modal="true" aria-labelledby="settings-title"
                data-testid="settings-dialog" onkeydown={on_keydown} ref={dialog}>
                <div class="dialog-head">
                    <h2 id="settings-title">{ format!("Settings of {title}") }</h2>
                    <button type="button" class="link-button" data-testid="settings-close" onclick={close}>{ "Close" }</button>
                </div>
                if let Some(error) = &room.mod_error {
                    <p class="form-error" role="alert" data-testid="settings-error">{ error.clone() }</p>
                }
                <form class="settings-row" onsubmit={save_topic}>
                    <label for="settings-topic">{ "Topic" }</label>
                    <input id="settings-topic" type="text" data-testid="settings-topic" ref={topic.clone()}
                        maxlength="300" autocomplete="off" />
                    <button type="submit" data-testid="settings-topic-save">{ "Save topic" }</button>
                </form>
                <fieldset class="settings-modes">
                    <legend>{ "Who may join" }</legend>
                    <label>
                        <input type="checkbox" data-testid="mode-accounts-only" checked={modes.accounts_only}
                            onchange={set_mode(true)} />
                        { " Signed-in members only" }
                    </label>
                    <label>
                        <input type="checkbox" data-testid="mode-invite-only" checked={modes.invite_only}
                            onchange={set_mode(false)} />
                        { " Invite only" }
                    </label>
                </fieldset>
                <form class="settings-row" onsubmit={send_invite}>
                    <label for="settings-invite">{ "Invite by nickname" }</label>
                    <input id="settings-invite" type="text" data-testid="settings-invite" ref={invite}
                        autocomplete="off" />
                    <button type="submit" data-testid="settings-invite-submit">{ "Invite" }</button>
                </form>
                <section aria-labelledby="settings-members-title">
                    <h3 id="settings-members-title">{ format!("Members ({})", room.members.count) }</h3>
                    <ul class="settings-members" data-testid="settings-members">
                        { for room.members.known.iter().map(member) }
                    </ul>
                </section>
                <section aria-labelledby="settings-modlog-title">
                    <h3 id="settings-modlog-title">{ "Moderation log" }</h3>
                    <button type="button" data-testid="settings-modlog-load" disabled={room.mod_pending}
                        onclick={props.on_modlog.reform(|_: MouseEvent| ())}>
                        { if room.modlog.is_some() { "Refresh the log" } else { "Show the log" } }
                    </button>
                    { modlog }
                </section>
            </div>
        </div>
    }
}
