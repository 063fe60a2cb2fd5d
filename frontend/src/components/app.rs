//! The app: the join screen or the chat, wired to the store: the rooms and
//! direct messages, the shown room (header, messages, members, composer,
//! and for its moderators the settings panel) and the search panel, with
//! the page's shortcuts.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::composer::{ComposeView, Composer};
use super::join_screen::JoinScreen;
use super::line_action::LineAction;
use super::member_list::MemberList;
use super::message_list::MessageList;
use super::room_header::RoomHeader;
use super::room_settings::RoomSettings;
use super::room_sidebar::{RoomSidebar, RoomTab};
use super::search_panel::SearchPanel;
use crate::hooks::{use_chat, use_notifications, use_shortcuts};
use crate::state::{Action, Compose, ModRequest, RoomView, Screen};

/// The room named in the address (`#/room/rust`), if any.
fn room_from_location() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let name = hash.strip_prefix("#/room/")?;
    let name = js_sys::decode_uri_component(name).ok()?.as_string()?;
    parley_protocol::validate_room(&name).ok()
}

fn set_location_room(room: &str) {
    if let Some(window) = web_sys::window() {
        let encoded = js_sys::encode_uri_component(room)
            .as_string()
            .unwrap_or_default();
        let _ = window.location().set_hash(&format!("/room/{encoded}"));
    }
}

/// "mina is typing…", "mina and joon are typing…", "several people are typing…".
fn typing_line(nicks: &[&str], crowd: bool) -> Option<String> {
    match nicks {
        _ if crowd => Some("several people are typing…".into()),
        [] => None,
        [one] => Some(format!("{one} is typing…")),
        [a, b] => Some(format!("{a} and {b} are typing…")),
        _ => Some("several people are typing…".into()),
    }
}

/// What the composer shows for the room's compose mode.
fn compose_view(room: &RoomView) -> ComposeView {
    match room.compose {
        Compose::New => ComposeView::New,
        Compose::Reply(seq) => room
            .line(seq)
            .map_or(ComposeView::New, |l| ComposeView::Reply {
                seq,
                nick: l.nick.clone(),
                text: crate::markdown::plain(&parley_protocol::quote_of(l.shown_text())),
            }),
        Compose::Edit(seq) => room
            .line(seq)
            .map_or(ComposeView::New, |l| ComposeView::Edit {
                seq,
                text: l.shown_text().to_owned(),
            }),
    }
}

/// Gives the focus to the element with this id, if it is on the page.
fn focus_id(id: &str) {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(element) = element {
        let _ = element.focus();
    }
}

/// The whole app.
#[function_component(App)]
pub fn app() -> Html {
    let chat = use_chat();
    let (notify, on_notify) = use_notifications();
    // Ctrl/Cmd+K or "/": the search (its field, if it is open).
    let open_search = {
        let chat = chat.clone();
        use_callback((), move |_: (), _| {
            let (chatting, open) = {
                let state = chat.state();
                (state.screen == Screen::Chat, state.search.is_some())
            };
            if open {
                focus_id("search-input");
            } else if chatting {
                chat.dispatch(Action::Search {
                    query: String::new(),
                    room: None,
                });
            }
        })
    };
    use_shortcuts(open_search.clone());
    let state = chat.state();

    let unread = state.unread_total();
    use_effect_with(unread, |unread| {
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(&if *unread > 0 {
                format!("({unread}) Parley")
            } else {
                "Parley".into()
            });
        }
    });
    // A room typed in the address bar (`#/room/rust`) while chatting opens it.
    {
        let chat = chat.clone();
        use_effect_with((), move |_| {
            let on_hash = Closure::<dyn Fn()>::new(move || {
                let chatting = chat.state().screen == Screen::Chat;
                if let (true, Some(room)) = (chatting, room_from_location()) {
                    chat.dispatch(Action::OpenRoom(room));
                }
            });
            let window = web_sys::window();
            if let Some(window) = &window {
                let _ = window.add_event_listener_with_callback(
                    "hashchange",
                    on_hash.as_ref().unchecked_ref(),
                );
            }
            let listener = (window, on_hash);
            move || {
                let (window, on_hash) = listener;
                if let Some(window) = window {
                    let _ = window.remove_event_listener_with_callback(
                        "hashchange",
                        on_hash.as_ref().unchecked_ref(),
                    );
                }
            }
        });
    }
    let active = state.active.clone();
    use_effect_with(active.clone(), |active| {
        if let Some(room) = active {
            set_location_room(room);
        }
    });
    // The message list's callbacks stay the same while the same room is
    // shown, so the list is not drawn again for what happens elsewhere.
    let on_action = {
        let chat = chat.clone();
        use_callback(active.clone(), move |action: LineAction, room| {
            let Some(room) = room.clone() else { return };
            chat.dispatch(match action {
                LineAction::Retry(cid) => Action::Retry { room, cid },
                LineAction::Reply(seq) => Action::StartReply { room, seq },
                LineAction::Edit(seq) => Action::StartEdit { room, seq },
                LineAction::Delete(seq) => Action::Delete { room, seq },
                LineAction::React(seq, emoji) => Action::React { room, seq, emoji },
                LineAction::Show(seq) => Action::JumpTo { room, seq },
            });
        })
    };
    let on_load_older = {
        let chat = chat.clone();
        use_callback(active, move |_: (), room| {
            if let Some(room) = room {
                chat.dispatch(Action::LoadOlder(room.clone()));
            }
        })
    };

    // A removal takes the focus to its notice (what had it may be gone).
    use_effect_with(state.removal.is_some(), |shown| {
        if *shown {
            focus_id("removed-notice");
        }
    });

    if state.screen == Screen::Join {
        let on_join = chat.callback(|(nick, room): (String, String)| Action::Start { nick, room });
        let on_sign_in = chat.callback(|(nick, password, room)| Action::SignIn {
            nick,
            password,
            room,
        });
        let on_register = chat.callback(|(nick, password, room)| Action::Register {
            nick,
            password,
            room,
        });
        let status = state.status;
        return html! {
            <JoinScreen
                initial_room={room_from_location().unwrap_or_else(|| parley_protocol::DEFAULT_ROOM.to_owned())}
                error={state.join_error.clone()}
                {status}
                account={state.account.clone()}
                {on_join}
                {on_sign_in}
                {on_register}
                on_continue={chat.callback(|room| Action::ContinueSignedIn { room })}
                on_forget={chat.callback(|_: ()| Action::ForgetAccount)}
                on_clear_error={chat.callback(|_: ()| Action::ClearAuthError)}
            />
        };
    }

    let tabs: Vec<RoomTab> = state
        .rooms
        .iter()
        .map(|r| RoomTab {
            name: r.name.clone(),
            unread: r.unread,
            mentions: r.mentions,
            muted: state.is_muted(&r.name),
            dm: r
                .is_dm()
                .then(|| r.settings.dm.clone().unwrap_or_else(|| "…".into())),
        })
        .collect();
    // Shared, not copied: the state keeps the room behind an `Rc`.
    let room = state
        .active
        .as_deref()
        .and_then(|name| state.shared_room(name))
        .cloned();
    let notice = state.notice.clone().map(|text| {
        let dismiss = chat.callback(|_: MouseEvent| Action::DismissNotice);
        html! {
            <div class="notice" role="alert" data-testid="notice">
                <span>{ text }</span>
                <button type="button" class="link-button" onclick={dismiss} aria-label="Dismiss">{ "✕" }</button>
            </div>
        }
    });
    let removal = state.removal.clone().map(|text| {
        let dismiss = chat.callback(|_: MouseEvent| Action::DismissRemoval);
        html! {
            <div class="notice removal" role="alert" data-testid="removed-notice" id="removed-notice" tabindex="-1">
                <span>{ text }</span>
                <button type="button" class="link-button" onclick={dismiss} aria-label="Dismiss">{ "✕" }</button>
            </div>
        }
    });
    let search = state.search.clone().map(|search| {
        html! {
            <SearchPanel {search} active={state.active.clone()}
                on_search={chat.callback(|(query, room): (String, Option<String>)| Action::Search { query, room })}
                on_more={chat.callback(|_: ()| Action::SearchMore)}
                on_close={chat.callback(|_: ()| Action::CloseSearch)}
                on_open={chat.callback(|(room, seq): (String, u64)| Action::JumpTo { room, seq })} />
        }
    });
    let me = AttrValue::from(state.nick.clone());
    let rank = room
        .as_ref()
        .map(|r| state.rank(&r.name))
        .unwrap_or(crate::state::Rank::Member);
    let settings = room
        .clone()
        .filter(|r| rank.moderates() && state.settings_open.as_deref() == Some(r.name.as_str()))
        .map(|room| {
            let name = room.name.clone();
            html! {
                <RoomSettings {room} me={me.clone()} {rank}
                    on_request={chat.callback(move |request: ModRequest| Action::Moderate { room: name.clone(), request })}
                    on_modlog={{ let name = state.active.clone().unwrap_or_default(); chat.callback(move |_: ()| Action::LoadModlog(name.clone())) }}
                    on_close={chat.callback(|_: ()| Action::ShowSettings(None))} />
            }
        });

    html! {
        <div class="chat">
            <RoomSidebar
                rooms={tabs}
                active={state.active.clone()}
                nick={state.nick.clone()}
                on_select={chat.callback(Action::SelectRoom)}
                on_open={chat.callback(Action::OpenRoom)}
                on_quit={chat.callback(|_: ()| Action::Quit)}
                {notify}
                {on_notify}
            />
            <main class="room">
                { for removal }
                if let Some(room) = room {
                    <RoomHeader title={room.title()} topic={room.settings.topic.clone()} members={room.members.count} status={state.status}
                        can_moderate={rank.moderates()}
                        on_settings={{ let name = room.name.clone(); chat.callback(move |_: ()| Action::ShowSettings(Some(name.clone()))) }}
                        muted={state.is_muted(&room.name)}
                        on_search={open_search.clone()}
                        on_mute={{ let name = room.name.clone(); chat.callback(move |_: ()| Action::ToggleMute(name.clone())) }}
                        on_leave={{ let name = room.name.clone(); chat.callback(move |_: ()| Action::LeaveRoom(name.clone())) }} />
                    { for notice }
                    <div class="room-body">
                        <MessageList room={room.clone()} me={me.clone()} edit_window_ms={state.limits.edit_window_ms}
                            {on_action} {on_load_older} />
                        <MemberList members={room.members.clone()} me={state.nick.clone()} signed_in={state.account.session}
                            on_search={{ let name = room.name.clone(); chat.callback(move |prefix: String| Action::SearchMembers { room: name.clone(), prefix }) }}
                            on_more={{ let name = room.name.clone(); chat.callback(move |_: ()| Action::MoreMembers(name.clone())) }}
                        owner={room.settings.owner.clone()} ops={room.settings.ops.clone()} muted={room.muted_nicks.clone()}
                        {rank} can_message={state.account.session && !room.is_dm()}
                        on_request={{ let name = room.name.clone(); chat.callback(move |request: ModRequest| Action::Moderate { room: name.clone(), request }) }}
                        on_message={chat.callback(Action::OpenDm)} />
                    </div>
                    <div class="typing" data-testid="typing-indicator" aria-live="polite">
                        { typing_line(&room.typing_nicks(), room.typing_crowd()).unwrap_or_default() }
                    </div>
                    <Composer
                        room={room.name.clone()}
                        title={room.title()}
                        muted={room.settings.muted}
                        max_chars={state.limits.max_text_chars}
                        compose={compose_view(&room)}
                        members={room.members.clone()}
                        on_send={{ let name = room.name.clone(); chat.callback(move |text: String| Action::Send { room: name.clone(), text }) }}
                        on_typing={{ let name = room.name.clone(); chat.callback(move |_: ()| Action::Typing(name.clone())) }}
                        on_edit_last={{ let name = room.name.clone(); chat.callback(move |_: ()| Action::EditLast(name.clone())) }}
                        on_cancel={{ let name = room.name.clone(); chat.callback(move |_: ()| Action::CancelCompose(name.clone())) }}
                        on_complete={{ let name = room.name.clone(); chat.callback(move |prefix: String| Action::CompleteMembers { room: name.clone(), prefix }) }}
                    />
                    { for settings }
                } else {
                    { for notice }
                    <div class="empty">{ "Open a room to start chatting." }</div>
                }
                { for search }
            </main>
        </div>
    }
}
