//! Message life end to end, in headless Chromium (see `browser.rs`): edits
//! (Up-arrow, Escape), deletions (confirmed), replies (the quote goes to
//! the original), reactions (chips that toggle), mentions (highlight, the
//! room list's badge, a notification in a hidden tab, mute, `@`
//! completion), search (marked words, paging, opening a hit loads older
//! pages until the message is shown), and Markdown that injects nothing.

mod common;
#[path = "common/browser.rs"]
mod harness;

use std::time::Duration;

use fantoccini::Client;
use serde_json::json;

use harness::*;

/// The selector of the message `seq`.
fn msg(seq: &str) -> String {
    format!("[data-testid=message][data-seq=\"{seq}\"]")
}

/// Opens the actions menu of message `seq`.
async fn open_menu(client: &Client, seq: &str) {
    click(
        client,
        &format!("{} [data-testid=message-actions]", msg(seq)),
    )
    .await;
    wait_until(
        client,
        "the message menu",
        &format!(
            "return !!document.querySelector('{} [data-testid=message-menu]')",
            msg(seq).replace('\'', "\\'")
        ),
    )
    .await;
}

/// Waits until `script` about message `seq` (as `m`) holds.
async fn wait_message(client: &Client, seq: &str, what: &str, check: &str) {
    let script = format!(
        "const m = document.querySelector('{}'); return !!m && ({check})",
        msg(seq).replace('\'', "\\'")
    );
    wait_until(client, what, &script).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_deletions_and_replies_reach_everyone() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let mina = stage.browser(1280, 800, false).await;
    let joon = stage.browser(1280, 800, false).await;
    join(&mina, &stage.app_url(), "mina", "life").await;
    join(&joon, &stage.app_url(), "joon", "life").await;

    say(&mina, "first try").await;
    let first = message_seq(&mina, "first try").await;
    wait_for_text(&joon, "first try").await;

    // Up-arrow in the empty composer edits the last message; Escape cancels.
    type_into(&mina, "[data-testid=composer]", "\u{E013}").await; // ArrowUp
    wait_until(&mina, "the edit mode", "return document.querySelector('[data-testid=composer]').value === 'first try' && !!document.querySelector('[data-testid=compose-bar]')").await;
    type_into(&mina, "[data-testid=composer]", "\u{E00C}").await; // Escape
    wait_until(&mina, "the edit cancelled", "return document.querySelector('[data-testid=composer]').value === '' && !document.querySelector('[data-testid=compose-bar]')").await;
    type_into(&mina, "[data-testid=composer]", "\u{E013}").await;
    wait_until(
        &mina,
        "the edit mode again",
        "return document.querySelector('[data-testid=composer]').value === 'first try'",
    )
    .await;
    type_into(&mina, "[data-testid=composer]", ", **edited**\u{E007}").await;
    for client in [&mina, &joon] {
        wait_message(client, &first, "the edit", "m.querySelector('.msg-body').textContent === 'first try, edited' && !!m.querySelector('.msg-body strong') && !!m.querySelector('[data-testid=edited]')").await;
    }
    assert_eq!(count_text(&joon, "first try").await, 0, "no old copy left");

    // joon answers it from the message's menu.
    open_menu(&joon, &first).await;
    click(&joon, "[data-testid=action-reply]").await;
    wait_until(
        &joon,
        "the reply bar",
        "return document.querySelector('[data-testid=compose-bar]')?.textContent.includes('mina')",
    )
    .await;
    say(&joon, "agreed").await;
    let reply = message_seq(&joon, "agreed").await;
    wait_message(
        &mina,
        &reply,
        "the reply with its quote",
        "m.querySelector('[data-testid=reply-quote]')?.textContent.includes('first try, edited')",
    )
    .await;

    // The quote goes to the message it answers.
    click(&mina, &format!("{} [data-testid=reply-quote]", msg(&reply))).await;
    wait_message(
        &mina,
        &first,
        "the answered message, flashed",
        "m.dataset.flash === 'true'",
    )
    .await;

    // mina deletes hers (asked first); both see a tombstone, and the quote says so.
    open_menu(&mina, &first).await;
    click(&mina, "[data-testid=action-delete]").await;
    click(&mina, "[data-testid=cancel-delete]").await;
    click(&mina, "[data-testid=action-delete]").await;
    click(&mina, "[data-testid=confirm-delete]").await;
    for client in [&mina, &joon] {
        wait_message(client, &first, "the tombstone", "m.dataset.deleted === 'true' && m.querySelector('[data-testid=deleted-body]')?.textContent === 'message deleted'").await;
        wait_message(
            client,
            &reply,
            "the quote of a deleted message",
            "m.querySelector('[data-testid=reply-quote]').textContent.includes('message deleted')",
        )
        .await;
        assert_eq!(count_text(client, "first try, edited").await, 0);
    }
    // Someone arriving later sees the same (the server keeps the current state).
    let ana = stage.browser(1280, 800, false).await;
    join(&ana, &stage.app_url(), "ana", "life").await;
    wait_message(
        &ana,
        &first,
        "the tombstone in the history",
        "m.dataset.deleted === 'true'",
    )
    .await;
    wait_message(
        &ana,
        &reply,
        "the reply in the history",
        "m.querySelector('[data-testid=reply-quote]').textContent.includes('message deleted')",
    )
    .await;
    for client in [mina, joon, ana] {
        client.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_are_chips_that_toggle() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let mina = stage.browser(1280, 800, false).await;
    let joon = stage.browser(1280, 800, false).await;
    join(&mina, &stage.app_url(), "mina", "react").await;
    join(&joon, &stage.app_url(), "joon", "react").await;
    say(&mina, "ship it?").await;
    let seq = message_seq(&mina, "ship it?").await;
    wait_for_text(&joon, "ship it?").await;

    open_menu(&joon, &seq).await;
    click(&joon, "[data-testid=action-react]").await;
    click(&joon, "[data-testid=emoji][data-emoji='🚀']").await;
    let chip = |count: u32, mine: bool| {
        format!("[...m.querySelectorAll('[data-testid=reaction]')].some(c => c.dataset.emoji === '🚀' && c.dataset.count === '{count}' && c.dataset.mine === '{mine}' && c.getAttribute('aria-pressed') === '{mine}')")
    };
    wait_message(&mina, &seq, "joon's reaction", &chip(1, false)).await;
    wait_message(&joon, &seq, "joon's own reaction", &chip(1, true)).await;
    // mina adds hers with the chip, then takes it back.
    click(&mina, &format!("{} [data-testid=reaction]", msg(&seq))).await;
    wait_message(&mina, &seq, "two, one mine", &chip(2, true)).await;
    wait_message(&joon, &seq, "two on the other side", &chip(2, true)).await;
    click(&mina, &format!("{} [data-testid=reaction]", msg(&seq))).await;
    wait_message(&mina, &seq, "back to one", &chip(1, false)).await;
    wait_message(&joon, &seq, "back to one there too", &chip(1, true)).await;
    for client in [mina, joon] {
        client.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_are_highlighted_counted_notified_and_muted() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let mina = stage.browser(1280, 800, false).await;
    let joon = stage.browser(1280, 800, false).await;
    join(&mina, &stage.app_url(), "mina", "here").await;
    join(&joon, &stage.app_url(), "joon", "here").await;
    // The permission is asked on a click, never on load; a stand-in
    // Notification records what would be shown.
    js(&mina, "window.__asked = 0; window.__notes = [];
        window.Notification = class { constructor(title, o) { window.__notes.push([title, o && o.body]); }
            static get permission() { return window.__asked ? 'granted' : 'default'; }
            static requestPermission() { window.__asked++; return Promise.resolve('granted'); } };
        return true").await;
    assert_eq!(js(&mina, "return window.__asked").await, json!(0));

    // @ completion in joon's composer.
    type_into(&joon, "[data-testid=composer]", "hey @mi").await;
    wait_until(&joon, "the completion", "return [...document.querySelectorAll('[data-testid=mention-option]')].map(o => o.textContent).join() === '@mina'").await;
    type_into(&joon, "[data-testid=composer]", "\u{E004}look\u{E007}").await; // Tab
                                                                              // Seen in another room: highlighted, and counted apart in the room list.
    type_into(&mina, "[data-testid=open-room-input]", "elsewhere\u{E007}").await;
    wait_until(&mina, "the second room", "return document.querySelector('[data-testid=room-tab][data-active=true]')?.dataset.room === 'elsewhere'").await;
    say(&joon, "@mina are you there?").await;
    wait_until(&mina, "a mention badge", "return document.querySelector('[data-testid=room-tab][data-room=here] [data-testid=room-mentions]')?.textContent === '@1'").await;
    click(&mina, "[data-testid=room-tab][data-room=here]").await;
    wait_until(&mina, "the highlighted mention", "return [...document.querySelectorAll('[data-testid=message][data-mention=true] .msg-body')].map(b => b.textContent).includes('@mina are you there?')").await;
    wait_for_text(&mina, "hey @mina look").await;

    // Notifications: asked on a click; a mention in a hidden tab notifies.
    click(&mina, "[data-testid=enable-notifications]").await;
    wait_until(&mina, "the permission", "return window.__asked === 1 && !document.querySelector('[data-testid=enable-notifications]')").await;
    let hide = "Object.defineProperty(document, 'hidden', {value: true, configurable: true}); document.dispatchEvent(new Event('visibilitychange')); return true";
    js(&mina, hide).await;
    say(&joon, "@mina ping").await;
    wait_until(&mina, "a notification", "return window.__notes.length === 1 && window.__notes[0][0] === 'joon in #here' && window.__notes[0][1] === '@mina ping'").await;
    say(&joon, "no mention here").await;
    // Muted: no notification and no badge.
    click(&mina, "[data-testid=mute-room]").await;
    wait_until(&mina, "muted", "return document.querySelector('[data-testid=mute-room]').getAttribute('aria-pressed') === 'true'").await;
    say(&joon, "@mina muted ping").await;
    wait_for_text(&mina, "@mina muted ping").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(js(&mina, "return window.__notes.length").await, json!(1));
    assert_eq!(
        js(
            &mina,
            "return !!document.querySelector('[data-testid=room-mentions]')"
        )
        .await,
        json!(false)
    );
    for client in [mina, joon] {
        client.close().await.unwrap();
    }
}

/// Empties the search field as a user would: the app hears an `input`.
const CLEAR_SEARCH: &str = "const f = document.querySelector('[data-testid=search-input]'); f.value = ''; f.dispatchEvent(new Event('input', {bubbles: true})); return true";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_marks_words_pages_and_opens_an_old_message() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start_with(&common::UNLIMITED_FLAGS).await;
    // A bot says the message to find, then enough after it that a new
    // reader's history does not reach it.
    let mut bot = common::Client::connect(&stage.server.url()).await;
    bot.hello("ana").await;
    bot.join("search").await;
    let target = bot.say("search", "the release notes are out", "b-0").await;
    for i in 1..=130 {
        bot.say("search", &format!("filler {i}"), &format!("b-{i}"))
            .await;
    }
    let mina = stage.browser(1280, 800, false).await;
    join(&mina, &stage.app_url(), "mina", "search").await;
    wait_for_text(&mina, "filler 130").await;
    assert_eq!(
        count_text(&mina, "the release notes are out").await,
        0,
        "not loaded yet"
    );

    js(&mina, "window.dispatchEvent(new KeyboardEvent('keydown', {key: 'k', ctrlKey: true, bubbles: true})); return true").await;
    type_into(&mina, "[data-testid=search-input]", "release NOTES\u{E007}").await;
    wait_until(&mina, "the hit", "return [...document.querySelectorAll('[data-testid=search-hit] mark')].map(m => m.textContent).join() === 'release,notes'").await;
    let hit = js(&mina, "const h = document.querySelector('[data-testid=search-hit]'); return [h.dataset.room, h.dataset.seq, h.textContent]").await;
    assert_eq!(hit[0], json!("search"));
    assert_eq!(hit[1], json!(target.to_string()));
    assert!(hit[2].as_str().unwrap().contains("ana"), "{hit}");

    // Paging: 20 hits, then more.
    js(&mina, CLEAR_SEARCH).await;
    type_into(&mina, "[data-testid=search-input]", "filler\u{E007}").await;
    wait_until(&mina, "a first page", "return document.querySelectorAll('[data-testid=search-hit]').length === 20 && !!document.querySelector('[data-testid=search-more]')").await;
    click(&mina, "[data-testid=search-more]").await;
    wait_until(
        &mina,
        "a second page",
        "return document.querySelectorAll('[data-testid=search-hit]').length === 40",
    )
    .await;

    // Opening a hit older than the history loads pages until it is shown.
    js(&mina, CLEAR_SEARCH).await;
    type_into(&mina, "[data-testid=search-input]", "release\u{E007}").await;
    wait_until(
        &mina,
        "the hit again",
        "return document.querySelectorAll('[data-testid=search-hit]').length === 1",
    )
    .await;
    click(&mina, "[data-testid=search-hit]").await;
    let seq = target.to_string();
    wait_message(&mina, &seq, "the message, flashed and in view", "m.dataset.flash === 'true' && (() => { const r = m.getBoundingClientRect(), l = document.querySelector('[data-testid=message-list]').getBoundingClientRect(); return r.top >= l.top && r.bottom <= l.bottom; })()").await;
    assert_eq!(
        js(
            &mina,
            "return !!document.querySelector('[data-testid=search-panel]')"
        )
        .await,
        json!(false)
    );
    assert_eq!(
        count_text(&mina, "filler 1").await,
        1,
        "no gap, no duplicate"
    );
    mina.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markdown_tricks_inject_nothing() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let sender = stage.browser(1280, 800, false).await;
    let reader = stage.browser(1280, 800, false).await;
    join(&sender, &stage.app_url(), "mallory", "md").await;
    join(&reader, &stage.app_url(), "alice", "md").await;
    js(
        &reader,
        "window.__alerted = false; window.alert = () => { window.__alerted = true; }; return true",
    )
    .await;
    let payloads = [
        "[click me](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1)) [y](data:text/html,<script>alert(1)</script>)",
        "<a href=\"javascript:alert(1)\">a</a> <img src=x onerror=alert(1)>",
        "**bold *nested* bold** and `<b>code</b>` and [ok](https://example.com/ok)",
        "> quoted <script>alert(1)</script>",
    ];
    for payload in payloads {
        say(&sender, payload).await;
    }
    // Shift+Enter lines for a fence left open.
    type_into(
        &sender,
        "[data-testid=composer]",
        "```\u{E008}\u{E007}\u{E008}<svg onload=alert(1)>\u{E007}",
    )
    .await;
    wait_until(
        &reader,
        "every message",
        "return document.querySelectorAll('[data-testid=message]').length === 6",
    )
    .await;
    let allowed = "['P', 'STRONG', 'EM', 'CODE', 'PRE', 'BLOCKQUOTE', 'A']";
    assert_eq!(
        js(&reader, &format!("return [...document.querySelectorAll('[data-testid=message-list] .msg-body *')].map(e => e.tagName).filter(t => !{allowed}.includes(t))")).await,
        json!([]),
        "only allowed elements"
    );
    assert_eq!(
        js(&reader, "return [...document.querySelectorAll('[data-testid=message-list] .msg-body a')].map(a => a.getAttribute('href'))").await,
        json!(["https://example.com/ok"])
    );
    assert_eq!(
        js(&reader, "return ['strong', 'em', 'code', 'blockquote', 'pre'].map(t => document.querySelectorAll('[data-testid=message-list] .msg-body ' + t).length > 0)").await,
        json!([true, true, true, true, true])
    );
    assert_eq!(
        js(
            &reader,
            "return document.querySelector('[data-testid=message-list] pre').textContent"
        )
        .await,
        json!("<svg onload=alert(1)>")
    );
    assert_eq!(
        count_text(&reader, "[click me](javascript:alert(1))").await,
        1,
        "shown as typed"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(js(&reader, "return window.__alerted").await, json!(false));
    for client in [sender, reader] {
        client.close().await.unwrap();
    }
}
