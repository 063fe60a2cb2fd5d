//! Joining as a guest: a nickname and a room, checked as they are typed
//! with the same rules the server applies. One click ("Join as guest"),
//! as before accounts existed: an account is optional.

use gloo_storage::{LocalStorage, Storage};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::connection_status::ConnectionStatus;
use crate::hooks::NICK_KEY;
use crate::state::Status;

/// Props of [`GuestForm`].
#[derive(Properties, PartialEq)]
pub struct GuestFormProps {
    /// The room to suggest (from the address, or `general`).
    pub initial_room: String,
    /// Why the server refused the last attempt.
    pub error: Option<String>,
    /// The connection (a join is under way unless it is idle).
    pub status: Status,
    /// Called with (nickname, room) when the form is sent.
    pub on_join: Callback<(String, String)>,
}

/// The guest form.
#[function_component(GuestForm)]
pub fn guest_form(props: &GuestFormProps) -> Html {
    let nick = use_state(|| LocalStorage::get::<String>(NICK_KEY).unwrap_or_default());
    let room = use_state(|| props.initial_room.clone());
    let touched = use_state(|| false);

    let nick_error = parley_protocol::validate_nick(&nick)
        .err()
        .map(|e| e.to_string());
    let room_error = parley_protocol::validate_room(&room)
        .err()
        .map(|e| e.to_string());
    let valid = nick_error.is_none() && room_error.is_none();
    let connecting = props.status != Status::Idle;

    let on_nick = {
        let (nick, touched) = (nick.clone(), touched.clone());
        Callback::from(move |e: InputEvent| {
            nick.set(e.target_unchecked_into::<HtmlInputElement>().value());
            touched.set(true);
        })
    };
    let on_room = {
        let (room, touched) = (room.clone(), touched.clone());
        Callback::from(move |e: InputEvent| {
            room.set(e.target_unchecked_into::<HtmlInputElement>().value());
            touched.set(true);
        })
    };
    let on_submit = {
        let (nick, room, touched, on_join) = (
            nick.clone(),
            room.clone(),
            touched.clone(),
            props.on_join.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            touched.set(true);
            if parley_protocol::validate_nick(&nick).is_ok()
                && parley_protocol::validate_room(&room).is_ok()
            {
                on_join.emit(((*nick).clone(), (*room).clone()));
            }
        })
    };

    let show = |error: &Option<String>| if *touched { error.clone() } else { None };
    let nick_hint = show(&nick_error);
    let nick_refused = props.error.is_some() && nick_hint.is_none();
    let room_hint = show(&room_error);
    html! {
        <form class="join-form" onsubmit={on_submit} novalidate=true aria-label="Join as a guest">
            <label for="join-nick">{ "Nickname" }</label>
            <input id="join-nick" data-testid="join-nick" type="text" autocomplete="nickname" autofocus=true
                maxlength="64" value={(*nick).clone()} oninput={on_nick}
                aria-invalid={(nick_hint.is_some() || nick_refused).to_string()}
                aria-describedby={if nick_refused { "join-nick-hint join-error" } else { "join-nick-hint" }} />
            <div id="join-nick-hint" class="hint">{ nick_hint.unwrap_or_default() }</div>
            <label for="join-room">{ "Room" }</label>
            <input id="join-room" data-testid="join-room" type="text" autocomplete="off"
                maxlength="128" value={(*room).clone()} oninput={on_room}
                aria-invalid={room_hint.is_some().to_string()} aria-describedby="join-room-hint" />
            <div id="join-room-hint" class="hint">{ room_hint.unwrap_or_default() }</div>
            if let Some(error) = &props.error {
                <div class="error" role="alert" id="join-error" data-testid="join-error">{ error.clone() }</div>
            }
            <button type="submit" data-testid="join-submit" disabled={!valid || connecting}>
                { if connecting { "Joining…" } else { "Join as guest" } }
            </button>
            if matches!(props.status, Status::Reconnecting { .. } | Status::Offline) {
                <p class="join-status">
                    { "Cannot reach the server yet. " }
                    <ConnectionStatus status={props.status} />
                </p>
            }
        </form>
    }
}
