//! `use_chat`: the app's one store, shared by every component.
//!
//! It holds the [`State`], runs [`reduce`] for each action, carries out the
//! commands the reducer returns (through the [`Connection`], or
//! `localStorage`) and re-renders. The state lives in a `RefCell` rather
//! than in `use_reducer` so that the connection's tasks always act on the
//! latest state, not on the copy of an older render. It also tells the state
//! when the page is hidden or shown (`visibilitychange`).

use std::cell::{Ref, RefCell};
use std::rc::{Rc, Weak};

use gloo_storage::{LocalStorage, Storage};
use gloo_timers::callback::Interval;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::connection::{now, Connection};
use crate::state::{reduce, Action, Command, Delivery, Line, State};

/// Where the last nickname is remembered.
pub const NICK_KEY: &str = "parley.nick";

struct Store {
    state: RefCell<State>,
    connection: RefCell<Option<Connection>>,
    rerender: RefCell<Option<Callback<()>>>,
}

/// A handle on the store; cheap to clone, equal when it is the same store.
#[derive(Clone)]
pub struct ChatHandle(Rc<Store>);

impl PartialEq for ChatHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl ChatHandle {
    /// The current state.
    pub fn state(&self) -> Ref<'_, State> {
        self.0.state.borrow()
    }

    /// Applies an action, carries out its commands, and re-renders.
    pub fn dispatch(&self, action: Action) {
        let commands = reduce(&mut self.0.state.borrow_mut(), action, now());
        for command in commands {
            self.run(command);
        }
        if let Some(rerender) = self.0.rerender.borrow().clone() {
            rerender.emit(());
        }
    }

    /// An action callback for components.
    pub fn callback<T: 'static>(&self, make: impl Fn(T) -> Action + 'static) -> Callback<T> {
        let handle = self.clone();
        Callback::from(move |value| handle.dispatch(make(value)))
    }

    fn run(&self, command: Command) {
        let connection = self.0.connection.borrow().clone();
        let Some(connection) = connection else { return };
        match command {
            Command::Connect => connection.connect(),
            Command::Send(frame) => connection.send(&frame),
            Command::Disconnect => connection.disconnect(),
            Command::SaveNick(nick) => {
                let _ = LocalStorage::set(NICK_KEY, nick);
            }
        }
    }

    /// Whether time alone can change something (typing expiry, ack timeouts).
    fn needs_tick(&self) -> bool {
        let state = self.state();
        state.rooms.iter().any(|r| {
            !r.typing.is_empty()
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

/// The app's store; created once, re-rendering the calling component on change.
#[hook]
pub fn use_chat() -> ChatHandle {
    let update = use_force_update();
    let handle = use_memo((), |_| {
        let store = Rc::new(Store {
            state: RefCell::new(State::new(cid_prefix())),
            connection: RefCell::new(None),
            rerender: RefCell::new(None),
        });
        let weak: Weak<Store> = Rc::downgrade(&store);
        let dispatch: Rc<dyn Fn(Action)> = Rc::new(move |action| {
            if let Some(store) = weak.upgrade() {
                ChatHandle(store).dispatch(action);
            }
        });
        *store.connection.borrow_mut() = Some(Connection::new(dispatch));
        let handle = ChatHandle(store);
        let ticking = handle.clone();
        Interval::new(1000, move || {
            if ticking.needs_tick() {
                ticking.dispatch(Action::Tick);
            }
        })
        .forget();
        // A hidden tab counts new messages in the shown room as unread.
        let visibility = handle.clone();
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
        handle
    });
    *handle.0.rerender.borrow_mut() = Some(Callback::from(move |_| update.force_update()));
    (*handle).clone()
}
