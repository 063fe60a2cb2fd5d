//! Whether the browser may show notifications, and a way to ask: the
//! permission is asked for only when the reader clicks (browsers ignore or
//! penalise asking on load), and the answer re-renders the caller. It is
//! read afresh at each render (the reader may change it in the browser's
//! settings meanwhile).

use wasm_bindgen_futures::JsFuture;
use web_sys::{Notification, NotificationPermission};
use yew::prelude::*;

/// The browser's answer so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Not asked yet.
    Ask,
    /// Allowed.
    Granted,
    /// Refused, or the browser has no notifications.
    Denied,
}

fn current() -> Permission {
    let supported = web_sys::window()
        .is_some_and(|w| js_sys::Reflect::has(&w, &"Notification".into()).unwrap_or(false));
    if !supported {
        return Permission::Denied;
    }
    match Notification::permission() {
        NotificationPermission::Granted => Permission::Granted,
        NotificationPermission::Default => Permission::Ask,
        _ => Permission::Denied,
    }
}

/// The permission, and a callback that asks for it (call it from a click).
#[hook]
pub fn use_notifications() -> (Permission, Callback<()>) {
    let update = use_force_update();
    let ask = use_callback((), move |_: (), _| {
        let update = update.clone();
        if let Ok(promise) = Notification::request_permission() {
            wasm_bindgen_futures::spawn_local(async move {
                let _ = JsFuture::from(promise).await;
                update.force_update();
            });
        }
    });
    (current(), ask)
}
