//! A member's menu in the member list: the member's name is a button
//! (`aria-haspopup=menu`) opening a menu of what the reader may do to
//! them: "Message" (a direct message, when the reader is signed in), and
//! for moderators above them Kick…, Ban… (each asks for an optional reason
//! in a small form, not a browser prompt), Mute or Unmute, and for the
//! owner and server admins Make op or Remove op.
//!
//! It follows the WAI-ARIA menu button pattern: the first item takes the
//! focus, Up/Down (and Home/End) move it, Escape closes and gives the
//! focus back to the button, and leaving the menu closes it.

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlInputElement};
use yew::prelude::*;

use crate::hooks::{use_popup, Popup};
use crate::state::ModRequest;

/// What the member's menu offers, as the reader's rank and theirs allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offers {
    /// "Message".
    pub message: bool,
    /// Kick, ban, mute.
    pub moderate: bool,
    /// Make op / Remove op.
    pub op: bool,
    /// Whether they are an op now.
    pub is_op: bool,
    /// Whether they were seen muted.
    pub muted: bool,
}

impl Offers {
    /// Whether the menu has anything.
    pub fn any(&self) -> bool {
        self.message || self.moderate || self.op
    }
}

/// Props of [`MemberMenu`].
#[derive(Properties, PartialEq)]
pub struct MemberMenuProps {
    /// The member.
    pub nick: AttrValue,
    /// What it offers.
    pub offers: Offers,
    /// Whether it is open.
    pub open: bool,
    /// Opens (`true`) or closes it.
    pub on_open: Callback<bool>,
    /// A moderator's request about the member.
    pub on_request: Callback<ModRequest>,
    /// "Message": open the direct message.
    pub on_message: Callback<String>,
    /// The member's name and badges, inside the button.
    pub children: Html,
}

/// Kick or ban, waiting for its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asking {
    Kick,
    Ban,
}

fn items(menu: &NodeRef) -> Vec<HtmlElement> {
    let Some(menu) = menu.cast::<Element>() else {
        return Vec::new();
    };
    let Ok(list) = menu.query_selector_all("[role=menuitem], input") else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<HtmlElement>().ok())
        .collect()
}

fn focus_at(menu: &NodeRef, pick: impl FnOnce(usize, Option<usize>) -> usize) {
    let items = items(menu);
    if items.is_empty() {
        return;
    }
    let active = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element());
    let now = items.iter().position(|i| {
        active
            .as_ref()
            .is_some_and(|a| a == i.unchecked_ref::<Element>())
    });
    let next = pick(items.len(), now).min(items.len() - 1);
    let _ = items[next].focus();
}

/// The member's button and menu.
#[function_component(MemberMenu)]
pub fn member_menu(props: &MemberMenuProps) -> Html {
    let asking = use_state(|| None::<Asking>);
    let (menu, reason) = (use_node_ref(), use_node_ref());
    let Popup {
        trigger,
        wrap,
        close,
        toggle,
        on_focus_out,
    } = use_popup(props.open, props.on_open.clone());
    {
        let (asking, menu) = (asking.clone(), menu.clone());
        use_effect_with((props.open, *asking), move |(open, shown)| {
            if !*open && shown.is_some() {
                asking.set(None);
            } else if *open {
                focus_at(&menu, |_, _| 0);
            }
        });
    }
    let on_keydown = {
        let (close, menu, asking) = (close.clone(), menu.clone(), asking.clone());
        Callback::from(move |e: KeyboardEvent| {
            let in_form = asking.is_some();
            match e.key().as_str() {
                "Escape" if in_form => asking.set(None),
                "Escape" => close.emit(true),
                "ArrowDown" if !in_form => focus_at(&menu, |n, now| now.map_or(0, |i| (i + 1) % n)),
                "ArrowUp" if !in_form => {
                    focus_at(&menu, |n, now| now.map_or(n - 1, |i| (i + n - 1) % n))
                }
                "Home" if !in_form => focus_at(&menu, |_, _| 0),
                "End" if !in_form => focus_at(&menu, |n, _| n - 1),
                _ => return,
            }
            e.prevent_default();
            e.stop_propagation();
        })
    };
    let nick = props.nick.to_string();
    let act = |request: ModRequest| {
        let (on_request, close) = (props.on_request.clone(), close.clone());
        Callback::from(move |_: MouseEvent| {
            on_request.emit(request.clone());
            close.emit(true);
        })
    };
    let ask = |what: Asking| {
        let asking = asking.clone();
        Callback::from(move |_: MouseEvent| asking.set(Some(what)))
    };
    let message = {
        let (on_message, close, nick) = (props.on_message.clone(), close.clone(), nick.clone());
        Callback::from(move |_: MouseEvent| {
            close.emit(false);
            on_message.emit(nick.clone());
        })
    };
    let offers = props.offers;
    let body = match *asking {
        None => html! {
            <div role="menu" class="member-menu" data-testid="member-menu" id={format!("member-menu-{nick}")}
                aria-label={format!("Actions for {nick}")} ref={menu.clone()}>
                if offers.message {
                    <button type="button" role="menuitem" tabindex="-1" data-testid="menu-message" onclick={message}>{ "Message" }</button>
                }
                if offers.moderate {
                    <button type="button" role="menuitem" tabindex="-1" data-testid="menu-kick" onclick={ask(Asking::Kick)}>{ "Kick…" }</button>
                    <button type="button" role="menuitem" tabindex="-1" class="danger" data-testid="menu-ban" onclick={ask(Asking::Ban)}>{ "Ban…" }</button>
                    <button type="button" role="menuitem" tabindex="-1" data-testid="menu-mute" data-on={(!offers.muted).to_string()}
                        onclick={act(ModRequest::Mute { nick: nick.clone(), on: !offers.muted })}>
                        { if offers.muted { "Unmute" } else { "Mute" } }
                    </button>
                }
                if offers.op {
                    <button type="button" role="menuitem" tabindex="-1" data-testid="menu-op" data-on={(!offers.is_op).to_string()}
                        onclick={act(ModRequest::Op { nick: nick.clone(), on: !offers.is_op })}>
                        { if offers.is_op { "Remove op" } else { "Make op" } }
                    </button>
                }
            </div>
        },
        Some(what) => {
            let verb = if what == Asking::Kick { "Kick" } else { "Ban" };
            let on_submit = {
                let (on_request, close, nick, reason) = (
                    props.on_request.clone(),
                    close.clone(),
                    nick.clone(),
                    reason.clone(),
                );
                Callback::from(move |e: SubmitEvent| {
                    e.prevent_default();
                    let reason = reason
                        .cast::<HtmlInputElement>()
                        .map(|i| i.value())
                        .unwrap_or_default();
                    let nick = nick.clone();
                    on_request.emit(match what {
                        Asking::Kick => ModRequest::Kick { nick, reason },
                        Asking::Ban => ModRequest::Ban { nick, reason },
                    });
                    close.emit(true);
                })
            };
            let cancel = {
                let asking = asking.clone();
                Callback::from(move |_: MouseEvent| asking.set(None))
            };
            let id = format!("reason-{nick}");
            html! {
                <form class="member-menu reason-form" data-testid="reason-form" ref={menu.clone()}
                    id={format!("member-menu-{nick}")}
                    aria-label={format!("{verb} {nick}")} onsubmit={on_submit}>
                    <label for={id.clone()}>{ format!("{verb} {nick}: reason (optional)") }</label>
                    <input id={id} type="text" data-testid="reason-input" ref={reason} maxlength="200" autocomplete="off" />
                    <span class="reason-buttons">
                        <button type="submit" class="danger" data-testid="reason-submit">{ verb }</button>
                        <button type="button" data-testid="reason-cancel" onclick={cancel}>{ "Cancel" }</button>
                    </span>
                </form>
            }
        }
    };
    html! {
        <div class="member-actions" ref={wrap} onfocusout={on_focus_out} onkeydown={on_keydown}>
            <button type="button" class="member-button" data-testid="member-button" data-nick={nick.clone()}
                ref={trigger} aria-haspopup="menu" aria-expanded={props.open.to_string()}
                aria-controls={props.open.then(|| format!("member-menu-{nick}"))} onclick={toggle}>
                { props.children.clone() }
            </button>
            if props.open { { body } }
        </div>
    }
}
