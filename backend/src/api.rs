//! The account API over HTTP: register, sign in and out, change the
//! password, delete the account, and ask who one is.
//!
//! Bodies are small JSON objects ([`parley_protocol::api`]); every failure
//! is a status with `{code, message}`. Signing in answers the token in the
//! body (for programs, as `Authorization: Bearer`) and in an HttpOnly,
//! SameSite=Lax cookie (for the browser app, which then never touches the
//! token; its WebSocket upgrade carries the cookie). A request that
//! carries an `Origin` must come from a page this server serves, so
//! another site cannot make a signed-in browser sign out or change a
//! password (the cookie is also SameSite).

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use parley_protocol::api::{
    AccountInfo, ApiError, ApiErrorCode, Confirmation, Credentials, PasswordChange, SignedIn,
};
use serde::de::DeserializeOwned;
use warp::http::{header, HeaderMap, HeaderValue, StatusCode};
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::accounts::{Accounts, AccountsError};
use crate::admission::Admission;
use crate::http::Peer;
use crate::hub::Hub;
use crate::origin::SitePolicy;

/// The session cookie's name.
pub const COOKIE: &str = "parley_session";
/// Largest body an account route reads.
const MAX_BODY_BYTES: u64 = 8 * 1024;

/// What the account routes need.
#[derive(Clone)]
pub struct Api {
    /// The accounts.
    pub accounts: Arc<Accounts>,
    /// The hub (whether a nickname is in use now).
    pub hub: Arc<Hub>,
    /// Which origins may call.
    pub sites: Arc<SitePolicy>,
    /// The client's address behind trusted proxies.
    pub admission: Arc<Admission>,
    /// Whether the cookie is `Secure` (the public URL is https).
    pub secure_cookie: bool,
}

/// A request's caller: where from, and its token if it sent one.
struct Caller {
    ip: Option<IpAddr>,
    token: Option<String>,
}

/// The token of a request: `Authorization: Bearer`, else the cookie.
pub fn token_of(headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    bearer
        .or_else(|| {
            headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .find_map(|pair| pair.trim().strip_prefix(&format!("{COOKIE}=")))
                .map(str::to_owned)
        })
        .filter(|t| !t.is_empty() && t.len() <= 128)
}

/// An error answer.
fn failure(status: StatusCode, code: ApiErrorCode, message: impl Into<String>) -> Response {
    let body = ApiError {
        code,
        message: message.into(),
    };
    warp::reply::with_status(warp::reply::json(&body), status).into_response()
}

/// The answer for an [`AccountsError`].
fn refused(err: AccountsError) -> Response {
    let status = match &err {
        AccountsError::InvalidNick(_) | AccountsError::WeakPassword(_) => StatusCode::BAD_REQUEST,
        AccountsError::NickTaken(_) => StatusCode::CONFLICT,
        AccountsError::BadCredentials | AccountsError::Unauthorized => StatusCode::UNAUTHORIZED,
        AccountsError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
        AccountsError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        AccountsError::Store(e) => {
            tracing::error!(%e, "account request failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    let reply = failure(status, err.code(), err.to_string());
    match err {
        AccountsError::TooManyAttempts(wait) => warp::reply::with_header(
            reply,
            header::RETRY_AFTER,
            wait.as_secs_f64().ceil().max(1.0) as u64,
        )
        .into_response(),
        _ => reply,
    }
}

/// Reads a JSON body, or answers 400 saying what is wrong with it.
// The error is the HTTP answer itself, made once per refused request.
#[allow(clippy::result_large_err)]
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(bytes).map_err(|e| {
        failure(
            StatusCode::BAD_REQUEST,
            ApiErrorCode::BadRequest,
            format!("the body must be a JSON object with the route's fields: {e}"),
        )
    })
}

impl Api {
    /// The session cookie for `token` (or one that clears it).
    fn cookie(&self, token: Option<&str>) -> HeaderValue {
        let max_age = match token {
            Some(_) => self.accounts.token_ttl().as_secs(),
            None => 0,
        };
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        let value = format!(
            "{COOKIE}={}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
            token.unwrap_or("")
        );
        HeaderValue::from_str(&value).expect("a token is printable ASCII")
    }

    /// Who calls, after checking that a page of another site does not.
    #[allow(clippy::result_large_err)] // as for `body`
    fn caller(&self, headers: &HeaderMap, peer: Option<Peer>) -> Result<Caller, Response> {
        let origins: Vec<&str> = headers
            .get_all(header::ORIGIN)
            .iter()
            .map(|v| v.to_str().unwrap_or("\u{0}"))
            .collect();
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        if !origins.is_empty() && self.sites.check_origin(&origins, host).is_err() {
            return Err(failure(
                StatusCode::FORBIDDEN,
                ApiErrorCode::Forbidden,
                "account requests must come from this server's own pages",
            ));
        }
        let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        Ok(Caller {
            ip: self.admission.client_ip(peer.map(|p| p.0), forwarded),
            token: token_of(headers),
        })
    }

    async fn register(self, caller: Caller, bytes: Bytes) -> Result<Response, Response> {
        let asked: Credentials = body(&bytes)?;
        let hub = self.hub.clone();
        let profile = self
            .accounts
            .register(&asked.nick, asked.password, caller.ip, hub.as_ref())
            .await
            .map_err(refused)?;
        tracing::info!(nick = %profile.nick, "account registered");
        hub.account_registered(&profile.nick);
        let info = AccountInfo {
            nick: profile.nick,
            admin: profile.admin,
        };
        Ok(warp::reply::with_status(warp::reply::json(&info), StatusCode::CREATED).into_response())
    }

    async fn login(self, caller: Caller, bytes: Bytes) -> Result<Response, Response> {
        let asked: Credentials = body(&bytes)?;
        let (profile, token) = self
            .accounts
            .login(&asked.nick, asked.password, caller.ip)
            .await
            .map_err(refused)?;
        let cookie = self.cookie(Some(&token));
        let reply = warp::reply::json(&SignedIn {
            nick: profile.nick,
            token,
        });
        Ok(warp::reply::with_header(reply, header::SET_COOKIE, cookie).into_response())
    }

    async fn logout(self, caller: Caller) -> Result<Response, Response> {
        if let Some(token) = &caller.token {
            self.accounts.logout(token).await.map_err(refused)?;
        }
        let reply = warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT);
        Ok(warp::reply::with_header(reply, header::SET_COOKIE, self.cookie(None)).into_response())
    }

    async fn me(self, caller: Caller) -> Result<Response, Response> {
        let token = caller
            .token
            .ok_or_else(|| refused(AccountsError::Unauthorized))?;
        let profile = self
            .accounts
            .authenticate(&token)
            .await
            .map_err(refused)?
            .ok_or_else(|| refused(AccountsError::Unauthorized))?;
        Ok(warp::reply::json(&AccountInfo {
            nick: profile.nick,
            admin: profile.admin,
        })
        .into_response())
    }

    async fn password(self, caller: Caller, bytes: Bytes) -> Result<Response, Response> {
        let asked: PasswordChange = body(&bytes)?;
        let token = caller
            .token
            .ok_or_else(|| refused(AccountsError::Unauthorized))?;
        self.accounts
            .change_password(&token, asked.password, asked.new_password)
            .await
            .map_err(refused)?;
        Ok(warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response())
    }

    async fn delete(self, caller: Caller, bytes: Bytes) -> Result<Response, Response> {
        let asked: Confirmation = body(&bytes)?;
        let token = caller
            .token
            .ok_or_else(|| refused(AccountsError::Unauthorized))?;
        let nick = self
            .accounts
            .delete(&token, asked.password)
            .await
            .map_err(refused)?;
        self.hub.account_deleted(&nick);
        let reply = warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT);
        Ok(warp::reply::with_header(reply, header::SET_COOKIE, self.cookie(None)).into_response())
    }
}

/// Which account route a request is for.
#[derive(Debug, Clone, Copy)]
enum Route {
    Register,
    Login,
    Logout,
    Me,
    Password,
    Delete,
}

/// `/api/{path}` with `method`, as `which`.
fn route(
    path: &'static str,
    method: warp::filters::BoxedFilter<()>,
    which: Route,
) -> warp::filters::BoxedFilter<(Route,)> {
    warp::path("api")
        .and(warp::path(path))
        .and(warp::path::end())
        .and(method)
        .map(move || which)
        .boxed()
}

/// The account routes. Those with a body need its `Content-Length` (at
/// most 8 KiB); `logout` and `me` read none.
pub fn routes(api: Api) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let post = || warp::post().boxed();
    let with_body = route("register", post(), Route::Register)
        .or(route("login", post(), Route::Login))
        .unify()
        .or(route("password", post(), Route::Password))
        .unify()
        .or(route("account", warp::delete().boxed(), Route::Delete))
        .unify()
        .and(warp::body::content_length_limit(MAX_BODY_BYTES))
        .and(warp::body::bytes());
    let without_body = route("logout", post(), Route::Logout)
        .or(route("me", warp::get().boxed(), Route::Me))
        .unify()
        .map(|which| (which, Bytes::new()))
        .untuple_one();
    with_body
        .or(without_body)
        .unify()
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<Peer>())
        .then(
            move |which: Route, bytes: Bytes, headers: HeaderMap, peer: Option<Peer>| {
                let api = api.clone();
                async move {
                    let caller = match api.caller(&headers, peer) {
                        Ok(caller) => caller,
                        Err(refusal) => return refusal,
                    };
                    let answer = match which {
                        Route::Register => api.register(caller, bytes).await,
                        Route::Login => api.login(caller, bytes).await,
                        Route::Logout => api.logout(caller).await,
                        Route::Me => api.me(caller).await,
                        Route::Password => api.password(caller, bytes).await,
                        Route::Delete => api.delete(caller, bytes).await,
                    };
                    answer.unwrap_or_else(|refusal| refusal)
                }
            },
        )
}
