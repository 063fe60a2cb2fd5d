//! A button that opens a popup (a message's menu, a member's menu): what
//! every such pair needs, in one place, so they all close alike. Closing
//! can give the focus back to the button, the button toggles, and a focus
//! that settles outside the pair closes it (after the current event, since
//! one view of a popup replacing another moves the focus too).

use gloo_timers::callback::Timeout;
use web_sys::{Element, HtmlElement};
use yew::prelude::*;

/// The refs and callbacks of a button and its popup.
pub struct Popup {
    /// The button.
    pub trigger: NodeRef,
    /// The element holding the button and the popup.
    pub wrap: NodeRef,
    /// Closes the popup; `true` gives the focus back to the button.
    pub close: Callback<bool>,
    /// The button's click: opens or closes.
    pub toggle: Callback<MouseEvent>,
    /// The wrapper's `focusout`: closes when the focus has left it.
    pub on_focus_out: Callback<FocusEvent>,
}

/// A popup that is `open` and asks `on_open` to change that.
#[hook]
pub fn use_popup(open: bool, on_open: Callback<bool>) -> Popup {
    let (trigger, wrap) = (use_node_ref(), use_node_ref());
    let close = {
        let (on_open, trigger) = (on_open.clone(), trigger.clone());
        Callback::from(move |refocus: bool| {
            on_open.emit(false);
            if let (true, Some(button)) = (refocus, trigger.cast::<HtmlElement>()) {
                let _ = button.focus();
            }
        })
    };
    let toggle = {
        let on_open = on_open.clone();
        Callback::from(move |_: MouseEvent| on_open.emit(!open))
    };
    let on_focus_out = {
        let wrap = wrap.clone();
        Callback::from(move |_: FocusEvent| {
            let (wrap, on_open) = (wrap.clone(), on_open.clone());
            Timeout::new(0, move || {
                let active = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.active_element());
                let inside = active
                    .zip(wrap.cast::<Element>())
                    .is_some_and(|(active, wrap)| wrap.contains(Some(&active)));
                if open && !inside {
                    on_open.emit(false);
                }
            })
            .forget();
        })
    };
    Popup {
        trigger,
        wrap,
        close,
        toggle,
        on_focus_out,
    }
}
