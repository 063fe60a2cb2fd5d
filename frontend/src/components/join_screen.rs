//! The join screen: join as a guest (one click, the default), sign in to
//! an account, or create one; and, when this browser is already signed in
//! (`/api/me` said so), "Continue as …" with one click.
//!
//! Accounts are optional, so the guest form comes first and keeps its
//! behaviour; the other two are a switch away (buttons with
//! `aria-pressed`, reachable with Tab like everything else).

use yew::prelude::*;

use super::account_form::AccountForm;
use super::guest_form::GuestForm;
use crate::state::{Account, Status};

/// Props of [`JoinScreen`].
#[derive(Properties, PartialEq)]
pub struct JoinScreenProps {
    /// The room to suggest (from the address, or `general`).
    pub initial_room: String,
    /// Why the server refused the last attempt.
    pub error: Option<String>,
    /// The connection (a join is under way unless it is idle).
    pub status: Status,
    /// The account: signed in or not, the forms' requests.
    pub account: Account,
    /// Called with (nickname, room) when the guest form is sent.
    pub on_join: Callback<(String, String)>,
    /// Called with (nickname, password, room) to sign in.
    pub on_sign_in: Callback<(String, String, String)>,
    /// Called with (nickname, password, room) to create an account.
    pub on_register: Callback<(String, String, String)>,
    /// Called with the room: continue as the signed-in account.
    pub on_continue: Callback<String>,
    /// Forget the signed-in account.
    pub on_forget: Callback<()>,
    /// The account form changed: drop its old error.
    pub on_clear_error: Callback<()>,
}

/// Which form the card shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Guest,
    SignIn,
    Create,
}

/// The join screen.
#[function_component(JoinScreen)]
pub fn join_screen(props: &JoinScreenProps) -> Html {
    let mode = use_state(|| Mode::Guest);
    let connecting = props.status != Status::Idle;
    let switch = |to: Mode, label: &'static str, testid: &'static str| {
        let pressed = (*mode == to).to_string();
        let (mode, clear) = (mode.clone(), props.on_clear_error.clone());
        let onclick = Callback::from(move |_: MouseEvent| {
            mode.set(to);
            clear.emit(());
        });
        html! {
            <button type="button" class="mode" data-testid={testid}
                aria-pressed={pressed} {onclick}>{ label }</button>
        }
    };
    let signed_in = props
        .account
        .signed_in_as
        .clone()
        .filter(|_| props.account.checked);
    let continue_as = signed_in.map(|nick| {
        let (room, on_continue) = (props.initial_room.clone(), props.on_continue.clone());
        let on_click = Callback::from(move |_: MouseEvent| on_continue.emit(room.clone()));
        let on_forget = props.on_forget.reform(|_: MouseEvent| ());
        html! {
            <section class="continue" aria-label="Your account">
                <button type="button" class="continue-button" data-testid="continue-as"
                    disabled={connecting} onclick={on_click}>
                    { format!("Continue as {nick}") }
                </button>
                <button type="button" class="link-button" data-testid="forget-account" onclick={on_forget}>
                    { "Sign out" }
                </button>
            </section>
        }
    });
    let busy = props.account.busy || connecting;
    let form = match *mode {
        Mode::Guest => html! {
            <GuestForm initial_room={props.initial_room.clone()} error={props.error.clone()}
                status={props.status} on_join={props.on_join.clone()} />
        },
        Mode::SignIn | Mode::Create => {
            let create = *mode == Mode::Create;
            html! {
                <AccountForm {create} initial_room={props.initial_room.clone()}
                    error={props.account.error.clone()} {busy}
                    on_submit={if create { props.on_register.clone() } else { props.on_sign_in.clone() }}
                    on_edit={props.on_clear_error.clone()} />
            }
        }
    };
    html! {
        <main class="join">
            <div class="join-card">
                <h1 class="brand">{ "Parley" }</h1>
                <p class="tagline">{ "Real-time chat. Pick a name and a room." }</p>
                { for continue_as }
                <div class="join-modes" role="group" aria-label="How to join">
                    { switch(Mode::Guest, "Guest", "mode-guest") }
                    { switch(Mode::SignIn, "Sign in", "mode-sign-in") }
                    { switch(Mode::Create, "Create account", "mode-create") }
                </div>
                { form }
            </div>
        </main>
    }
}
