//! The shown room's header: its name (or "@nick" for a direct message),
//! its topic (as text), the member count, the connection status, and
//! buttons to search, mute (no notifications, no mention badge) and leave
//! it, and for its owner, ops and server admins "Room settings".

use yew::prelude::*;

use super::connection_status::ConnectionStatus;
use crate::state::Status;

/// Props of [`RoomHeader`].
#[derive(Properties, PartialEq)]
pub struct RoomHeaderProps {
    /// What the page calls it: "#rust", or "@mina" for a direct message.
    pub title: String,
    /// The topic, if one is set.
    pub topic: Option<String>,
    /// Whether the reader may change the settings ("Room settings").
    pub can_moderate: bool,
    /// Open the settings panel.
    pub on_settings: Callback<()>,
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
    let title = &props.title;
    let (sigil, name) = match title.chars().next() {
        Some(c @ ('#' | '@')) => title.split_at(c.len_utf8()),
        _ => ("", title.as_str()),
    };
    html! {
        <header class="room-header">
            <div class="room-title">
                <h1 id="room-title" data-testid="room-title"><span class="hash">{ sigil.to_owned() }</span>{ name.to_owned() }</h1>
                if let Some(topic) = &props.topic {
                    <p class="room-topic" data-testid="room-topic" title={topic.clone()}>{ topic.clone() }</p>
                }
            </div>
            <span class="member-count">{ format!("{} online", props.members) }</span>
            <ConnectionStatus status={props.status} />
            <span class="header-actions">
                if props.can_moderate {
                    <button type="button" class="header-button" data-testid="room-settings"
                        aria-haspopup="dialog" onclick={props.on_settings.reform(|_: MouseEvent| ())}>
                        { "Room settings" }
                    </button>
                }
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
                    aria-label={format!("Leave {title}")} onclick={props.on_leave.reform(|_: MouseEvent| ())}>
                    { "Leave" }
                </button>
            </span>
        </header>
    }
}
