//! Every HTTP route the server answers, as one warp filter.
//!
//! `/ws` (see [`crate::upgrade`]), the account API ([`crate::api`]),
//! health, the room list, metrics, and the
//! built browser app with a fallback to `index.html` so client-side routes
//! such as `/room/rust` load the app. Trunk names the wasm and JS bundles
//! after their content hash, so those are cached for a year; `index.html` is
//! revalidated on every load so a new release is picked up at once.
//!
//! Every `GET` route answers `HEAD` too (uptime monitors and proxies use
//! it); hyper sends the same headers without the body. Every request must
//! name a host this server serves ([`crate::origin`]): 400 without a
//! `Host`, 403 for a host name it does not answer for (DNS rebinding).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use warp::filters::fs::File;
use warp::http::{header, StatusCode};
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::api::Api;
use crate::hub::Hub;
use crate::origin::{SiteError, SitePolicy};
use crate::upgrade::{self, Upgrader};

/// Cache policy for content-hashed assets.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy for everything else: always revalidate.
const REVALIDATE: &str = "no-cache";

/// `GET`, or `HEAD` (answered alike; hyper leaves the body out).
fn get_or_head() -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::get().or(warp::head()).unify()
}

/// All routes.
pub fn routes(
    upgrader: Upgrader,
    api: Api,
    metrics: PrometheusHandle,
    static_dir: PathBuf,
) -> impl Filter<Extract = (Response,), Error = std::convert::Infallible> + Clone {
    let hub = upgrader.hub.clone();
    let host = served_host(upgrader.sites.clone());
    let healthz = warp::path!("healthz")
        .and(get_or_head())
        .map(|| "ok\n".into_response());
    let rooms = warp::path!("api" / "rooms")
        .and(get_or_head())
        .map(move || rooms_reply(&hub));
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
        .or(app(static_dir))
        .unify();
    host.and(any_route)
        .recover(|rejection: warp::Rejection| async move {
            Ok::<_, std::convert::Infallible>(rejected(rejection))
        })
        .unify()
}

fn rooms_reply(hub: &Arc<Hub>) -> Response {
    warp::reply::json(&hub.rooms_summary()).into_response()
}

/// The browser app: files from `dist/`, else `index.html`.
fn app(dir: PathBuf) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let index = dir.join("index.html");
    // `fs::dir` and `fs::file` answer GET and HEAD themselves.
    let files = warp::fs::dir(dir).map(|file: File| {
        let policy = if is_hashed_asset(file.path()) {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        warp::reply::with_header(file, header::CACHE_CONTROL, policy).into_response()
    });
    let fallback = get_or_head().and(warp::fs::file(index)).map(|file: File| {
        warp::reply::with_header(file, header::CACHE_CONTROL, REVALIDATE).into_response()
    });
    let not_built = get_or_head().and(warp::path::end()).map(|| {
        warp::reply::with_status(
            "The browser app is not built. Run `make run` (or `trunk build --release`) and reload.\n",
            StatusCode::SERVICE_UNAVAILABLE,
        )
        .into_response()
    });
    files.or(fallback).unify().or(not_built).unify()
}

/// Whether a file name carries trunk's content hash, e.g.
/// `parley-frontend-1a2b3c4d5e6f7a8b_bg.wasm`.
fn is_hashed_asset(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.split(['-', '_', '.'])
        .any(|part| (12..=20).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_hexdigit()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_trunk_hashes() {
        assert!(is_hashed_asset(Path::new(
            "parley-frontend-1a2b3c4d5e6f7a8b_bg.wasm"
        )));
        assert!(is_hashed_asset(Path::new("style-0123456789abcdef.css")));
        assert!(!is_hashed_asset(Path::new("index.html")));
        assert!(!is_hashed_asset(Path::new("favicon.ico")));
    }
}
