//! Passwords: which are accepted, and how they are kept.
//!
//! A password must be long enough and not one people guess first: zxcvbn
//! (Dropbox's estimator, with its lists of the most common passwords,
//! names and words) must rate it at least "somewhat guessable" (over a
//! million guesses), the nickname counting as known to the attacker. It is
//! kept only as an argon2id hash (OWASP's parameters: 19 MiB, two passes),
//! and hashing is slow on purpose, so the caller runs it on the blocking
//! pool and bounds how many run at once. A leaf module.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use thiserror::Error;

/// Fewest characters in a password.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most bytes in a password (hashing a megabyte would cost the server).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WeakPassword {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("a password needs at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    /// More than [`MAX_PASSWORD_BYTES`] bytes.
    #[error("a password may be at most {MAX_PASSWORD_BYTES} bytes long")]
    TooLong,
    /// Among the first guesses an attacker would try.
    #[error("this password is too easy to guess{}", hint(.0))]
    Guessable(Option<String>),
}

fn hint(why: &Option<String>) -> String {
    why.as_ref().map(|w| format!(": {w}")).unwrap_or_default()
}

/// Checks a new password for the account `nick`.
pub fn check_strength(password: &str, nick: &str) -> Result<(), WeakPassword> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(WeakPassword::TooLong);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(WeakPassword::TooShort);
    }
    let estimate = zxcvbn::zxcvbn(password, &[nick]);
    if (estimate.score() as u8) < 2 {
        let why = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| w.to_string());
        return Err(WeakPassword::Guessable(why));
    }
    Ok(())
}

/// The argon2id hash of `password`, as a PHC string (salt and parameters
/// included).
pub fn hash(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

/// Whether `password` is the one `hash` was made from. A hash that cannot
/// be read matches nothing.
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash of a password nobody has, to verify against when the account does
/// not exist, so a wrong nickname takes as long as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("parley decoy password that nobody uses"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_long_and_common_passwords_are_refused() {
        assert_eq!(check_strength("abc", "mina"), Err(WeakPassword::TooShort));
        assert_eq!(
            check_strength(&"a".repeat(1025), "mina"),
            Err(WeakPassword::TooLong)
        );
        for common in [
            "password",
            "password1",
            "12345678",
            "qwertyuiop",
            "mina1234",
        ] {
            assert!(
                matches!(
                    check_strength(common, "mina"),
                    Err(WeakPassword::Guessable(_))
                ),
                "{common}"
            );
        }
        assert!(check_strength("correct horse battery staple", "mina").is_ok());
        assert!(check_strength("비밀번호는 길어야 한다", "mina").is_ok());
    }

    #[test]
    fn hashes_verify_only_their_password_and_hide_it() {
        let hashed = hash("correct horse battery staple");
        assert!(hashed.starts_with("$argon2id$"), "{hashed}");
        assert!(!hashed.contains("horse"));
        assert!(verify("correct horse battery staple", &hashed));
        assert!(!verify("correct horse battery stable", &hashed));
        assert!(!verify("anything", "not a hash"));
        assert_ne!(hash("same"), hash("same"), "salted");
        assert!(!verify("", decoy_hash()));
    }
}
