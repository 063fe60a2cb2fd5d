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
//! SHA-256), answered with 304 when the browser already has them, and go
//! gzipped to browsers that take it ([`gzip`]).
//!
//! Only a release build is ever served: `trunk serve` writes its
//! development build into the same `dist/`, with a live-reload script whose
//! `{{__TRUNK_ADDRESS__}}` placeholders only trunk's own server fills; such
//! a page would retry a dead WebSocket on every load. It is refused with a
//! 503 that says how to rebuild.
//!
//! A leaf module: it imports nothing of the crate.

mod gzip;

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
/// `index.html`'s type.
const HTML: &str = "text/html; charset=utf-8";
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
            .and(warp::header::optional::<String>("accept-encoding"))
            .then(
                |tail: Tail, seen: Option<String>, encodings: Option<String>| async move {
                    let gzip = gzip::accepts_gzip(encodings.as_deref());
                    built_in_file(tail.as_str(), seen.as_deref(), gzip).await
                },
            )
            .boxed(),
        AppFiles::Folder(dir) => folder(dir).boxed(),
    }
}

/// A built-in file, or `index.html` for any other path; gzipped when the
/// browser takes it and it is worth it.
async fn built_in_file(path: &str, seen: Option<&str>, gzip: bool) -> Response {
    let file = match path {
        "" | "index.html" => None,
        path => BuiltIn::get(path),
    };
    let (file, mime, policy) = match file {
        Some(file) => {
            let mime = file.metadata.mimetype().to_owned();
            let policy = if is_hashed_asset(Path::new(path)) {
                IMMUTABLE
            } else {
                REVALIDATE
            };
            (file, mime, policy)
        }
        None => {
            let Some(index) = BuiltIn::get("index.html") else {
                return not_built();
            };
            if readiness_of(&index.data) == Readiness::DevelopmentBuild {
                return development_build();
            }
            (index, HTML.to_owned(), REVALIDATE)
        }
    };
    let hash = file.metadata.sha256_hash();
    let data = file.data.into_owned();
    let mut variant = Variant {
        mime: &mime,
        policy,
        etag: Some(format!("\"{}\"", hex(&hash))),
        gzipped: false,
        varies: gzip::worth_it(&mime, data.len()),
    };
    if gzip && variant.varies {
        if let Some(copy) = gzip::gzipped(hash, data.clone()).await {
            variant.etag = Some(format!("\"{}-gz\"", hex(&hash)));
            variant.gzipped = true;
            return answer(copy.as_ref().clone(), variant, seen);
        }
    }
    answer(data, variant, seen)
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
                Ok(bytes) => page(bytes),
                Err(_) => not_built(),
            }
        }
    });
    files.or(fallback).unify()
}

/// `index.html` from a folder, unless it is a development build.
fn page(bytes: Vec<u8>) -> Response {
    if readiness_of(&bytes) == Readiness::DevelopmentBuild {
        return development_build();
    }
    let variant = Variant {
        mime: HTML,
        policy: REVALIDATE,
        etag: None,
        gzipped: false,
        varies: false,
    };
    answer(bytes, variant, None)
}

/// How a file is sent.
struct Variant<'a> {
    mime: &'a str,
    policy: &'static str,
    /// The `ETag` of these bytes (one per encoding).
    etag: Option<String>,
    /// The bytes are gzipped (`Content-Encoding: gzip`).
    gzipped: bool,
    /// The answer depends on `Accept-Encoding`.
    varies: bool,
}

/// A file's answer: 304 when the browser's copy (`seen`) is this one.
fn answer(bytes: Vec<u8>, variant: Variant<'_>, seen: Option<&str>) -> Response {
    let unchanged = match (&variant.etag, seen) {
        (Some(etag), Some(seen)) => seen.split(',').any(|tag| tag.trim() == etag),
        _ => false,
    };
    let mut reply = warp::http::Response::builder()
        .header(header::CACHE_CONTROL, variant.policy)
        .header(header::CONTENT_TYPE, variant.mime);
    if let Some(etag) = variant.etag {
        reply = reply.header(header::ETAG, etag);
    }
    if variant.gzipped {
        reply = reply.header(header::CONTENT_ENCODING, "gzip");
    }
    if variant.varies {
        reply = reply.header(header::VARY, "accept-encoding");
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
