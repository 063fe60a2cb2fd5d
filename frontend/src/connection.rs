//! The WebSocket to the server, kept alive.
//!
//! One task per socket owns the gloo-net `WebSocket`: it writes the frames
//! the app sends and turns everything the server sends into actions. Around
//! it: an application-level `ping` every 10 s (browsers cannot see WebSocket
//! pings, and gloo-net's `send` does not fail once the server is gone), a
//! dead-socket check (nothing heard for 20 s, or a socket that has not opened
//! in 20 s: closed with 4000), reconnection with exponential back-off and
//! jitter (capped at 30 s), the browser's `online` and `offline` events, and
//! a clean close (1000) when the page goes away (`pagehide`), reopened if the
//! page comes back from the back/forward cache (`pageshow`). What to say after a reconnect (`hello {resume}`,
//! `join {since}`, queued messages) is decided by the reducer, not here.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::mpsc;
use futures_util::future::{select, Either};
use futures_util::{SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message, State as SocketState};
use gloo_timers::callback::{Interval, Timeout};
use parley_protocol::close::{NORMAL as CLOSE_NORMAL, RECONNECTING as CLOSE_RECONNECTING};
use parley_protocol::{ClientFrame, ServerFrame};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::state::Action;

/// How often the app pings the server.
const PING_EVERY_MS: f64 = 10_000.0;
/// A socket that has said nothing for this long (two unanswered pings) is dead.
const DEAD_AFTER_MS: f64 = 20_000.0;
/// How often the watchdog looks at the socket.
const WATCH_EVERY_MS: u32 = 1_000;
/// The first reconnect delay; doubled on each failure.
const BACKOFF_START_MS: f64 = 500.0;
/// The longest reconnect delay.
const BACKOFF_CAP_MS: f64 = 30_000.0;

/// What the socket task is told.
enum Control {
    /// Send this frame.
    Send(String),
    /// Close with this code and end.
    Close(u16),
}

/// Shared between the connection handle, its socket tasks and its timers.
struct Inner {
    /// Where actions go.
    dispatch: Rc<dyn Fn(Action)>,
    /// The current socket's control channel.
    control: Option<mpsc::UnboundedSender<Control>>,
    /// Counts sockets, so a stale task cannot touch a newer socket's state.
    generation: u32,
    /// Failed attempts since the last `welcome`.
    failures: u32,
    /// When anything was last heard from the server (or the socket was opened).
    last_heard: f64,
    /// When the last `ping` went out.
    last_ping: f64,
    /// When the watchdog last ran (browsers hold timers back in hidden tabs).
    last_tick: f64,
    /// The page was hidden (`pagehide`) while connected: reopen on `pageshow`.
    hidden: bool,
    /// The pending reconnect, if any.
    retry: Option<Timeout>,
    /// The user left: do not reconnect.
    stopped: bool,
    /// The browser reported being offline.
    offline: bool,
}

/// The app's connection to the server.
#[derive(Clone)]
pub struct Connection {
    inner: Rc<RefCell<Inner>>,
}

/// Milliseconds since the epoch.
pub fn now() -> f64 {
    js_sys::Date::now()
}

/// `ws://host/ws` or `wss://host/ws` for the page's own origin.
fn socket_url() -> String {
    let location = gloo_utils_location();
    let secure = location.protocol().map(|p| p == "https:").unwrap_or(false);
    let host = location.host().unwrap_or_else(|_| "127.0.0.1:8080".into());
    format!("{}://{host}/ws", if secure { "wss" } else { "ws" })
}

fn gloo_utils_location() -> web_sys::Location {
    web_sys::window().expect("a window").location()
}

impl Connection {
    /// A connection that reports to `dispatch`; sets up the ping timer and
    /// the `online`/`offline` listeners (both live as long as the page).
    pub fn new(dispatch: Rc<dyn Fn(Action)>) -> Self {
        let connection = Connection {
            inner: Rc::new(RefCell::new(Inner {
                dispatch,
                control: None,
                generation: 0,
                failures: 0,
                last_heard: now(),
                last_ping: now(),
                last_tick: now(),
                hidden: false,
                retry: None,
                stopped: true,
                offline: web_sys::window().is_some_and(|w| !w.navigator().on_line()),
            })),
        };
        let watchdog = connection.clone();
        Interval::new(WATCH_EVERY_MS, move || watchdog.heartbeat()).forget();
        let listen = |event: &str, handler: fn(&Connection)| {
            let connection = connection.clone();
            let callback = Closure::<dyn FnMut()>::new(move || handler(&connection));
            if let Some(window) = web_sys::window() {
                let _ = window
                    .add_event_listener_with_callback(event, callback.as_ref().unchecked_ref());
            }
            callback.forget();
        };
        listen("online", Connection::browser_online);
        listen("offline", Connection::browser_offline);
        listen("pagehide", Connection::page_hidden);
        listen("pageshow", Connection::page_shown);
        connection
    }

    /// Opens a socket unless one is open or opening.
    pub fn connect(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.stopped = false;
        inner.retry = None;
        if inner.control.is_some() {
            return;
        }
        inner.generation += 1;
        let generation = inner.generation;
        let socket = match WebSocket::open(&socket_url()) {
            Ok(socket) => socket,
            Err(_) => {
                drop(inner);
                self.closed(generation);
                return;
            }
        };
        let (control, controls) = mpsc::unbounded();
        inner.control = Some(control);
        inner.last_heard = now();
        inner.last_ping = now();
        drop(inner);
        self.dispatch(Action::SocketOpening);
        wasm_bindgen_futures::spawn_local(self.clone().run_socket(socket, controls, generation));
    }

    /// Sends a frame if a socket is open (otherwise the reducer re-sends
    /// what matters after the next `welcome`).
    pub fn send(&self, frame: &ClientFrame) {
        if let Some(control) = &self.inner.borrow().control {
            let _ = control.unbounded_send(Control::Send(frame.to_json()));
        }
    }

    /// Closes the socket for good (the user left).
    pub fn disconnect(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.stopped = true;
        inner.retry = None;
        if let Some(control) = inner.control.take() {
            let _ = control.unbounded_send(Control::Close(CLOSE_NORMAL));
        }
    }

    async fn run_socket(
        self,
        mut socket: WebSocket,
        mut controls: mpsc::UnboundedReceiver<Control>,
        generation: u32,
    ) {
        // Wait until the socket is open (or failed to open), unless told to
        // give up first (the watchdog, the user leaving).
        let mut opened = std::pin::pin!(futures_util::future::poll_fn(|cx| {
            futures_util::Sink::<Message>::poll_ready(std::pin::Pin::new(&mut socket), cx)
        }));
        let gave_up = loop {
            match select(opened.as_mut(), controls.next()).await {
                Either::Left(_) => break None,
                // Nothing worth sending before `hello` (a ping): drop it.
                Either::Right((Some(Control::Send(_)), _)) => continue,
                Either::Right((Some(Control::Close(code)), _)) => break Some(code),
                Either::Right((None, _)) => break Some(CLOSE_RECONNECTING),
            }
        };
        if let Some(code) = gave_up {
            let _ = socket.close(Some(code), None);
            self.closed(generation);
            return;
        }
        if !matches!(socket.state(), SocketState::Open) {
            self.closed(generation);
            return;
        }
        self.dispatch(Action::SocketOpened);
        loop {
            let event = match select(controls.next(), socket.next()).await {
                Either::Left((control, _)) => Either::Left(control),
                Either::Right((message, _)) => Either::Right(message),
            };
            match event {
                Either::Left(Some(Control::Send(text))) => {
                    if socket.send(Message::Text(text)).await.is_err() {
                        break;
                    }
                }
                Either::Left(Some(Control::Close(code))) => {
                    let _ = socket.close(Some(code), None);
                    self.closed(generation);
                    return;
                }
                Either::Left(None) => break,
                Either::Right(Some(Ok(Message::Text(text)))) => {
                    self.inner.borrow_mut().last_heard = now();
                    match serde_json::from_str::<ServerFrame>(&text) {
                        Ok(frame) => {
                            if matches!(frame, ServerFrame::Welcome { .. }) {
                                self.inner.borrow_mut().failures = 0;
                            }
                            self.dispatch(Action::Frame(frame));
                        }
                        Err(err) => web_sys::console::warn_1(
                            &format!("unreadable frame from the server: {err}").into(),
                        ),
                    }
                }
                Either::Right(Some(Ok(Message::Bytes(_)))) => {}
                Either::Right(Some(Err(_)) | None) => break,
            }
        }
        self.closed(generation);
    }

    /// The socket of `generation` is gone: report it and plan the next try.
    fn closed(&self, generation: u32) {
        let mut inner = self.inner.borrow_mut();
        if inner.generation != generation {
            return;
        }
        inner.control = None;
        if inner.stopped {
            return;
        }
        let retry_at_ms = if inner.offline {
            None
        } else {
            let exponential =
                (BACKOFF_START_MS * 2f64.powi(inner.failures as i32)).min(BACKOFF_CAP_MS);
            let delay = exponential * (0.5 + js_sys::Math::random() * 0.5);
            inner.failures += 1;
            let again = self.clone();
            inner.retry = Some(Timeout::new(delay as u32, move || again.connect()));
            Some(now() + delay)
        };
        drop(inner);
        self.dispatch(Action::SocketClosed { retry_at_ms });
    }

    /// Every second: ping every 10 s, and give up on a socket that went
    /// silent for 20 s (or never opened).
    fn heartbeat(&self) {
        let mut inner = self.inner.borrow_mut();
        let now = now();
        let slept =
            now - std::mem::replace(&mut inner.last_tick, now) > 3.0 * WATCH_EVERY_MS as f64;
        let Some(control) = inner.control.clone() else {
            return;
        };
        if slept {
            // This timer was held back (a background tab, a sleeping laptop),
            // so our own pings were too: the silence proves nothing. Ping
            // now and give the server one ping interval to answer.
            inner.last_heard = inner.last_heard.max(now - DEAD_AFTER_MS + PING_EVERY_MS);
            inner.last_ping = now;
            let _ = control.unbounded_send(Control::Send(ClientFrame::Ping { id: None }.to_json()));
            return;
        }
        if now - inner.last_heard > DEAD_AFTER_MS {
            // Closed with 4000: the server keeps the session for the resume.
            inner.last_heard = now;
            drop(inner);
            let _ = control.unbounded_send(Control::Close(CLOSE_RECONNECTING));
            return;
        }
        if now - inner.last_ping >= PING_EVERY_MS {
            inner.last_ping = now;
            let _ = control.unbounded_send(Control::Send(ClientFrame::Ping { id: None }.to_json()));
        }
    }

    /// The page is going away (tab closed, navigated off, or put in the
    /// back/forward cache): say goodbye properly, so the others see the
    /// user leave at once.
    fn page_hidden(&self) {
        let was_on = !self.inner.borrow().stopped;
        if was_on {
            self.disconnect();
            self.inner.borrow_mut().hidden = true;
        }
    }

    /// The page came back from the back/forward cache: connect again.
    fn page_shown(&self) {
        let hidden = std::mem::take(&mut self.inner.borrow_mut().hidden);
        if hidden {
            self.connect();
        }
    }

    fn browser_online(&self) {
        let waiting = {
            let mut inner = self.inner.borrow_mut();
            inner.offline = false;
            inner.failures = 0;
            !inner.stopped && inner.control.is_none()
        };
        if waiting {
            self.connect();
        }
    }

    fn browser_offline(&self) {
        let control = {
            let mut inner = self.inner.borrow_mut();
            inner.offline = true;
            inner.retry = None;
            inner.control.clone()
        };
        if let Some(control) = control {
            let _ = control.unbounded_send(Control::Close(CLOSE_RECONNECTING));
        }
    }

    fn dispatch(&self, action: Action) {
        let dispatch = self.inner.borrow().dispatch.clone();
        dispatch(action);
    }
}
