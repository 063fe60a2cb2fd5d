//! The app's one store: the [`State`], the [`Connection`] and the timers,
//! created once per page by [`ChatProvider`](super::ChatProvider).
//!
//! It runs [`reduce`] for each action, carries out the commands the reducer
//! returns (through the connection, or `localStorage`) and tells the
//! provider to re-render. The state lives in a `RefCell` rather than in
//! `use_reducer` so that the connection's tasks always act on the latest
//! state, not on the copy of an older render. It also tells the state when
//! the page is hidden or shown (`visibilitychange`), shows the browser
//! notifications the reducer asks for (a mention in a hidden page; a click
//! on one goes to the message), remembers the muted rooms, and asks
//! `/api/me` on load and the other account routes when the reducer says
//! (through `api.rs`). It is kept
//! apart from the provider so that the component only wires it into the
//! page.

use std::cell::{Cell, Ref, RefCell};
use std::rc::{Rc, Weak};

use gloo_storage::{LocalStorage, Storage};
use gloo_timers::callback::Interval;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::Callback;

use crate::api;
use crate::connection::{now, Connection};
use crate::state::{reduce, Action, Command, Delivery, Line, State};

/// Where the last nickname is remembered.
pub const NICK_KEY: &str = "parley.nick";
/// Where the muted rooms are remembered.
pub const MUTED_KEY: &str = "parley.muted";
/// The most characters of a message a notification shows.
const NOTIFICATION_CHARS: usize = 140;

/// The store itself; shared (`Rc`) by every [`ChatHandle`].
pub(crate) struct Store {
    state: RefCell<State>,
    connection: RefCell<Option<Connection>>,
    /// Counts changes, so a handle of a newer state differs from an older one.
    version: Cell<u64>,
    /// Re-renders the provider (and, through the context, every reader).
    on_change: Callback<()>,
}

impl Store {
    /// Creates the store, its connection and its timers; `on_change` is
    /// called after every action.
    pub(crate) fn start(on_change: Callback<()>) -> Rc<Store> {
        let mut state = State::new(cid_prefix());
        state.muted = LocalStorage::get::<Vec<String>>(MUTED_KEY).unwrap_or_default();
        let store = Rc::new(Store {
            state: RefCell::new(state),
            connection: RefCell::new(None),
            version: Cell::new(0),
            on_change,
        });
        let weak: Weak<Store> = Rc::downgrade(&store);
        let dispatch: Rc<dyn Fn(Action)> = Rc::new(move |action| {
            if let Some(store) = weak.upgrade() {
                store.handle().dispatch(action);
            }
        });
        *store.connection.borrow_mut() = Some(Connection::new(dispatch.clone()));
        // Is this browser signed in to an account (its cookie)?
        api::start_me(dispatch);
        let ticking = store.handle();
        Interval::new(1000, move || {
            if ticking.needs_tick() {
                ticking.dispatch(Action::Tick);
            }
        })
        .forget();
        // A hidden tab counts new messages in the shown room as unread.
        let visibility = store.handle();
        let on_visibility = Closure::<dyn Fn()>::new(move || {
            let hidden = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| d.hidden());
            visibility.dispatch(Action::Visible(!hidden));
        });
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            let _ = document.add_event_listener_with_callback(
                "visibilitychange",
                on_visibility.as_ref().unchecked_ref(),
            );
        }
        on_visibility.forget();
        store
    }

    /// A handle on the store as it is now.
    pub(crate) fn handle(self: &Rc<Self>) -> ChatHandle {
        ChatHandle {
            store: self.clone(),
            version: self.version.get(),
        }
    }
}

/// A handle on the store; cheap to clone. Two handles are equal when they
/// are on the same store at the same version, so a context holding one
/// tells its readers about every change.
#[derive(Clone)]
pub struct ChatHandle {
    store: Rc<Store>,
    version: u64,
}

impl PartialEq for ChatHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.store, &other.store) && self.version == other.version
    }
}

impl ChatHandle {
    /// The current state.
    pub fn state(&self) -> Ref<'_, State> {
        self.store.state.borrow()
    }

    /// Applies an action, carries out its commands, and re-renders.
    pub fn dispatch(&self, action: Action) {
        let commands = reduce(&mut self.store.state.borrow_mut(), action, now());
        for command in commands {
            self.run(command);
        }
        self.store.version.set(self.store.version.get() + 1);
        self.store.on_change.emit(());
    }

    /// An action callback for components.
    pub fn callback<T: 'static>(&self, make: impl Fn(T) -> Action + 'static) -> Callback<T> {
        let handle = self.clone();
        Callback::from(move |value| handle.dispatch(make(value)))
    }

    fn run(&self, command: Command) {
        let connection = self.store.connection.borrow().clone();
        let Some(connection) = connection else { return };
        match command {
            Command::Connect => connection.connect(),
            Command::Send(frame) => connection.send(&frame),
            Command::Disconnect => connection.disconnect(),
            Command::SaveNick(nick) => {
                let _ = LocalStorage::set(NICK_KEY, nick);
            }
            Command::SaveMuted(rooms) => {
                let _ = LocalStorage::set(MUTED_KEY, rooms);
            }
            Command::Notify {
                room,
                seq,
                nick,
                text,
            } => self.notify(room, seq, &nick, &text),
            Command::Register { nick, password } => {
                api::start_register(nick, password, self.dispatcher())
            }
            Command::Login { nick, password } => {
                api::start_login(nick, password, self.dispatcher())
            }
            Command::Logout => api::start_logout(),
        }
    }

    /// Dispatches actions later (an HTTP answer), for as long as the store lives.
    fn dispatcher(&self) -> api::Dispatch {
        let weak = Rc::downgrade(&self.store);
        Rc::new(move |action| {
            if let Some(store) = weak.upgrade() {
                store.handle().dispatch(action);
            }
        })
    }

    /// A browser notification for a mention, if the reader allowed them
    /// (the permission is asked for on a click, never on load). A click on
    /// it brings the tab forward and shows the message.
    fn notify(&self, room: String, seq: u64, nick: &str, text: &str) {
        use web_sys::{Notification, NotificationOptions, NotificationPermission};
        if Notification::permission() != NotificationPermission::Granted {
            return;
        }
        let body: String = match text.char_indices().nth(NOTIFICATION_CHARS) {
            Some((at, _)) => format!("{}…", &text[..at]),
            None => text.to_owned(),
        };
        let options = NotificationOptions::new();
        options.set_body(&body);
        options.set_tag(&format!("parley-{room}-{seq}"));
        let title = format!("{nick} in #{room}");
        let Ok(notification) = Notification::new_with_options(&title, &options) else {
            return;
        };
        let handle = self.clone();
        let on_click = Closure::once_into_js(move || {
            if let Some(window) = web_sys::window() {
                let _ = window.focus();
            }
            handle.dispatch(Action::JumpTo { room, seq });
        });
        notification.set_onclick(Some(on_click.unchecked_ref()));
    }

    /// Whether time alone can change something (typing expiry, ack timeouts).
    fn needs_tick(&self) -> bool {
        let state = self.state();
        state.rooms.iter().any(|r| {
            !r.typing.is_empty()
                || r.flash.is_some()
                || r.has_pending_changes()
                || r.lines
                    .iter()
                    .any(|l| matches!(l, Line::Chat(c) if c.delivery == Delivery::Pending))
        })
    }
}

/// A random prefix for this page's message ids.
fn cid_prefix() -> String {
    format!("{:x}", (js_sys::Math::random() * 1e12) as u64)
}
