//! Accounts over real HTTP and WebSocket: register, sign in (token and
//! cookie), who am I, sign out, change the password, delete the account;
//! each failure with its status and code; sign-in attempts limited; a
//! registered nickname reserved from guests; another tab taking the
//! session over; and, with the real binary on SQLite, a sign-in that
//! outlives a restart and a password that is never written down.

mod common;

use std::time::Duration;

use parley::config::Rate;
use parley_protocol::{ClientFrame, ErrorCode, ServerFrame};
use serde_json::json;

use common::raw::{http, Answer};
use common::{error_code, test_config, Client, ServerProcess, TestServer};

const PASSWORD: &str = "correct horse battery staple";

async fn post(server: &TestServer, path: &str, body: serde_json::Value) -> Answer {
    http(server.addr, "POST", path, &[], &body.to_string()).await
}

async fn register(server: &TestServer, nick: &str) -> Answer {
    post(
        server,
        "/api/register",
        json!({"nick": nick, "password": PASSWORD}),
    )
    .await
}

/// Signs `nick` in; returns the token.
async fn login(server: &TestServer, nick: &str, password: &str) -> String {
    let answer = post(
        server,
        "/api/login",
        json!({"nick": nick, "password": password}),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json()["token"].as_str().unwrap().to_owned()
}

async fn me(server: &TestServer, token: &str) -> Answer {
    let bearer = format!("Bearer {token}");
    http(
        server.addr,
        "GET",
        "/api/me",
        &[("Authorization", &bearer)],
        "",
    )
    .await
}

fn code(answer: &Answer) -> String {
    answer.json()["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Says `hello` with `frame` and returns the answer.
async fn hello_with(client: &mut Client, nick: &str, token: Option<&str>) -> ServerFrame {
    client
        .send(ClientFrame::Hello {
            nick: nick.into(),
            resume: None,
            token: token.map(str::to_owned),
        })
        .await;
    client.recv().await
}

#[tokio::test]
async fn register_sign_in_ask_and_sign_out() {
    let server = TestServer::start(test_config()).await;
    let created = register(&server, "Mina").await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.json()["nick"], "Mina");

    for (nick, status, expected) in [
        ("Mina", 409, "nick_taken"),
        ("MINA", 409, "nick_taken"),
        ("Mіna", 400, "invalid_nick"), // Cyrillic і
        ("<b>", 400, "invalid_nick"),
    ] {
        let answer = register(&server, nick).await;
        assert_eq!(
            (answer.status, code(&answer).as_str()),
            (status, expected),
            "{nick}"
        );
    }
    let weak = post(
        &server,
        "/api/register",
        json!({"nick": "joon", "password": "password1"}),
    )
    .await;
    assert_eq!((weak.status, code(&weak).as_str()), (400, "weak_password"));
    assert!(weak.json()["message"]
        .as_str()
        .unwrap()
        .contains("too easy to guess"));
    let short = post(
        &server,
        "/api/register",
        json!({"nick": "joon", "password": "a1!"}),
    )
    .await;
    assert!(short.json()["message"]
        .as_str()
        .unwrap()
        .contains("at least 8"));
    let garbage = http(server.addr, "POST", "/api/register", &[], "{\"nick\":").await;
    assert_eq!(
        (garbage.status, code(&garbage).as_str()),
        (400, "bad_request")
    );

    // Wrong password and unknown nickname: the same answer.
    let wrong = post(
        &server,
        "/api/login",
        json!({"nick": "mina", "password": "nope nope nope"}),
    )
    .await;
    let unknown = post(
        &server,
        "/api/login",
        json!({"nick": "nobody", "password": PASSWORD}),
    )
    .await;
    for answer in [&wrong, &unknown] {
        assert_eq!(
            (answer.status, code(answer).as_str()),
            (401, "bad_credentials")
        );
    }
    assert_eq!(wrong.body, unknown.body);

    let signed_in = post(
        &server,
        "/api/login",
        json!({"nick": "mina", "password": PASSWORD}),
    )
    .await;
    assert_eq!(signed_in.status, 200);
    assert_eq!(signed_in.json()["nick"], "Mina");
    let token = signed_in.json()["token"].as_str().unwrap().to_owned();
    let cookie = signed_in.header("set-cookie").unwrap();
    for part in [
        format!("parley_session={token}"),
        "HttpOnly".into(),
        "SameSite=Lax".into(),
        "Path=/".into(),
    ] {
        assert!(cookie.contains(&part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "http here: {cookie}");

    assert_eq!(me(&server, &token).await.json()["nick"], "Mina");
    let by_cookie = http(
        server.addr,
        "GET",
        "/api/me",
        &[("Cookie", &format!("theme=dark; parley_session={token}"))],
        "",
    )
    .await;
    assert_eq!(by_cookie.json()["nick"], "Mina");

    let bearer = format!("Bearer {token}");
    let out = http(
        server.addr,
        "POST",
        "/api/logout",
        &[("Authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let after = me(&server, &token).await;
    assert_eq!((after.status, code(&after).as_str()), (401, "unauthorized"));
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_account_and_per_address() {
    let mut config = test_config();
    config.accounts.login_rate = Rate::new(3, Duration::from_secs(3600));
    config.accounts.login_rate_per_ip = Rate::new(6, Duration::from_secs(3600));
    let server = TestServer::start(config).await;
    assert_eq!(register(&server, "mina").await.status, 201); // one attempt on mina
    for _ in 0..2 {
        let answer = post(
            &server,
            "/api/login",
            json!({"nick": "mina", "password": "guess guess"}),
        )
        .await;
        assert_eq!(answer.status, 401);
    }
    // Even the right password waits now.
    let locked = post(
        &server,
        "/api/login",
        json!({"nick": "mina", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        (locked.status, code(&locked).as_str()),
        (429, "too_many_attempts")
    );
    let retry: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=1200).contains(&retry), "{retry}");
    // Every attempt counted against the address (the refused one too):
    // two are left, on other accounts.
    for nick in ["a1", "a2"] {
        let answer = post(
            &server,
            "/api/login",
            json!({"nick": nick, "password": "guess guess"}),
        )
        .await;
        assert_eq!(answer.status, 401, "{nick}");
    }
    let answer = post(
        &server,
        "/api/login",
        json!({"nick": "a4", "password": "guess guess"}),
    )
    .await;
    assert_eq!(answer.status, 429);
}

#[tokio::test]
async fn another_sites_page_cannot_use_the_account_routes() {
    let server = TestServer::start(test_config()).await;
    register(&server, "mina").await;
    let token = login(&server, "mina", PASSWORD).await;
    let cookie = format!("parley_session={token}");
    let evil = http(
        server.addr,
        "POST",
        "/api/logout",
        &[("Cookie", &cookie), ("Origin", "http://evil.example")],
        "",
    )
    .await;
    assert_eq!((evil.status, code(&evil).as_str()), (403, "forbidden"));
    assert_eq!(me(&server, &token).await.status, 200, "still signed in");
    let own = format!("http://{}", server.addr);
    let ours = http(
        server.addr,
        "POST",
        "/api/logout",
        &[("Cookie", &cookie), ("Origin", &own)],
        "",
    )
    .await;
    assert_eq!(ours.status, 204);
}

#[tokio::test]
async fn an_account_signs_in_over_the_websocket_and_keeps_its_nickname() {
    let server = TestServer::start(test_config()).await;
    register(&server, "mina").await;
    let token = login(&server, "mina", PASSWORD).await;

    // While mina is away, guests cannot take her nickname or a look-alike.
    let mut guest = server.client().await;
    for nick in ["mina", "MINA", "mіna"] {
        let refusal = hello_with(&mut guest, nick, None).await;
        let expected = if nick == "mіna" {
            ErrorCode::InvalidNick
        } else {
            ErrorCode::NickReserved
        };
        assert_eq!(error_code(&refusal), expected, "{nick}");
    }

    let mut bad = server.client().await;
    let refusal = hello_with(&mut bad, "", Some("t_forged")).await;
    assert_eq!(error_code(&refusal), ErrorCode::InvalidToken);

    let mut tab = server.client().await;
    match hello_with(&mut tab, "ignored", Some(&token)).await {
        ServerFrame::Welcome { nick, account, .. } => {
            assert_eq!(nick, "mina");
            assert!(account);
        }
        other => panic!("{other:?}"),
    }
    tab.join("r").await;

    // The browser app: no nickname, the cookie on the upgrade.
    let request = format!("ws://{}/ws", server.addr);
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            request.as_str(),
        )
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", format!("parley_session={token}").parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut second = Client { ws, resume: None };
    match hello_with(&mut second, "", None).await {
        ServerFrame::Welcome {
            nick,
            account,
            resumed,
            rooms,
            ..
        } => {
            assert_eq!(nick, "mina");
            assert!(account && resumed, "another tab takes the session over");
            assert_eq!(rooms, vec!["r".to_owned()]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        tab.expect_close().await,
        parley_protocol::close::REPLACED,
        "the first tab is told why"
    );

    // A guest without the cookie is still a guest.
    let mut visitor = server.client().await;
    match hello_with(&mut visitor, "joon", None).await {
        ServerFrame::Welcome { account, .. } => assert!(!account),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sign_ins_and_deleting_frees_the_nickname() {
    let server = TestServer::start(test_config()).await;
    register(&server, "mina").await;
    let here = login(&server, "mina", PASSWORD).await;
    let elsewhere = login(&server, "mina", PASSWORD).await;
    let bearer = format!("Bearer {here}");
    let auth = [("Authorization", bearer.as_str())];
    let new_password = "a much longer passphrase, 2026";

    let change =
        |password: &str, new: &str| json!({"password": password, "new_password": new}).to_string();
    let wrong = http(
        server.addr,
        "POST",
        "/api/password",
        &auth,
        &change("nope nope", new_password),
    )
    .await;
    assert_eq!(
        (wrong.status, code(&wrong).as_str()),
        (401, "bad_credentials")
    );
    let weak = http(
        server.addr,
        "POST",
        "/api/password",
        &auth,
        &change(PASSWORD, "12345678"),
    )
    .await;
    assert_eq!((weak.status, code(&weak).as_str()), (400, "weak_password"));
    let done = http(
        server.addr,
        "POST",
        "/api/password",
        &auth,
        &change(PASSWORD, new_password),
    )
    .await;
    assert_eq!(done.status, 204, "{done:?}");
    assert_eq!(me(&server, &here).await.status, 200, "this sign-in stays");
    assert_eq!(me(&server, &elsewhere).await.status, 401, "the others end");
    let old = post(
        &server,
        "/api/login",
        json!({"nick": "mina", "password": PASSWORD}),
    )
    .await;
    assert_eq!(old.status, 401);

    let confirm = |password: &str| json!({"password": password}).to_string();
    let refused = http(
        server.addr,
        "DELETE",
        "/api/account",
        &auth,
        &confirm(PASSWORD),
    )
    .await;
    assert_eq!(refused.status, 401, "the old password no longer confirms");
    let deleted = http(
        server.addr,
        "DELETE",
        "/api/account",
        &auth,
        &confirm(new_password),
    )
    .await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_eq!(me(&server, &here).await.status, 401);
    let mut guest = server.client().await;
    assert!(matches!(
        hello_with(&mut guest, "mina", None).await,
        ServerFrame::Welcome { .. }
    ));
}

#[tokio::test]
async fn a_nickname_in_use_by_a_guest_cannot_be_registered() {
    let server = TestServer::start(test_config()).await;
    let _joon = server.hello("joon").await;
    let answer = register(&server, "JOON").await;
    assert_eq!((answer.status, code(&answer).as_str()), (409, "nick_taken"));
}

/// Every byte of the files in `dir`.
fn files_in(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    all
}

#[tokio::test]
async fn a_sign_in_outlives_a_restart_and_the_password_is_never_written_down() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let log = dir.path().join("server.log");
    let secret = "unmistakable secret phrase 9f3c";
    let mut server = ServerProcess::spawn_logging_to(&["--database-url", &url], &log);
    let answer = http(
        server.addr,
        "POST",
        "/api/register",
        &[],
        &json!({"nick": "mina", "password": secret}).to_string(),
    )
    .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    let answer = http(
        server.addr,
        "POST",
        "/api/login",
        &[],
        &json!({"nick": "mina", "password": secret}).to_string(),
    )
    .await;
    let token = answer.json()["token"].as_str().unwrap().to_owned();
    assert!(server.terminate(), "a clean stop");

    // An operator names her an admin from the shell.
    let admin = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_parley-backend"))
            .arg("admin")
            .args(args)
            .args(["--database-url", &url])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text.trim().to_owned())
    };
    assert_eq!(
        admin(&["grant", "MINA"]),
        (true, "mina is a server admin".into())
    );
    assert_eq!(admin(&["list"]), (true, "mina".into()));
    let (ok, said) = admin(&["grant", "nobody"]);
    assert!(
        !ok && said.contains("no account is called \"nobody\""),
        "{said}"
    );

    let restarted = ServerProcess::spawn_logging_to(&["--database-url", &url], &log);
    let bearer = format!("Bearer {token}");
    let who = http(
        restarted.addr,
        "GET",
        "/api/me",
        &[("Authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(who.json(), json!({"nick": "mina", "admin": true}));
    let mut client = Client::connect(&restarted.url()).await;
    match hello_with(&mut client, "", Some(&token)).await {
        ServerFrame::Welcome { nick, account, .. } => assert!(account && nick == "mina"),
        other => panic!("{other:?}"),
    }
    drop(restarted);

    let written = files_in(dir.path());
    let find = |needle: &str| {
        written
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    };
    assert!(!find(secret), "the password is in a file");
    assert!(
        !find(&token),
        "the token is in a file (only its digest may be)"
    );
    assert!(find("$argon2id$"), "the hash is stored");
}
