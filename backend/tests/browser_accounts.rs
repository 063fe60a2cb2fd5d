//! Accounts end to end, in headless Chromium (see `browser.rs`): create an
//! account in the browser and land in the chat signed in (the badge says
//! so), a guest asking for the same nickname is refused as reserved,
//! signing out logs out, a wrong password is told next to the password,
//! the right one signs in again, and a reload offers "Continue as …". The
//! screenshots of the sign-in form (clean and refused) and of the chat
//! signed in, in `docs/screenshots/`, come from here.

mod common;
#[path = "common/browser.rs"]
mod harness;

use fantoccini::{Client, Locator};
use serde_json::json;

use harness::*;

const PASSWORD: &str = "correct horse battery staple";

/// Waits until the chat is online and the badge beside one's own name
/// says `signed_in` (true: "signed in", false: "guest").
async fn wait_badge(client: &Client, signed_in: bool) {
    wait_until(
        client,
        &format!("the chat, signed in: {signed_in}"),
        &format!(
            "return document.querySelector('[data-testid=connection-status]')?.dataset.status === 'online' \
             && document.querySelector('[data-testid=account-badge]')?.dataset.account === '{signed_in}'"
        ),
    )
    .await;
}

/// Waits for the server's refusal shown next to `field`, containing `text`.
async fn wait_account_error(client: &Client, field: &str, text: &str) {
    wait_until(
        client,
        &format!("the {field} error {text:?}"),
        &format!(
            "const e = document.querySelector('[data-testid=account-error][data-field={field}]'); \
             return !!e && e.textContent.includes({})",
            json!(text)
        ),
    )
    .await;
}

/// What `GET /api/me` answers in this page (its status).
async fn me_status(client: &Client) -> u64 {
    let script = r#"
        const done = arguments[arguments.length - 1];
        fetch('/api/me', { credentials: 'same-origin' }).then(r => done(r.status)).catch(() => done(0));
    "#;
    client
        .execute_async(script, vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_an_account_sign_out_and_sign_in_again() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let room_url = format!("{}#/room/accounts", stage.app_url());
    let mina = stage.browser(1280, 800, false).await;
    let guest = stage.browser(1280, 800, false).await;

    // Create an account: the chat opens, signed in.
    mina.goto(&room_url).await.unwrap();
    click(&mina, "[data-testid=mode-create]").await;
    type_into(&mina, "[data-testid=account-nick]", "Mina").await;
    type_into(&mina, "[data-testid=account-password]", PASSWORD).await;
    type_into(&mina, "[data-testid=account-confirm]", PASSWORD).await;
    assert_eq!(
        js(
            &mina,
            "return document.querySelector('[data-testid=account-room]').value"
        )
        .await,
        json!("accounts")
    );
    click(&mina, "[data-testid=account-submit]").await;
    wait_badge(&mina, true).await;
    assert_eq!(me_status(&mina).await, 200, "the session cookie is set");
    say(&mina, "hello from an account").await;
    wait_until(
        &mina,
        "the message sent",
        "return [...document.querySelectorAll('[data-testid=message]')].some(m => m.dataset.state === 'sent')",
    )
    .await;

    // A guest in the same room is marked a guest.
    join(&guest, &room_url, "joon", "accounts").await;
    wait_badge(&guest, false).await;
    wait_for_text(&guest, "hello from an account").await;

    // Signing out logs out: no "Continue as" any more, and no cookie.
    click(&mina, "[data-testid=quit]").await;
    wait_until(
        &mina,
        "the join screen",
        "return !!document.querySelector('[data-testid=mode-sign-in]')",
    )
    .await;
    assert_eq!(me_status(&mina).await, 401, "the cookie is gone");
    assert_eq!(
        js(
            &mina,
            "return !!document.querySelector('[data-testid=continue-as]')"
        )
        .await,
        json!(false)
    );

    // Mina is gone, but a guest still cannot take the nickname: it is
    // reserved for the account.
    wait_until(
        &guest,
        "Mina gone from the members",
        "return [...document.querySelectorAll('[data-testid=member]')].every(m => !m.textContent.startsWith('Mina'))",
    )
    .await;
    click(&guest, "[data-testid=quit]").await;
    let nick = guest
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=join-nick]"))
        .await
        .unwrap();
    nick.clear().await.unwrap();
    nick.send_keys("Mina").await.unwrap();
    click(&guest, "[data-testid=join-submit]").await;
    wait_until(
        &guest,
        "the reserved error",
        "return !!document.querySelector('[data-testid=join-error]')?.textContent.includes('reserved')",
    )
    .await;
    assert_eq!(
        js(
            &guest,
            "return document.querySelector('[data-testid=join-nick]').getAttribute('aria-invalid')"
        )
        .await,
        json!("true")
    );
    nick.clear().await.unwrap();
    nick.send_keys("joon").await.unwrap();
    click(&guest, "[data-testid=join-submit]").await;
    wait_badge(&guest, false).await;

    // A wrong password is told next to the password field.
    click(&mina, "[data-testid=mode-sign-in]").await;
    assert_eq!(
        js(
            &mina,
            "return document.querySelector('[data-testid=account-nick]').value"
        )
        .await,
        json!("Mina"),
        "the nickname is remembered"
    );
    save_screenshot(&mina, "sign-in.png").await;
    type_into(&mina, "[data-testid=account-password]", "not the password").await;
    click(&mina, "[data-testid=account-submit]").await;
    wait_account_error(&mina, "password", "wrong nickname or password").await;
    assert_eq!(
        js(
            &mina,
            "return document.querySelector('[data-testid=account-password]').getAttribute('aria-invalid')"
        )
        .await,
        json!("true")
    );
    save_screenshot(&mina, "sign-in-error.png").await;

    // The right one signs in again, and the history is there.
    let password = mina
        .find(Locator::Css("[data-testid=account-password]"))
        .await
        .unwrap();
    password.clear().await.unwrap();
    password.send_keys(PASSWORD).await.unwrap();
    click(&mina, "[data-testid=account-submit]").await;
    wait_badge(&mina, true).await;
    wait_for_text(&mina, "hello from an account").await;

    // A reload: the cookie is still there, "Continue as Mina" is one click.
    mina.refresh().await.unwrap();
    wait_until(
        &mina,
        "Continue as Mina",
        "return document.querySelector('[data-testid=continue-as]')?.textContent === 'Continue as Mina'",
    )
    .await;
    click(&mina, "[data-testid=continue-as]").await;
    wait_badge(&mina, true).await;
    say(&mina, "back again").await;
    wait_for_text(&guest, "back again").await;
    save_screenshot(&mina, "chat-signed-in.png").await;
    for client in [mina, guest] {
        client.close().await.unwrap();
    }
}
