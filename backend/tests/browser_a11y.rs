//! Accessibility, in headless Chromium (see `browser.rs`): axe-core 4 (from
//! npm, installed by `scripts/setup.sh --browser`, injected into the page)
//! finds no violation on any screen: the join screen, the chat window (with
//! a reply, a reaction, an edit, a deletion, a mention and Markdown), the
//! message menu, the emoji picker, the delete confirmation, the `@`
//! completion, the reply bar and the search results; the sign-in and
//! create-account forms (with the server's refusal and the browser's own
//! hints), the chat signed in and "Continue as …"; light and dark, wide
//! and phone-sized. And every new action works from the keyboard alone.
//! The screenshots of message life in `docs/screenshots/` come from here.

mod common;
#[path = "common/browser.rs"]
mod harness;

use fantoccini::{Client, Locator};
use serde_json::json;

use harness::*;

/// Two people chatting in `room`, with every kind of line on screen;
/// returns the seq of the reader's message that others reacted to.
async fn busy_room(stage: &Stage, reader: &Client, other: &Client, room: &str) -> String {
    join(other, &stage.app_url(), "joon", room).await;
    join(reader, &stage.app_url(), "mina", room).await;
    say(other, "Morning! Did the **deploy** go out?").await;
    say(reader, "Yes: `v2.4.1`, notes at https://example.com/notes").await;
    let mine = message_seq(reader, "Yes: v2.4.1, notes at https://example.com/notes").await;
    say(other, "typo in here").await;
    let typo = message_seq(other, "typo in here").await;
    // joon deletes the typo, reacts to mina's message and answers it.
    click(
        other,
        &format!("[data-seq=\"{typo}\"] [data-testid=message-actions]"),
    )
    .await;
    click(other, "[data-testid=action-delete]").await;
    click(other, "[data-testid=confirm-delete]").await;
    click(
        other,
        &format!("[data-seq=\"{mine}\"] [data-testid=message-actions]"),
    )
    .await;
    click(other, "[data-testid=action-react]").await;
    click(other, "[data-testid=emoji][data-emoji='🎉']").await;
    click(
        other,
        &format!("[data-seq=\"{mine}\"] [data-testid=message-actions]"),
    )
    .await;
    click(other, "[data-testid=action-reply]").await;
    say(other, "great, thanks @mina!\n> the dashboards look fine").await;
    // mina edits hers.
    type_into(reader, "[data-testid=composer]", "\u{E013}").await;
    wait_until(
        reader,
        "the edit mode",
        "return document.querySelector('[data-testid=composer]').value.startsWith('Yes')",
    )
    .await;
    type_into(reader, "[data-testid=composer]", " 🚀\u{E007}").await;
    wait_until(reader, "every kind of line", "return !!document.querySelector('[data-testid=edited]') && !!document.querySelector('[data-testid=deleted-body]') && !!document.querySelector('[data-testid=reaction]') && !!document.querySelector('[data-testid=reply-quote]') && !!document.querySelector('[data-mention=true]')").await;
    mine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_axe_violations_on_any_screen() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    for dark in [false, true] {
        let browser = stage.browser(1280, 800, dark).await;
        browser.goto(&stage.app_url()).await.unwrap();
        browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("[data-testid=join-nick]"))
            .await
            .unwrap();
        axe(
            &browser,
            if dark {
                "the join screen (dark)"
            } else {
                "the join screen"
            },
        )
        .await;
        browser.close().await.unwrap();
    }

    let mina = stage.browser(1280, 800, false).await;
    let joon = stage.browser(1280, 800, false).await;
    let mine = busy_room(&stage, &mina, &joon, "a11y").await;
    axe(&mina, "the chat window").await;
    save_screenshot(&mina, "chat-life.png").await;

    // The message menu, the emoji picker and the delete confirmation.
    click(
        &mina,
        &format!("[data-seq=\"{mine}\"] [data-testid=message-actions]"),
    )
    .await;
    axe(&mina, "the message menu").await;
    click(&mina, "[data-testid=action-react]").await;
    axe(&mina, "the emoji picker").await;
    save_screenshot(&mina, "emoji-picker.png").await;
    type_into(&mina, "[data-testid=emoji]", "\u{E00C}").await; // Escape
    click(
        &mina,
        &format!("[data-seq=\"{mine}\"] [data-testid=message-actions]"),
    )
    .await;
    click(&mina, "[data-testid=action-delete]").await;
    axe(&mina, "the delete confirmation").await;
    click(&mina, "[data-testid=cancel-delete]").await;
    type_into(&mina, "[data-testid=message-menu] button", "\u{E00C}").await;

    // The reply bar and the @ completion.
    click(
        &mina,
        &format!("[data-seq=\"{mine}\"] [data-testid=message-actions]"),
    )
    .await;
    click(&mina, "[data-testid=action-reply]").await;
    type_into(&mina, "[data-testid=composer]", "@jo").await;
    wait_until(
        &mina,
        "the completion",
        "return !!document.querySelector('[data-testid=mention-option]')",
    )
    .await;
    axe(&mina, "the reply bar and the @ completion").await;
    type_into(&mina, "[data-testid=composer]", "\u{E00C}\u{E00C}").await;

    // The search results.
    click(&mina, "[data-testid=open-search]").await;
    type_into(&mina, "[data-testid=search-input]", "dashboards\u{E007}").await;
    wait_until(
        &mina,
        "a hit",
        "return document.querySelectorAll('[data-testid=search-hit] mark').length > 0",
    )
    .await;
    axe(&mina, "the search results").await;
    save_screenshot(&mina, "search.png").await;

    // Dark, and phone-sized.
    let dark = stage.browser(1280, 800, true).await;
    join(&dark, &stage.app_url(), "ana", "a11y").await;
    wait_until(
        &dark,
        "the history",
        "return !!document.querySelector('[data-testid=reaction]')",
    )
    .await;
    axe(&dark, "the chat window (dark)").await;
    let phone = stage.browser(360, 740, false).await;
    join(&phone, &stage.app_url(), "bo", "a11y").await;
    wait_until(
        &phone,
        "the history",
        "return !!document.querySelector('[data-testid=reaction]')",
    )
    .await;
    axe(&phone, "the chat window (phone)").await;
    // A long press (Chrome on a phone fires `contextmenu`) opens the menu.
    js(&phone, &format!("document.querySelector('[data-seq=\"{mine}\"] .msg-body').dispatchEvent(new MouseEvent('contextmenu', {{bubbles: true, cancelable: true}})); return true")).await;
    wait_until(
        &phone,
        "the menu on a phone",
        "return !!document.querySelector('[data-testid=message-menu]')",
    )
    .await;
    axe(&phone, "the message menu (phone)").await;
    for client in [mina, joon, dark, phone] {
        client.close().await.unwrap();
    }
}

/// The active element's `data-testid`.
async fn focused(client: &Client) -> serde_json::Value {
    js(
        client,
        "return document.activeElement?.dataset?.testid ?? document.activeElement?.tagName",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_new_action_works_from_the_keyboard() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let mina = stage.browser(1280, 800, false).await;
    let joon = stage.browser(1280, 800, false).await;
    join(&mina, &stage.app_url(), "mina", "keys").await;
    join(&joon, &stage.app_url(), "joon", "keys").await;
    say(&joon, "keyboard only").await;
    let seq = message_seq(&joon, "keyboard only").await;
    wait_for_text(&mina, "keyboard only").await;
    // Tab from the composer backwards reaches the message's actions button.
    js(&mina, &format!("document.querySelector('[data-seq=\"{seq}\"] [data-testid=message-actions]').focus(); return true")).await;
    assert_eq!(focused(&mina).await, json!("message-actions"));
    type_into(&mina, "[data-testid=message-actions]", "\u{E007}").await; // Enter opens the menu
    wait_until(
        &mina,
        "the menu, focused",
        "return document.activeElement?.dataset.testid === 'action-reply'",
    )
    .await;
    type_into(&mina, "[data-testid=action-reply]", "\u{E004}\u{E007}").await; // Tab to React, Enter
    wait_until(
        &mina,
        "the picker, focused",
        "return document.activeElement?.dataset.testid === 'emoji'",
    )
    .await;
    type_into(&mina, "[data-testid=emoji]", "\u{E007}").await; // the first emoji
    wait_until(
        &mina,
        "the reaction",
        "return document.querySelector('[data-testid=reaction]')?.dataset.mine === 'true'",
    )
    .await;
    assert_eq!(
        focused(&mina).await,
        json!("message-actions"),
        "the focus goes back"
    );
    // The chip toggles with the keyboard too.
    type_into(&mina, "[data-testid=reaction]", "\u{E00D}").await; // Space
    wait_until(
        &mina,
        "the reaction taken back",
        "return !document.querySelector('[data-testid=reaction]')",
    )
    .await;
    // Escape closes a menu and gives the focus back.
    type_into(&mina, "[data-testid=message-actions]", "\u{E007}").await;
    wait_until(
        &mina,
        "the menu",
        "return !!document.querySelector('[data-testid=message-menu]')",
    )
    .await;
    type_into(&mina, "[data-testid=action-reply]", "\u{E00C}").await;
    wait_until(&mina, "the menu closed", "return !document.querySelector('[data-testid=message-menu]') && document.activeElement?.dataset.testid === 'message-actions'").await;
    // "/" outside a field opens the search; Escape closes it.
    js(&mina, "document.activeElement.blur(); return true").await;
    js(&mina, "document.body.dispatchEvent(new KeyboardEvent('keydown', {key: '/', bubbles: true, cancelable: true})); return true").await;
    wait_until(
        &mina,
        "the search, focused",
        "return document.activeElement?.dataset.testid === 'search-input'",
    )
    .await;
    type_into(&mina, "[data-testid=search-input]", "\u{E00C}").await;
    wait_until(
        &mina,
        "the search closed",
        "return !document.querySelector('[data-testid=search-panel]')",
    )
    .await;
    for client in [mina, joon] {
        client.close().await.unwrap();
    }
}

/// Opens the sign-in or create-account form (`mode-sign-in`, `mode-create`).
async fn account_form(client: &Client, mode: &str, form: &str) {
    click(client, &format!("[data-testid={mode}]")).await;
    wait_until(
        client,
        form,
        &format!("return !!document.querySelector('[data-testid={form}]')"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_axe_violations_on_the_account_screens() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    for (width, dark, how) in [
        (1280, false, ""),
        (1280, true, " (dark)"),
        (360, false, " (phone)"),
    ] {
        let browser = stage.browser(width, 800, dark).await;
        browser.goto(&stage.app_url()).await.unwrap();
        account_form(&browser, "mode-sign-in", "sign-in-form").await;
        axe(&browser, &format!("the sign-in form{how}")).await;
        // The server's refusal, next to the password.
        type_into(&browser, "[data-testid=account-nick]", "nobody").await;
        type_into(&browser, "[data-testid=account-password]", "not a password").await;
        click(&browser, "[data-testid=account-submit]").await;
        wait_until(
            &browser,
            "the refusal",
            "return !!document.querySelector('[data-testid=account-error][data-field=password]')",
        )
        .await;
        axe(&browser, &format!("the sign-in form with an error{how}")).await;
        // The create-account form, with the browser's own hints shown.
        account_form(&browser, "mode-create", "create-form").await;
        axe(&browser, &format!("the create-account form{how}")).await;
        type_into(&browser, "[data-testid=account-password]", "short").await;
        type_into(&browser, "[data-testid=account-confirm]", "shorter").await;
        wait_until(&browser, "the hints", "return document.querySelector('[data-testid=account-confirm]').getAttribute('aria-invalid') === 'true'").await;
        axe(
            &browser,
            &format!("the create-account form with hints{how}"),
        )
        .await;
        browser.close().await.unwrap();
    }

    // Signed in: the chat with its badge, then "Continue as" after a reload,
    // worked from the keyboard.
    let mina = stage.browser(1280, 800, false).await;
    mina.goto(&stage.app_url()).await.unwrap();
    account_form(&mina, "mode-create", "create-form").await;
    let password = "correct horse battery staple";
    type_into(&mina, "[data-testid=account-nick]", "Mina").await;
    type_into(&mina, "[data-testid=account-password]", password).await;
    type_into(&mina, "[data-testid=account-confirm]", password).await;
    type_into(&mina, "[data-testid=account-confirm]", "\u{E007}").await; // Enter sends the form
    wait_until(&mina, "the chat, signed in", "return document.querySelector('[data-testid=account-badge]')?.dataset.account === 'true' && document.querySelector('[data-testid=connection-status]')?.dataset.status === 'online'").await;
    say(&mina, "signed in and **accessible**").await;
    wait_for_text(&mina, "signed in and accessible").await;
    axe(&mina, "the chat, signed in").await;
    mina.refresh().await.unwrap();
    wait_until(
        &mina,
        "Continue as Mina",
        "return !!document.querySelector('[data-testid=continue-as]')",
    )
    .await;
    axe(&mina, "the join screen, signed in").await;
    type_into(&mina, "[data-testid=continue-as]", "\u{E007}").await; // Enter on the button
    wait_until(&mina, "the chat again", "return document.querySelector('[data-testid=account-badge]')?.dataset.account === 'true' && document.querySelector('[data-testid=connection-status]')?.dataset.status === 'online'").await;
    mina.close().await.unwrap();
}
