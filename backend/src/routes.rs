//! Every HTTP route the server answers, as one warp filter.
//!
//! `/ws` (see [`crate::upgrade`]), the account API ([`crate::api`]),
//! health, the room list, metrics, and the browser app ([`crate::assets`]).
//!
//! Every `GET` route answers `HEAD` too (uptime monitors and proxies use
//! it); hyper sends the same headers without the body. Every request must
//! name a host this server serves ([`crate::origin`]): 400 without a
//! `Host`, 403 for a host name it does not answer for (DNS rebinding).

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use warp::http::{header, StatusCode};
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::api::Api;
use crate::assets::AppFiles;
use crate::hub::Hub;
use crate::origin::{SiteError, SitePolicy};
use crate::upgrade::{self, Upgrader};

/// `GET`, or `HEAD` (answered alike; hyper leaves the body out).
fn get_or_head() -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::get().or(warp::head()).unify()
}

/// All routes.
pub fn routes(
    upgrader: Upgrader,
    api: Api,
    metrics: PrometheusHandle,
    app_files: AppFiles,
) -> impl Filter<Extract = (Response,), Error = std::convert::Infallible> + Clone {
    let hub = upgrader.hub.clone();
    let host = served_host(upgrader.sites.clone());
    let healthz = warp::path!("healthz")
        .and(get_or_head())
        .map(|| "ok\n".into_response());
    let rooms = warp::path!("api" / "rooms")
        .and(get_or_head())
        .then(move || rooms_reply(hub.clone()));
    let metrics = warp::path!("metrics").and(get_or_head()).map(move || {
        warp::reply::with_header(
            metrics.render(),
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )
        .into_response()
    });
    let api_not_found = warp::path("api").map(|| {
        warp::reply::with_status("no such API route\n", StatusCode::NOT_FOUND).into_response()
    });

    let any_route = upgrade::route(upgrader)
        .or(healthz)
        .unify()
        .or(rooms)
        .unify()
        .or(metrics)
        .unify()
        .or(crate::api::routes(api))
        .unify()
        .or(api_not_found)
        .unify()
        .or(crate::assets::routes(app_files))
        .unify();
    host.and(any_route)
        .recover(|rejection: warp::Rejection| async move {
            Ok::<_, std::convert::Infallible>(rejected(rejection))
        })
        .unify()
}

async fn rooms_reply(hub: Arc<Hub>) -> Response {
    match hub.rooms_summary().await {
        Ok(rooms) => warp::reply::json(&rooms).into_response(),
        Err(error) => warp::reply::with_status(
            format!("the room list cannot be read just now: {error}\n"),
            StatusCode::SERVICE_UNAVAILABLE,
        )
        .into_response(),
    }
}

/// A request whose `Host` this server does not serve.
#[derive(Debug)]
struct HostRefused(SiteError);

impl warp::reject::Reject for HostRefused {}

/// Passes requests whose `Host` is served, rejects the others.
fn served_host(
    sites: Arc<SitePolicy>,
) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("host")
        .and_then(move |host: Option<String>| {
            let checked = sites.check_host(host.as_deref()).map(|_| ());
            async move { checked.map_err(|e| warp::reject::custom(HostRefused(e))) }
        })
        .untuple_one()
}

/// Turns a rejection into a plain answer.
fn rejected(rejection: warp::Rejection) -> Response {
    if let Some(HostRefused(err)) = rejection.find::<HostRefused>() {
        let status = match err {
            SiteError::BadHost => StatusCode::BAD_REQUEST,
            _ => StatusCode::FORBIDDEN,
        };
        return warp::reply::with_status(format!("{err}\n"), status).into_response();
    }
    let (status, text) = if rejection.is_not_found() {
        (StatusCode::NOT_FOUND, "not found\n")
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
    } else {
        (StatusCode::BAD_REQUEST, "bad request\n")
    };
    warp::reply::with_status(text, status).into_response()
}
