//! The browser app's files, served with a fallback to `index.html` so
//! client-side routes such as `/room/rust` load the app.
//!
//! A node is one file to copy: `trunk build --release` writes `dist/`, and
//! the release binary carries that folder inside it (`rust-embed`; a debug
//! build reads the same folder from disk, so tests see the current build).
//! `--static-dir` serves a folder instead, for development.
//!
//! Trunk names the wasm and JS bundles after their content hash, so those
//! are cached for a year; `index.html` is revalidated on every load so a
//! new release is picked up at once. Built-in files carry an `ETag` (their
//! SHA-256), answered with 304 when the browser already has them.
//!
//! Only a release build is ever served: `trunk serve` writes its
//! development build into the same `dist/`, with a live-reload script whose
//! `{{__TRUNK_ADDRESS__}}` placeholders only trunk's own server fills; such
//! a page would retry a dead WebSocket on every load. It is refused with a
//! 503 that says how to rebuild.
//!
//! A leaf module: it imports nothing of the crate.

use std::path::{Path, PathBuf};

use rust_embed::RustEmbed;
use warp::filters::fs::File;
use warp::filters::BoxedFilter;
use warp::http::{header, StatusCode};
use warp::path::{Peek, Tail};
use warp::reply::{Reply, Response};
use warp::Filter;

/// Cache policy for content-hashed assets.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy for everything else: always revalidate.
const REVALIDATE: &str = "no-cache";
/// What only a `trunk serve` development build's page contains.
const DEV_BUILD_MARK: &[u8] = b"{{__TRUNK_ADDRESS__}}";

/// The release build of the browser app, built into the binary.
#[derive(RustEmbed)]
// Relative to this crate (backend/).
#[folder = "../dist/"]
#[allow_missing = true]
struct BuiltIn;

/// Where the browser app's files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppFiles {
    /// The copy built into the binary (the default).
    BuiltIn,
    /// A folder on disk (`--static-dir`).
    Folder(PathBuf),
}

/// What the server has to serve, said once at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// A release build.
    Ready,
    /// No `index.html`: the app was not built.
    Missing,
    /// A `trunk serve` development build, which is refused.
    DevelopmentBuild,
}

impl AppFiles {
    /// Whether there is a release build to serve.
    pub fn readiness(&self) -> Readiness {
        let index = match self {
            AppFiles::BuiltIn => BuiltIn::get("index.html").map(|file| file.data.into_owned()),
            AppFiles::Folder(dir) => std::fs::read(dir.join("index.html")).ok(),
        };
        match index {
            None => Readiness::Missing,
            Some(page) => readiness_of(&page),
        }
    }
}

fn readiness_of(page: &[u8]) -> Readiness {
    if page
        .windows(DEV_BUILD_MARK.len())
        .any(|window| window == DEV_BUILD_MARK)
    {
        Readiness::DevelopmentBuild
    } else {
        Readiness::Ready
    }
}

/// `GET`, or `HEAD` (answered alike; hyper leaves the body out).
fn get_or_head() -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::get().or(warp::head()).unify()
}

/// The browser app's routes: its files, else `index.html`.
pub fn routes(files: AppFiles) -> BoxedFilter<(Response,)> {
    match files {
        AppFiles::BuiltIn => get_or_head()
            .and(warp::path::tail())
            .and(warp::header::optional::<String>("if-none-match"))
            .map(|tail: Tail, seen: Option<String>| built_in_file(tail.as_str(), seen.as_deref()))
            .boxed(),
        AppFiles::Folder(dir) => folder(dir).boxed(),
    }
}

/// A built-in file, or `index.html` for any other path.
fn built_in_file(path: &str, seen: Option<&str>) -> Response {
    let file = match path {
        "" | "index.html" => None,
        path => BuiltIn::get(path),
    };
    if let Some(file) = file {
        let policy = if is_hashed_asset(Path::new(path)) {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        let mime = file.metadata.mimetype().to_owned();
        let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()));
        return answer(file.data.into_owned(), &mime, policy, Some(etag), seen);
    }
    let Some(index) = BuiltIn::get("index.html") else {
        return not_built();
    };
    let etag = format!("\"{}\"", hex(&index.metadata.sha256_hash()));
    page(index.data.into_owned(), Some(etag), seen)
}

/// The files of `dir`, else its `index.html`.
fn folder(dir: PathBuf) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let index = dir.join("index.html");
    // `index.html` itself goes through the check for a development build.
    // (`peek` leaves the path for `fs::dir`, which would answer `/` with
    // `index.html` too.)
    let not_index = warp::path::peek()
        .and_then(|path: Peek| async move {
            if matches!(path.as_str(), "" | "index.html") {
                Err(warp::reject::not_found())
            } else {
                Ok(())
            }
        })
        .untuple_one();
    // `fs::dir` answers GET and HEAD itself.
    let files = not_index.and(warp::fs::dir(dir)).map(|file: File| {
        let policy = if is_hashed_asset(file.path()) {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        warp::reply::with_header(file, header::CACHE_CONTROL, policy).into_response()
    });
    let fallback = get_or_head().then(move || {
        let index = index.clone();
        async move {
            match tokio::fs::read(&index).await {
                Ok(bytes) => page(bytes, None, None),
                Err(_) => not_built(),
            }
        }
    });
    files.or(fallback).unify()
}

/// `index.html`, unless it is a development build.
fn page(bytes: Vec<u8>, etag: Option<String>, seen: Option<&str>) -> Response {
    if readiness_of(&bytes) == Readiness::DevelopmentBuild {
        return development_build();
    }
    answer(bytes, "text/html; charset=utf-8", REVALIDATE, etag, seen)
}

/// A file's answer: 304 when the browser's copy (`seen`) is this one.
fn answer(
    bytes: Vec<u8>,
    mime: &str,
    policy: &str,
    etag: Option<String>,
    seen: Option<&str>,
) -> Response {
    let unchanged = match (&etag, seen) {
        (Some(etag), Some(seen)) => seen.split(',').any(|tag| tag.trim() == etag),
        _ => false,
    };
    let mut reply = warp::http::Response::builder()
        .header(header::CACHE_CONTROL, policy)
        .header(header::CONTENT_TYPE, mime);
    if let Some(etag) = etag {
        reply = reply.header(header::ETAG, etag);
    }
    let reply = if unchanged {
        reply
            .status(StatusCode::NOT_MODIFIED)
            .body(Vec::new().into())
    } else {
        reply.body(bytes.into())
    };
    reply.unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn not_built() -> Response {
    warp::reply::with_status(
        "The browser app is not built. Run `make run` (or `trunk build --release`, then build the server) and reload.\n",
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .into_response()
}

fn development_build() -> Response {
    warp::reply::with_status(
        "dist/ holds a `trunk serve` development build, which only trunk's own server can serve. \
         Run `trunk build --release` (and rebuild the server if the app is built in), then reload; \
         for development, open trunk's server instead (see Trunk.toml).\n",
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
        // A hash is long enough and hexadecimal, both.
        assert!(!is_hashed_asset(Path::new("badcafe.css")));
        assert!(!is_hashed_asset(Path::new("parley-documentation.js")));
    }

    #[test]
    fn a_development_build_is_told_apart_by_trunks_placeholder() {
        assert_eq!(
            readiness_of(b"<script>const address = '{{__TRUNK_ADDRESS__}}';</script>"),
            Readiness::DevelopmentBuild
        );
        assert_eq!(readiness_of(b"<html>app</html>"), Readiness::Ready);
        assert_eq!(readiness_of(b""), Readiness::Ready);
    }

    #[test]
    fn etags_are_lower_case_hex() {
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
    }
}
