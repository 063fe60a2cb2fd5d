//! End to end, in real headless Chromium: the built app (`dist/`, from
//! `trunk build --release`) served by the real server binary, driven through
//! ChromeDriver with fantoccini. `make test` builds `dist/` and installs
//! Debian's `chromium` and `chromium-driver` first.
//!
//! Each test starts its own server on a free loopback port, its own
//! ChromeDriver, and browsers with fresh profiles, and stops them all.
//! Screenshots for the README are written to `docs/screenshots/`. The
//! harness is in `common/browser.rs`; message life is tested in
//! `browser_life.rs`, accessibility (axe-core) in `browser_a11y.rs`.

mod common;
#[path = "common/browser.rs"]
mod harness;

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_chat_and_see_each_other() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let mina = stage.browser(1280, 800, false).await;
    let joon = stage.browser(1280, 800, false).await;
    join(&mina, &stage.app_url(), "mina", "e2e").await;
    join(&joon, &stage.app_url(), "joon", "e2e").await;

    wait_until(&mina, "joon in the member list", "return [...document.querySelectorAll('[data-testid=member]')].some(e => e.textContent.includes('joon'))").await;
    wait_until(&mina, "the join line", "return [...document.querySelectorAll('[data-testid=system-line]')].some(e => e.textContent === 'joon joined')").await;

    say(&mina, "hello joon").await;
    wait_for_text(&joon, "hello joon").await;
    wait_until(&mina, "the ack", "return document.querySelector('[data-testid=message][data-own=true]')?.dataset.state === 'sent'").await;
    say(&joon, "hi mina! 안녕하세요").await;
    wait_for_text(&mina, "hi mina! 안녕하세요").await;
    assert_eq!(count_text(&mina, "hello joon").await, 1);

    // A second room keeps the first; unread counts show in the sidebar.
    let open = joon
        .find(Locator::Css("[data-testid=open-room-input]"))
        .await
        .unwrap();
    open.send_keys("random\u{E007}").await.unwrap();
    wait_until(&joon, "the second room", "return document.querySelector('[data-testid=room-tab][data-active=true]')?.dataset.room === 'random'").await;
    say(&mina, "are you there?").await;
    wait_until(&joon, "an unread badge on e2e", "return document.querySelector('[data-testid=room-tab][data-room=e2e] [data-testid=room-unread]')?.textContent === '1'").await;
    wait_until(
        &joon,
        "the unread count in the title",
        "return document.title === '(1) Parley'",
    )
    .await;

    for client in [mina, joon] {
        client.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_during_ime_composition_does_not_send() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let browser = stage.browser(1280, 800, false).await;
    join(&browser, &stage.app_url(), "민아", "ime").await;
    let composer = browser
        .find(Locator::Css("[data-testid=composer]"))
        .await
        .unwrap();
    composer.send_keys("안녕").await.unwrap();
    // What a browser dispatches when Enter confirms a Hangul/Kana/Hanzi composition.
    js(
        &browser,
        "const c = document.querySelector('[data-testid=composer]');
         c.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', isComposing: true, bubbles: true, cancelable: true}));
         c.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', keyCode: 229, bubbles: true, cancelable: true}));
         return true",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        js(
            &browser,
            "return document.querySelectorAll('[data-testid=message]').length"
        )
        .await,
        json!(0),
        "nothing was sent"
    );
    assert_eq!(
        js(
            &browser,
            "return document.querySelector('[data-testid=composer]').value"
        )
        .await,
        json!("안녕")
    );
    // A plain Enter after the composition sends.
    composer.send_keys("\u{E007}").await.unwrap();
    wait_for_text(&browser, "안녕").await;
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_messages_is_shown_as_text() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let sender = stage.browser(1280, 800, false).await;
    let reader = stage.browser(1280, 800, false).await;
    join(&sender, &stage.app_url(), "mallory", "xss").await;
    join(&reader, &stage.app_url(), "alice", "xss").await;
    js(
        &reader,
        "window.__alerted = false; window.alert = () => { window.__alerted = true; }; return true",
    )
    .await;
    let payload = "<img src=x onerror=alert(1)> <b>bold</b> https://example.com/?q=<script>";
    say(&sender, payload).await;
    wait_for_text(&reader, payload).await;
    assert_eq!(js(&reader, "return document.querySelectorAll('[data-testid=message-list] img, [data-testid=message-list] b, [data-testid=message-list] script').length").await, json!(0));
    assert_eq!(js(&reader, "return window.__alerted").await, json!(false));
    assert_eq!(
        js(&reader, "return [...document.querySelectorAll('[data-testid=message-list] a')].map(a => a.getAttribute('href'))").await,
        json!(["https://example.com/?q=<script>"]),
        "the http link is a link, and only it"
    );
    for client in [sender, reader] {
        client.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_reconnect_by_themselves_after_a_server_restart() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut stage = Stage::start().await;
    let a = stage.browser(1280, 800, false).await;
    let b = stage.browser(1280, 800, false).await;
    join(&a, &stage.app_url(), "ana", "restart").await;
    join(&b, &stage.app_url(), "bo", "restart").await;
    say(&a, "before the restart").await;
    wait_for_text(&b, "before the restart").await;

    let addr = stage.server.addr.to_string();
    assert!(stage.server.terminate(), "the server exits 0 on SIGTERM");
    for client in [&a, &b] {
        wait_until(client, "the reconnecting status", "return ['reconnecting', 'connecting'].includes(document.querySelector('[data-testid=connection-status]').dataset.status)").await;
    }
    stage.server = start_server(stage.db_dir.path(), Some(&addr));
    for client in [&a, &b] {
        wait_until(client, "online again", "return document.querySelector('[data-testid=connection-status]').dataset.status === 'online'").await;
    }
    say(&a, "after the restart").await;
    wait_for_text(&b, "after the restart").await;
    for client in [&a, &b] {
        assert_eq!(
            count_text(client, "before the restart").await,
            1,
            "nothing shown twice"
        );
        assert_eq!(count_text(client, "after the restart").await, 1);
    }
    for client in [a, b] {
        client.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_360px_screen_has_no_horizontal_scroll() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let phone = stage.browser(360, 740, false).await;
    let no_overflow = "return document.documentElement.scrollWidth <= window.innerWidth && document.body.scrollWidth <= window.innerWidth";
    phone.goto(&stage.app_url()).await.unwrap();
    phone
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=join-nick]"))
        .await
        .unwrap();
    assert_eq!(js(&phone, "return window.innerWidth").await, json!(360));
    assert_eq!(js(&phone, no_overflow).await, json!(true), "join screen");
    join(
        &phone,
        &stage.app_url(),
        "narrow",
        "a-room-with-a-rather-long-name-for-a-phone",
    )
    .await;
    say(&phone, "https://example.com/a/very/long/link/that/should/wrap/instead/of/pushing/the/page/sideways/at/all").await;
    say(&phone, &"word".repeat(80)).await;
    wait_for_text(&phone, &"word".repeat(80)).await;
    assert_eq!(js(&phone, no_overflow).await, json!(true), "chat screen");
    save_screenshot(&phone, "chat-phone.png").await;
    phone.close().await.unwrap();
}

/// A busy room for the README's screenshots, light and dark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_the_join_screen_and_a_busy_chat() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let light = stage.browser(1280, 800, false).await;
    light.goto(&stage.app_url()).await.unwrap();
    light
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=join-nick]"))
        .await
        .unwrap();
    save_screenshot(&light, "join.png").await;

    let others = stage.browser(1280, 800, false).await;
    join(&others, &stage.app_url(), "joon", "general").await;
    let script = [
        ("joon", "Morning! Is the deploy still on for 10:00?"),
        (
            "joon",
            "I pushed the migration fix: https://example.com/parley/pull/42",
        ),
    ];
    for (_, text) in script {
        say(&others, text).await;
    }
    join(&light, &stage.app_url(), "mina", "general").await;
    say(&light, "Yes, 10:00. I'll watch the dashboards 📈").await;
    say(&others, "great, thanks!").await;
    say(&light, "다들 좋은 아침이에요 ☀️").await;
    wait_for_text(&light, "great, thanks!").await;
    wait_until(&light, "all sent", "return [...document.querySelectorAll('[data-testid=message][data-own=true]')].every(m => m.dataset.state === 'sent')").await;
    let composer = others
        .find(Locator::Css("[data-testid=composer]"))
        .await
        .unwrap();
    composer.send_keys("typing a reply").await.unwrap();
    wait_until(&light, "the typing indicator", "return document.querySelector('[data-testid=typing-indicator]').textContent.includes('joon')").await;
    save_screenshot(&light, "chat-light.png").await;

    let dark = stage.browser(1280, 800, true).await;
    join(&dark, &stage.app_url(), "ana", "general").await;
    wait_for_text(&dark, "great, thanks!").await;
    assert_eq!(
        js(
            &dark,
            "return matchMedia('(prefers-color-scheme: dark)').matches"
        )
        .await,
        json!(true)
    );
    save_screenshot(&dark, "chat-dark.png").await;
    for client in [light, others, dark] {
        client.close().await.unwrap();
    }
}
