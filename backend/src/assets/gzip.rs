//! Gzipped copies of the built-in files, for browsers that accept them: the
//! app's wasm is about 1.1 MB and under 0.45 MB gzipped, which is most of a
//! first visit's wait on a slow link.
//!
//! A copy is made once per file, on its first request, off the async
//! threads, and kept: the files of a build are fixed, so the cache holds
//! at most one copy of each (a debug build, which reads `dist/` from disk,
//! can see new builds; the cache is emptied if it ever holds
//! [`MAX_COPIES`]).

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, LazyLock, Mutex};

use flate2::write::GzEncoder;
use flate2::Compression;

/// The most gzipped copies kept.
pub const MAX_COPIES: usize = 64;
/// Smaller files are sent as they are: gzip would save next to nothing.
pub const MIN_BYTES: usize = 1024;

/// Gzipped copies by the SHA-256 of the original.
type Copies = HashMap<[u8; 32], Arc<Vec<u8>>>;

static COPIES: LazyLock<Mutex<Copies>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Whether an `Accept-Encoding` header accepts gzip (`gzip` or `*`, not
/// with `q=0`).
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    accept_encoding.is_some_and(|header| {
        header.split(',').any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|param| {
                let param = param.trim();
                param
                    .strip_prefix("q=")
                    .or_else(|| param.strip_prefix("Q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
    })
}

/// Whether a file of this type and size is worth gzipping.
pub fn worth_it(mime: &str, len: usize) -> bool {
    let compressible = mime.starts_with("text/")
        || mime.starts_with("application/javascript")
        || mime.starts_with("application/wasm")
        || mime.starts_with("application/json")
        || mime.starts_with("image/svg+xml");
    compressible && len >= MIN_BYTES
}

/// The gzipped copy of `data`, whose SHA-256 is `hash`; none if it could
/// not be made (the original is sent then).
pub async fn gzipped(hash: [u8; 32], data: Vec<u8>) -> Option<Arc<Vec<u8>>> {
    if let Some(copy) = lock().get(&hash) {
        return Some(copy.clone());
    }
    let copy = tokio::task::spawn_blocking(move || compress(&data))
        .await
        .ok()??;
    let copy = Arc::new(copy);
    let mut copies = lock();
    if copies.len() >= MAX_COPIES {
        copies.clear();
    }
    copies.insert(hash, copy.clone());
    Some(copy)
}

fn lock() -> std::sync::MutexGuard<'static, Copies> {
    COPIES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn compress(data: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 2), Compression::best());
    encoder.write_all(data).ok()?;
    encoder.finish().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn gzip_is_accepted_unless_refused() {
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("gzip, deflate, br, zstd")));
        assert!(accepts_gzip(Some("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("gzip; q=0.0, br")));
        assert!(!accepts_gzip(Some("br, deflate")));
        assert!(!accepts_gzip(Some("x-gzip-not")));
        assert!(!accepts_gzip(Some("")));
        assert!(!accepts_gzip(None));
    }

    #[test]
    fn only_text_like_files_of_some_size_are_gzipped() {
        assert!(worth_it("application/wasm", MIN_BYTES));
        assert!(worth_it("text/html; charset=utf-8", 5000));
        assert!(worth_it("application/javascript", 5000));
        assert!(worth_it("image/svg+xml", 5000));
        assert!(!worth_it("application/wasm", MIN_BYTES - 1));
        assert!(!worth_it("image/png", 50_000));
        assert!(!worth_it("font/woff2", 50_000));
    }

    #[tokio::test]
    async fn a_copy_unzips_to_the_original_and_is_made_once() {
        let data = b"parley ".repeat(1000);
        let hash = [7u8; 32];
        let copy = gzipped(hash, data.clone()).await.unwrap();
        assert!(copy.len() < data.len() / 10);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(copy.as_slice())
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        // The same hash is the same copy, whatever is passed the second time,
        // also after other files were gzipped; the cache stays bounded.
        let again = gzipped(hash, Vec::new()).await.unwrap();
        assert!(Arc::ptr_eq(&copy, &again));
        let other = gzipped([8u8; 32], b"other ".repeat(500)).await.unwrap();
        assert!(!Arc::ptr_eq(&copy, &other));
        assert!(Arc::ptr_eq(
            &copy,
            &gzipped(hash, Vec::new()).await.unwrap()
        ));
        for i in 0..2 * MAX_COPIES {
            let mut key = [9u8; 32];
            key[..8].copy_from_slice(&(i as u64).to_le_bytes());
            gzipped(key, b"x".repeat(10)).await.unwrap();
            assert!(lock().len() <= MAX_COPIES);
        }
    }
}
