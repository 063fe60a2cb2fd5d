//! The account routes over HTTP (`/api/me`, `/api/register`, `/api/login`,
//! `/api/logout`), with gloo-net's `fetch`.
//!
//! Every request is same-origin with the browser's credentials, so the
//! server's `parley_session` cookie (HttpOnly: the page never sees it) is
//! kept by `login` and sent with the WebSocket upgrade, where a `hello`
//! with no nickname signs the connection in. This is browser glue, like
//! `connection.rs`: it only carries the reducer's commands out and turns
//! the answers into actions (what they mean is decided in
//! `state/account.rs`).

use std::rc::Rc;

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::Deserialize;
use serde_json::json;
use web_sys::RequestCredentials;

use crate::state::{Action, AuthFailure};

/// How answers reach the store.
pub type Dispatch = Rc<dyn Fn(Action)>;

/// `{nick, …}`: the answer of `/api/me`, `/api/register` and `/api/login`.
#[derive(Deserialize)]
struct Who {
    nick: String,
}

/// `{code, message}`: every refusal.
#[derive(Deserialize, Default)]
struct Refusal {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

fn same_origin(request: RequestBuilder) -> RequestBuilder {
    request.credentials(RequestCredentials::SameOrigin)
}

async fn post(path: &str, nick: &str, password: &str) -> Result<Response, AuthFailure> {
    let request = same_origin(Request::post(path))
        .json(&json!({ "nick": nick, "password": password }))
        .map_err(|_| AuthFailure::default())?;
    request.send().await.map_err(|_| AuthFailure::default())
}

/// A refusal's status, code, message and `Retry-After`.
async fn failure(response: Response) -> AuthFailure {
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.trim().parse().ok());
    let refusal = response.json::<Refusal>().await.unwrap_or_default();
    AuthFailure {
        status: response.status(),
        code: refusal.code,
        message: refusal.message,
        retry_after,
    }
}

/// Signs in; the nickname as the server spells it.
async fn login(nick: &str, password: &str) -> Result<String, AuthFailure> {
    let response = post("/api/login", nick, password).await?;
    if response.status() != 200 {
        return Err(failure(response).await);
    }
    match response.json::<Who>().await {
        Ok(who) => Ok(who.nick),
        Err(_) => Err(AuthFailure {
            status: response.status(),
            message: "the server's answer made no sense".into(),
            ..AuthFailure::default()
        }),
    }
}

/// Creates the account, then signs in with the same password at once.
async fn register_then_login(nick: &str, password: &str) -> Result<String, AuthFailure> {
    let response = post("/api/register", nick, password).await?;
    if response.status() != 201 {
        return Err(failure(response).await);
    }
    login(nick, password).await
}

fn answer(result: Result<String, AuthFailure>) -> Action {
    match result {
        Ok(nick) => Action::SignedIn { nick },
        Err(failure) => Action::AuthFailed(failure),
    }
}

/// `POST /api/login`, answered with [`Action::SignedIn`] or
/// [`Action::AuthFailed`].
pub fn start_login(nick: String, password: String, dispatch: Dispatch) {
    wasm_bindgen_futures::spawn_local(async move {
        dispatch(answer(login(&nick, &password).await));
    });
}

/// `POST /api/register` then `POST /api/login`, answered the same way.
pub fn start_register(nick: String, password: String, dispatch: Dispatch) {
    wasm_bindgen_futures::spawn_local(async move {
        dispatch(answer(register_then_login(&nick, &password).await));
    });
}

/// `POST /api/logout`; nothing to answer (the cookie is cleared, and the
/// page has already gone back to the join screen).
pub fn start_logout() {
    wasm_bindgen_futures::spawn_local(async {
        if let Ok(request) = same_origin(Request::post("/api/logout")).body("") {
            let _ = request.send().await;
        }
    });
}

/// `GET /api/me`, answered with [`Action::Me`].
pub fn start_me(dispatch: Dispatch) {
    wasm_bindgen_futures::spawn_local(async move {
        let nick = match same_origin(Request::get("/api/me")).send().await {
            Ok(response) if response.status() == 200 => {
                response.json::<Who>().await.ok().map(|w| w.nick)
            }
            _ => None,
        };
        dispatch(Action::Me(nick));
    });
}
