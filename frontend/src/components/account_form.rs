//! Signing in to an account, or creating one: a nickname, a password
//! (twice when creating, with the server's rule shown), and the room to
//! join once signed in.
//!
//! The fields are checked as they are typed where the browser can know
//! (the nickname rules, the password's length, the two copies agreeing);
//! what only the server knows (a taken nickname, a password too easy to
//! guess, a wrong password, too many attempts) comes back as an
//! [`AuthError`] and is shown next to its field, announced, and tied to
//! the field with `aria-describedby` and `aria-invalid`.

use gloo_storage::{LocalStorage, Storage};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::hooks::NICK_KEY;
use crate::state::account::MIN_PASSWORD_CHARS;
use crate::state::{AuthError, AuthField};

/// Props of [`AccountForm`].
#[derive(Properties, PartialEq)]
pub struct AccountFormProps {
    /// Create an account (else sign in to one).
    pub create: bool,
    /// The room to suggest.
    pub initial_room: String,
    /// Why the server refused the last attempt.
    pub error: Option<AuthError>,
    /// A request (or a join) is under way.
    pub busy: bool,
    /// Called with (nickname, password, room) when the form is sent.
    pub on_submit: Callback<(String, String, String)>,
    /// Called when a field changes while an error is shown.
    pub on_edit: Callback<()>,
}

/// An input's `oninput`: sets `value`, marks the form touched, and tells
/// the parent (which drops the server's old error).
fn edit(
    value: &UseStateHandle<String>,
    touched: &UseStateHandle<bool>,
    on_edit: &Option<Callback<()>>,
) -> Callback<InputEvent> {
    let (value, touched, on_edit) = (value.clone(), touched.clone(), on_edit.clone());
    Callback::from(move |e: InputEvent| {
        value.set(e.target_unchecked_into::<HtmlInputElement>().value());
        touched.set(true);
        if let Some(on_edit) = &on_edit {
            on_edit.emit(());
        }
    })
}

/// The server's error about `field`, announced where it is shown.
fn server_error(error: &Option<AuthError>, field: AuthField) -> Option<Html> {
    let name = match field {
        AuthField::Nick => "nick",
        AuthField::Password => "password",
        AuthField::Form => "form",
    };
    error.as_ref().filter(|e| e.field == field).map(|e| {
        html! {
            <span role="alert" data-testid="account-error" data-field={name}>{ e.message.clone() }</span>
        }
    })
}

/// The sign-in or create-account form.
#[function_component(AccountForm)]
pub fn account_form(props: &AccountFormProps) -> Html {
    let nick = use_state(|| LocalStorage::get::<String>(NICK_KEY).unwrap_or_default());
    let password = use_state(String::new);
    let confirm = use_state(String::new);
    let room = use_state(|| props.initial_room.clone());
    let touched = use_state(|| false);
    let create = props.create;

    let nick_error = parley_protocol::validate_nick(&nick)
        .err()
        .map(|e| e.to_string());
    let password_error = if password.is_empty() {
        Some("type a password".to_owned())
    } else if create && password.chars().count() < MIN_PASSWORD_CHARS {
        Some(format!("use at least {MIN_PASSWORD_CHARS} characters"))
    } else {
        None
    };
    let confirm_error =
        (create && *confirm != *password).then(|| "the passwords differ".to_owned());
    let room_error = parley_protocol::validate_room(&room)
        .err()
        .map(|e| e.to_string());
    let valid = nick_error.is_none()
        && password_error.is_none()
        && confirm_error.is_none()
        && room_error.is_none();

    let on_edit = props.error.is_some().then(|| props.on_edit.clone());
    let on_submit = {
        let (nick, password, room, touched) = (
            nick.clone(),
            password.clone(),
            room.clone(),
            touched.clone(),
        );
        let on_submit = props.on_submit.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            touched.set(true);
            if valid {
                on_submit.emit(((*nick).clone(), (*password).clone(), (*room).clone()));
            }
        })
    };

    let show = |error: &Option<String>| if *touched { error.clone() } else { None };
    let (nick_hint, password_hint) = (show(&nick_error), show(&password_error));
    let (confirm_hint, room_hint) = (show(&confirm_error), show(&room_error));
    let nick_refused = server_error(&props.error, AuthField::Nick);
    let password_refused = server_error(&props.error, AuthField::Password);
    let form_refused = props
        .error
        .as_ref()
        .filter(|e| e.field == AuthField::Form)
        .map(|e| e.message.clone());
    let invalid = |hint: &Option<String>, refused: &Option<Html>| {
        (hint.is_some() || refused.is_some()).to_string()
    };
    let (title, submit, busy_label, autocomplete) = if create {
        (
            "Create an account",
            "Create account",
            "Creating…",
            "new-password",
        )
    } else {
        ("Sign in", "Sign in", "Signing in…", "current-password")
    };
    let described = |id: &str| {
        if form_refused.is_some() {
            format!("{id} account-error")
        } else {
            id.to_owned()
        }
    };
    let password_described = if create {
        described("account-password-rule account-password-hint")
    } else {
        described("account-password-hint")
    };
    html! {
        <form class="join-form" onsubmit={on_submit} novalidate=true aria-label={title}
            data-testid={if create { "create-form" } else { "sign-in-form" }}>
            <label for="account-nick">{ "Nickname" }</label>
            <input id="account-nick" data-testid="account-nick" type="text" autocomplete="username"
                maxlength="64" value={(*nick).clone()} oninput={edit(&nick, &touched, &on_edit)}
                aria-invalid={invalid(&nick_hint, &nick_refused)} aria-describedby={described("account-nick-hint")} />
            <div id="account-nick-hint" class="hint">
                { nick_refused.unwrap_or_else(|| html! { nick_hint.unwrap_or_default() }) }
            </div>
            <label for="account-password">{ "Password" }</label>
            if create {
                <div id="account-password-rule" class="rule">
                    { format!("At least {MIN_PASSWORD_CHARS} characters, and not easy to guess from your nickname.") }
                </div>
            }
            <input id="account-password" data-testid="account-password" type="password" {autocomplete}
                maxlength="1024" value={(*password).clone()} oninput={edit(&password, &touched, &on_edit)}
                aria-invalid={invalid(&password_hint, &password_refused)} aria-describedby={password_described} />
            <div id="account-password-hint" class="hint">
                { password_refused.unwrap_or_else(|| html! { password_hint.unwrap_or_default() }) }
            </div>
            if create {
                <label for="account-confirm">{ "Password again" }</label>
                <input id="account-confirm" data-testid="account-confirm" type="password" autocomplete="new-password"
                    maxlength="1024" value={(*confirm).clone()} oninput={edit(&confirm, &touched, &on_edit)}
                    aria-invalid={confirm_hint.is_some().to_string()} aria-describedby="account-confirm-hint" />
                <div id="account-confirm-hint" class="hint">{ confirm_hint.unwrap_or_default() }</div>
            }
            <label for="account-room">{ "Room" }</label>
            <input id="account-room" data-testid="account-room" type="text" autocomplete="off"
                maxlength="128" value={(*room).clone()} oninput={edit(&room, &touched, &on_edit)}
                aria-invalid={room_hint.is_some().to_string()} aria-describedby="account-room-hint" />
            <div id="account-room-hint" class="hint">{ room_hint.unwrap_or_default() }</div>
            if let Some(error) = form_refused {
                <div class="error" role="alert" id="account-error" data-testid="account-error" data-field="form">
                    { error }
                </div>
            }
            <button type="submit" data-testid="account-submit" disabled={!valid || props.busy}>
                { if props.busy { busy_label } else { submit } }
            </button>
        </form>
    }
}
