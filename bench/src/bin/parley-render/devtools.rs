//! Headless Chromium, driven over the DevTools protocol (one WebSocket,
//! JSON calls): enough to open a page, install a script before the page's
//! own, evaluate expressions and profile. It saves the benchmark a
//! ChromeDriver and a WebDriver client.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::{Args, Process, Socket, WAIT};

/// Chromium, headless, with the DevTools protocol on a free port.
pub(crate) fn start_chromium(args: &Args, scratch: &Path) -> anyhow::Result<(Process, String)> {
    let profile = scratch.join("profile");
    let mut child = Command::new(&args.chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,800",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", args.chromium.display()))?;
    let stderr = child.stderr.take().expect("piped");
    let (found, url) = std::sync::mpsc::channel();
    // Reads Chromium's stderr for the DevTools address, then keeps draining it.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                let _ = found.send(url.trim().to_owned());
            }
        }
    });
    let url = url
        .recv_timeout(Duration::from_secs(30))
        .context("Chromium did not print its DevTools address")?;
    Ok((Process(child), url))
}

/// A DevTools protocol session on one page.
pub(crate) struct DevTools {
    ws: Socket,
    next_id: u64,
    session: Option<String>,
}

impl DevTools {
    pub(crate) async fn connect(url: &str) -> anyhow::Result<DevTools> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await?;
        Ok(DevTools {
            ws,
            next_id: 1,
            session: None,
        })
    }

    /// Calls `method` (on the page once attached) and returns its result.
    pub(crate) async fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut request = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = &self.session {
            request["sessionId"] = json!(session);
        }
        self.ws.send(Message::text(request.to_string())).await?;
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .with_context(|| format!("waiting for {method}"))?
                .ok_or_else(|| anyhow!("DevTools socket closed"))??;
            let Message::Text(text) = message else {
                continue;
            };
            let reply: Value = serde_json::from_str(text.as_str())?;
            if reply["id"] != json!(id) {
                continue; // an event
            }
            if let Some(error) = reply.get("error") {
                bail!("{method}: {error}");
            }
            return Ok(reply["result"].clone());
        }
    }

    /// A fresh page, attached.
    pub(crate) async fn open_page(&mut self) -> anyhow::Result<()> {
        let target = self
            .call("Target.createTarget", json!({ "url": "about:blank" }))
            .await?;
        let attached = self
            .call(
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await?;
        self.session = attached["sessionId"].as_str().map(str::to_owned);
        Ok(())
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its value.
    pub(crate) async fn eval(&mut self, expression: &str) -> anyhow::Result<Value> {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
            )
            .await?;
        if let Some(exception) = result.get("exceptionDetails") {
            bail!("the page threw: {exception}");
        }
        Ok(result["result"]["value"].clone())
    }

    /// Polls `expression` until it is `true`.
    pub(crate) async fn wait_for(&mut self, what: &str, expression: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.eval(expression).await? != json!(true) {
            if tokio::time::Instant::now() > deadline {
                let page = self
                    .eval("location.href + ': ' + (document.body?.innerText ?? '') + ' hook: ' + typeof window.__bench")
                    .await?;
                bail!("timed out waiting for {what}; the page: {page}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }
}
