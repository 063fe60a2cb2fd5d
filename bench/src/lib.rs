//! Parley's benchmark instrument: a load generator that speaks the wire
//! protocol over loopback ([`load`]) and the report it writes ([`report`]),
//! the soak ([`soak`]), the join storms ([`storm`]), and the helpers that
//! let each of them own a section of docs/benchmarks.md ([`sections`]).

pub mod load;
pub mod report;
pub mod sections;
pub mod soak;
pub mod storm;

use std::net::SocketAddr;

use anyhow::{bail, Context};

/// The server's address in a `ws://IP:PORT/…` URL, if it is a loopback
/// address: load and failure runs never go anywhere else. `what` names the
/// run in the refusal.
pub fn loopback_server(url: &str, what: &str) -> anyhow::Result<SocketAddr> {
    let rest = url
        .strip_prefix("ws://")
        .context("the URL must start with ws://")?;
    let server: SocketAddr = rest
        .split('/')
        .next()
        .unwrap_or(rest)
        .parse()
        .context("the URL must name an IP address and port")?;
    if !server.ip().is_loopback() {
        bail!("{what} only ever go to loopback addresses, not {server}");
    }
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::loopback_server;

    #[test]
    fn runs_only_ever_target_loopback() {
        assert_eq!(
            loopback_server("ws://127.0.0.1:8080/ws", "storms").unwrap(),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert!(loopback_server("ws://[::1]:9/ws", "storms").is_ok());
        let refused = loopback_server("ws://10.0.0.1:8080/ws", "storms").unwrap_err();
        assert!(refused.to_string().contains("loopback"), "{refused}");
        assert!(loopback_server("http://127.0.0.1:8080/ws", "x").is_err());
        assert!(loopback_server("ws://localhost:8080/ws", "x").is_err());
    }
}
