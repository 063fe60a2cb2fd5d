//! Rooms people run and direct messages, end to end in headless Chromium
//! (see `browser.rs`): the owner (the first signed-in joiner) kicks a
//! guest from the member menu (the guest is told who and why, the room no
//! longer lists them), mutes and unmutes him (his composer is disabled,
//! with the reason), sets the topic in the settings dialog (another
//! member's header shows it), and makes the room "Signed-in members only"
//! (a guest trying to join is told so); one account opens "Message" on
//! another (both see it under "Direct messages" by the other's nickname,
//! messages go both ways, a third account cannot see or join it). axe-core
//! finds nothing on the settings dialog, the member menu or a direct
//! message. The screenshots `room-settings.png` and `direct-message.png`
//! in `docs/screenshots/` come from here. Each test is bounded in time.

mod common;
#[path = "common/browser.rs"]
mod harness;

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::json;

use harness::*;

const PASSWORD: &str = "correct horse battery staple";

/// The longest one test may take (on a busy 2-core machine).
const BOUND: Duration = Duration::from_secs(300);

/// Creates the account `nick` in the browser and lands in `room`, signed in.
async fn create_account(client: &Client, stage: &Stage, nick: &str, room: &str) {
    client
        .goto(&format!("{}#/room/{room}", stage.app_url()))
        .await
        .unwrap();
    click(client, "[data-testid=mode-create]").await;
    type_into(client, "[data-testid=account-nick]", nick).await;
    type_into(client, "[data-testid=account-password]", PASSWORD).await;
    type_into(client, "[data-testid=account-confirm]", PASSWORD).await;
    click(client, "[data-testid=account-submit]").await;
    wait_until(
        client,
        &format!("{nick} signed in"),
        "return document.querySelector('[data-testid=connection-status]')?.dataset.status === 'online' \
         && document.querySelector('[data-testid=account-badge]')?.dataset.account === 'true'",
    )
    .await;
}

/// Waits until some element `css` selects has `text` in its text.
async fn wait_text(client: &Client, css: &str, text: &str) {
    wait_until(
        client,
        &format!("{css} saying {text:?}"),
        &format!(
            "return [...document.querySelectorAll({})].some(e => e.textContent.includes({}))",
            json!(css),
            json!(text)
        ),
    )
    .await;
}

async fn exists(client: &Client, css: &str) -> bool {
    js(
        client,
        &format!("return !!document.querySelector({})", json!(css)),
    )
    .await
        == json!(true)
}

/// Opens `nick`'s menu in the member list.
async fn open_member_menu(client: &Client, nick: &str) {
    click(
        client,
        &format!("[data-testid=member-button][data-nick={}]", json!(nick)),
    )
    .await;
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=member-menu]"))
        .await
        .expect("the member menu");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_kicks_sets_the_topic_and_keeps_guests_out() {
    let _turn = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(BOUND, owner_runs_a_room())
        .await
        .expect("the test ends within its bound");
}

async fn owner_runs_a_room() {
    let stage = Stage::start().await;
    let ana = stage.browser(1280, 800, false).await;
    let bob = stage.browser(1280, 800, false).await;

    // Ana is the first account in #run: its owner, with the settings.
    create_account(&ana, &stage, "Ana", "run").await;
    wait_until(
        &ana,
        "the Room settings button",
        "return !!document.querySelector('[data-testid=room-settings]')",
    )
    .await;
    join(&bob, &stage.app_url(), "bob", "run").await;
    assert!(
        !exists(&bob, "[data-testid=room-settings]").await,
        "a guest has no settings"
    );
    wait_until(
        &ana,
        "bob in the member list",
        "return !!document.querySelector('[data-testid=member-button][data-nick=bob]')",
    )
    .await;

    // The member menu, from the keyboard: Down moves, Escape closes and
    // gives the focus back to the member's button.
    open_member_menu(&ana, "bob").await;
    let focused = "return document.activeElement?.dataset.testid";
    assert_eq!(js(&ana, focused).await, json!("menu-message"));
    type_into(&ana, "[data-testid=menu-message]", "\u{E015}").await; // Down
    assert_eq!(js(&ana, focused).await, json!("menu-kick"));
    axe(&ana, "the member menu").await;
    type_into(&ana, "[data-testid=menu-kick]", "\u{E00C}").await; // Escape
    assert_eq!(js(&ana, focused).await, json!("member-button"));
    assert!(!exists(&ana, "[data-testid=member-menu]").await);

    // Kick with a reason: bob is told, and the room no longer lists him.
    open_member_menu(&ana, "bob").await;
    click(&ana, "[data-testid=menu-kick]").await;
    type_into(&ana, "[data-testid=reason-input]", "spam\u{E007}").await;
    wait_text(
        &bob,
        "[data-testid=removed-notice]",
        "You were removed from #run by Ana: spam",
    )
    .await;
    assert_eq!(
        js(
            &bob,
            "return document.querySelector('[data-testid=removed-notice]').getAttribute('role')"
        )
        .await,
        json!("alert")
    );
    assert!(!exists(&bob, "[data-testid=room-tab][data-room=run]").await);
    wait_until(
        &ana,
        "bob gone from the members",
        "return !document.querySelector('[data-testid=member][data-nick=bob]')",
    )
    .await;
    wait_text(&ana, "[data-testid=system-line]", "Ana kicked bob (spam)").await;

    // bob may come back; the topic Ana sets shows in his header.
    type_into(&bob, "[data-testid=open-room-input]", "run\u{E007}").await;
    wait_until(
        &bob,
        "#run again",
        "return document.querySelector('[data-testid=room-tab][data-active=true]')?.dataset.room === 'run'",
    )
    .await;
    // Mute from the member menu: bob's composer is disabled, with the
    // reason beside it; Unmute gives it back.
    wait_until(
        &ana,
        "bob back in the member list",
        "return !!document.querySelector('[data-testid=member-button][data-nick=bob]')",
    )
    .await;
    open_member_menu(&ana, "bob").await;
    click(&ana, "[data-testid=menu-mute]").await;
    wait_text(&bob, "[data-testid=muted-note]", "You are muted in #run").await;
    assert_eq!(
        js(
            &bob,
            "return document.querySelector('[data-testid=composer]').disabled"
        )
        .await,
        json!(true)
    );
    wait_until(
        &ana,
        "bob marked muted",
        "return !!document.querySelector('[data-testid=member][data-nick=bob] [data-testid=muted-badge]')",
    )
    .await;
    open_member_menu(&ana, "bob").await;
    assert_eq!(
        js(
            &ana,
            "return document.querySelector('[data-testid=menu-mute]').textContent"
        )
        .await,
        json!("Unmute")
    );
    click(&ana, "[data-testid=menu-mute]").await;
    wait_until(
        &bob,
        "the composer back",
        "return !document.querySelector('[data-testid=muted-note]') \
         && !document.querySelector('[data-testid=composer]').disabled",
    )
    .await;

    click(&ana, "[data-testid=room-settings]").await;
    wait_until(
        &ana,
        "the dialog, focused",
        "return document.activeElement?.dataset.testid === 'settings-topic' \
         && document.querySelector('[role=dialog]')?.getAttribute('aria-labelledby') === 'settings-title'",
    )
    .await;
    type_into(
        &ana,
        "[data-testid=settings-topic]",
        "Rust 1.95 is out <b>!</b>",
    )
    .await;
    click(&ana, "[data-testid=settings-topic-save]").await;
    wait_text(
        &bob,
        "[data-testid=room-topic]",
        "Rust 1.95 is out <b>!</b>",
    )
    .await;
    assert!(!exists(&bob, ".room-topic b").await, "the topic is text");

    // "Signed-in members only": a guest is kept out, and told why.
    click(&ana, "[data-testid=mode-accounts-only]").await;
    wait_until(
        &ana,
        "the mode on",
        "return document.querySelector('[data-testid=mode-accounts-only]').checked",
    )
    .await;
    click(&ana, "[data-testid=settings-modlog-load]").await;
    wait_text(&ana, "[data-testid=modlog-entry]", "Ana kicked bob (spam)").await;
    axe(&ana, "the room settings dialog").await;
    save_screenshot(&ana, "room-settings.png").await;
    type_into(&ana, "[data-testid=settings-topic]", "\u{E00C}").await; // Escape
    wait_until(
        &ana,
        "the dialog closed, the focus back",
        "return !document.querySelector('[role=dialog]') \
         && document.activeElement?.dataset.testid === 'room-settings'",
    )
    .await;

    let cleo = stage.browser(1280, 800, false).await;
    cleo.goto(&format!("{}#/room/run", stage.app_url()))
        .await
        .unwrap();
    type_into(&cleo, "[data-testid=join-nick]", "cleo").await;
    click(&cleo, "[data-testid=join-submit]").await;
    wait_text(
        &cleo,
        "[data-testid=notice]",
        "#run is for signed-in members only",
    )
    .await;
    assert!(!exists(&cleo, "[data-testid=room-tab][data-room=run]").await);
    cleo.close().await.unwrap();
    ana.close().await.unwrap();
    bob.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_between_two_accounts() {
    let _turn = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(BOUND, direct_message())
        .await
        .expect("the test ends within its bound");
}

async fn direct_message() {
    let stage = Stage::start().await;
    let ana = stage.browser(1280, 800, false).await;
    let ben = stage.browser(1280, 800, false).await;
    create_account(&ana, &stage, "Ana", "lobby").await;
    create_account(&ben, &stage, "Ben", "lobby").await;

    // Ana: "Message" in Ben's menu opens it, shown as @Ben.
    open_member_menu(&ana, "Ben").await;
    click(&ana, "[data-testid=menu-message]").await;
    wait_until(
        &ana,
        "the direct message shown",
        "return document.querySelector('[data-testid=dm-tab][data-active=true]')?.dataset.title === '@Ben' \
         && document.querySelector('[data-testid=room-title]')?.textContent === '@Ben'",
    )
    .await;
    assert!(!exists(&ana, "[data-testid=room-settings]").await);
    assert!(!exists(&ana, "[data-testid=room-tab][data-room^='dm:']").await);
    let dm = js(
        &ana,
        "return document.querySelector('[data-testid=dm-tab]').dataset.room",
    )
    .await
    .as_str()
    .unwrap()
    .to_owned();
    assert!(dm.starts_with("dm:"));
    assert!(
        !js(&ana, "return document.body.innerText")
            .await
            .as_str()
            .unwrap()
            .contains(&dm),
        "the dm: name is never shown"
    );

    // Ben is joined too: it is in his sidebar as @Ana.
    wait_until(
        &ben,
        "the direct message in Ben's sidebar",
        "return document.querySelector('[data-testid=dm-tab]')?.dataset.title === '@Ana'",
    )
    .await;
    say(&ana, "hi Ben, a word in private").await;
    wait_until(
        &ben,
        "an unread count on it",
        "return document.querySelector('[data-testid=dm-tab] [data-testid=room-unread]')?.textContent === '1'",
    )
    .await;
    click(&ben, "[data-testid=dm-tab]").await;
    wait_for_text(&ben, "hi Ben, a word in private").await;
    say(&ben, "sure, Ana").await;
    wait_for_text(&ana, "sure, Ana").await;
    axe(&ana, "a direct message").await;
    save_screenshot(&ana, "direct-message.png").await;

    // A third account sees nothing of it, and cannot join it.
    let cleo = stage.browser(1280, 800, false).await;
    create_account(&cleo, &stage, "Cleo", "lobby").await;
    assert!(!exists(&cleo, "[data-testid=dm-tab]").await);
    type_into(
        &cleo,
        "[data-testid=open-room-input]",
        &format!("{dm}\u{E007}"),
    )
    .await;
    wait_text(
        &cleo,
        "[data-testid=notice]",
        "is a direct message between two other people",
    )
    .await;
    assert!(!exists(&cleo, "[data-testid=dm-tab]").await);
    assert_eq!(count_text(&cleo, "hi Ben, a word in private").await, 0);
    cleo.close().await.unwrap();
    ana.close().await.unwrap();
    ben.close().await.unwrap();
}
