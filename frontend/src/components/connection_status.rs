//! The connection status: connecting, online, reconnecting in N s, offline.

use gloo_timers::callback::Interval;
use yew::prelude::*;

use crate::state::Status;

/// Props of [`ConnectionStatus`].
#[derive(Properties, PartialEq)]
pub struct ConnectionStatusProps {
    /// The connection's state.
    pub status: Status,
}

/// A small status pill; counts down while waiting to reconnect.
#[function_component(ConnectionStatus)]
pub fn connection_status(props: &ConnectionStatusProps) -> Html {
    // While counting down, re-render twice a second (the time is read below).
    let update = use_force_update();
    {
        let counting = matches!(props.status, Status::Reconnecting { .. });
        use_effect_with(counting, move |counting| {
            let timer = counting.then(|| Interval::new(500, move || update.force_update()));
            move || drop(timer)
        });
    }
    let now = js_sys::Date::now();
    let (key, text) = match props.status {
        Status::Idle => ("idle", "not connected".to_owned()),
        Status::Connecting => ("connecting", "connecting…".to_owned()),
        Status::Online => ("online", "online".to_owned()),
        Status::Reconnecting { at_ms } => {
            let secs = ((at_ms - now) / 1000.0).ceil().max(0.0);
            ("reconnecting", format!("reconnecting in {secs:.0} s"))
        }
        Status::Offline => ("offline", "offline".to_owned()),
    };
    html! {
        <span class={classes!("status", key)} data-testid="connection-status" data-status={key} role="status">
            <span class="dot" aria-hidden="true"></span>{ text }
        </span>
    }
}
