//! The rooms this user has open, with unread counts (and, apart, how many
//! messages name the reader, unless the room is muted), a way to open
//! more, who the user is (with a way to sign out), and a way to turn on
//! notifications of mentions. Direct messages are listed apart, under
//! "Direct messages", by the other party's nickname.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::hooks::Permission;
use crate::text::{avatar_class, avatar_letter};

/// One room in the sidebar.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomTab {
    /// The room's name.
    pub name: String,
    /// Its unread messages.
    pub unread: u32,
    /// Its unread messages that name the reader.
    pub mentions: u32,
    /// Whether it is muted.
    pub muted: bool,
    /// For a direct message, what it is called ("@mina").
    pub dm: Option<String>,
}

/// One room's (or direct message's) button.
fn tab(room: &RoomTab, active: bool, on_select: &Callback<String>) -> Html {
    let onclick = {
        let (name, cb) = (room.name.clone(), on_select.clone());
        Callback::from(move |_: MouseEvent| cb.emit(name.clone()))
    };
    let (sigil, name) = match &room.dm {
        Some(title) => ("@", title.trim_start_matches('@').to_owned()),
        None => ("#", room.name.clone()),
    };
    html! {
        <li>
            <button type="button" class={classes!("room-tab", active.then_some("active"))}
                data-testid={if room.dm.is_some() { "dm-tab" } else { "room-tab" }}
                data-room={room.name.clone()} data-title={format!("{sigil}{name}")} data-active={active.to_string()}
                data-unread={room.unread.to_string()} data-mentions={room.mentions.to_string()}
                data-muted={room.muted.to_string()}
                aria-current={active.then_some("page")} {onclick}>
                <span class="hash">{ sigil }</span><span class="room-tab-name">{ name }</span>
                if room.muted {
                    <span class="muted-icon" aria-label="muted" title="Muted">{ "🔕" }</span>
                }
                if room.mentions > 0 && !room.muted {
                    <span class="badge mention-badge" data-testid="room-mentions"
                        aria-label={format!("{} mentioning you", room.mentions)}>
                        { format!("@{}", room.mentions.min(99)) }
                    </span>
                }
                if room.unread > 0 {
                    <span class="badge" data-testid="room-unread" aria-label={format!("{} unread", room.unread)}>
                        { if room.unread > 99 { "99+".to_owned() } else { room.unread.to_string() } }
                    </span>
                }
            </button>
        </li>
    }
}

/// Props of [`RoomSidebar`].
#[derive(Properties, PartialEq)]
pub struct RoomSidebarProps {
    /// The open rooms.
    pub rooms: Vec<RoomTab>,
    /// The room shown.
    pub active: Option<String>,
    /// This user's nickname.
    pub nick: String,
    /// Show a room.
    pub on_select: Callback<String>,
    /// Open (join) a room by name.
    pub on_open: Callback<String>,
    /// Leave every room and sign out.
    pub on_quit: Callback<()>,
    /// Whether the browser may show notifications.
    pub notify: Permission,
    /// Ask the browser for it.
    pub on_notify: Callback<()>,
}

/// The sidebar (a row of tabs on narrow screens).
#[function_component(RoomSidebar)]
pub fn room_sidebar(props: &RoomSidebarProps) -> Html {
    let input = use_node_ref();
    let on_submit = {
        let (input, on_open) = (input.clone(), props.on_open.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(field) = input.cast::<HtmlInputElement>() {
                let name = field.value();
                if !name.trim().is_empty() {
                    on_open.emit(name);
                    field.set_value("");
                }
            }
        })
    };
    html! {
        <nav class="sidebar" aria-label="Rooms">
            <div class="sidebar-head">
                <span class="brand small">{ "Parley" }</span>
            </div>
            <ul class={classes!("room-tabs", props.rooms.iter().any(|r| r.dm.is_some()).then_some("with-dms"))} aria-label="Rooms">
                { for props.rooms.iter().filter(|r| r.dm.is_none()).map(|room| {
                    tab(room, props.active.as_deref() == Some(room.name.as_str()), &props.on_select)
                }) }
            </ul>
            if props.rooms.iter().any(|r| r.dm.is_some()) {
                <h2 class="sidebar-title" id="dm-title">{ "Direct messages" }</h2>
                <ul class="room-tabs dm-tabs" aria-labelledby="dm-title" data-testid="dm-list">
                    { for props.rooms.iter().filter(|r| r.dm.is_some()).map(|room| {
                        tab(room, props.active.as_deref() == Some(room.name.as_str()), &props.on_select)
                    }) }
                </ul>
            }
            <form class="open-room" onsubmit={on_submit}>
                <label for="open-room" class="visually-hidden">{ "Join another room" }</label>
                <input id="open-room" data-testid="open-room-input" type="text" placeholder="Join a room…" ref={input} autocomplete="off" />
                <button type="submit" data-testid="open-room-submit" aria-label="Join room">{ "+" }</button>
            </form>
            if props.notify == Permission::Ask {
                <button type="button" class="notify-me" data-testid="enable-notifications"
                    onclick={props.on_notify.reform(|_: MouseEvent| ())}>
                    <span aria-hidden="true">{ "🔔" }</span>
                    <span class="notify-text">{ " Notify me of mentions" }</span>
                </button>
            }
            <div class="me">
                <span class={classes!("avatar", "small", avatar_class(&props.nick))} aria-hidden="true">
                    { avatar_letter(&props.nick) }
                </span>
                <span class="whoami" title={props.nick.clone()}>{ props.nick.clone() }</span>
                <button type="button" class="quit" data-testid="quit" title="Leave all rooms and sign out"
                    onclick={props.on_quit.reform(|_: MouseEvent| ())}>{ "Sign out" }</button>
            </div>
        </nav>
    }
}
