//! The shown room's header: its name and member count, the connection
//! status, and buttons to search, mute (no notifications, no mention badge)
//! and leave it.

use yew::prelude::*;

use super::connection_status::ConnectionStatus;
use crate::state::Status;

/// Props of [`RoomHeader`].
#[derive(Properties, PartialEq)]
pub struct RoomHeaderProps {
    /// The room.
    pub room: String,
    /// How many members it has.
    pub members: u64,
    /// The connection.
    pub status: Status,
    /// Whether it is muted.
    pub muted: bool,
    /// Open the search.
    pub on_search: Callback<()>,
    /// Mute or unmute it.
    pub on_mute: Callback<()>,
    /// Leave it.
    pub on_leave: Callback<()>,
}

/// The header.
#[function_component(RoomHeader)]
pub fn room_header(props: &RoomHeaderProps) -> Html {
    let room = &props.room;
    html! {
        <header class="room-header">
            <h1><span class="hash">{ "#" }</span>{ room.clone() }</h1>
            <span class="member-count">{ format!("{} online", props.members) }</span>
            <ConnectionStatus status={props.status} />
            <span class="header-actions">
                <button type="button" class="header-button" data-testid="open-search"
                    title="Search messages (Ctrl+K or /)" aria-keyshortcuts="Control+K Meta+K /"
                    onclick={props.on_search.reform(|_: MouseEvent| ())}>{ "Search" }</button>
                <button type="button" class="header-button" data-testid="mute-room"
                    aria-pressed={props.muted.to_string()}
                    title={if props.muted { "Unmute: notify me when I am mentioned" } else { "Mute: no notifications or mention badge" }}
                    onclick={props.on_mute.reform(|_: MouseEvent| ())}>
                    { if props.muted { "Muted" } else { "Mute" } }
                </button>
                <button type="button" class="header-button leave" data-testid="leave-room"
                    aria-label={format!("Leave #{room}")} onclick={props.on_leave.reform(|_: MouseEvent| ())}>
                    { "Leave" }
                </button>
            </span>
        </header>
    }
}
