//! The browser app on a cluster, in real headless Chromium: two nodes on
//! one PostgreSQL, linked by redis-server, each person's browser on a
//! different node (as a load balancer would place them). They see each
//! other in the member list and chat both ways, each message once.
//! Needs Chromium, PostgreSQL and redis-server (scripts/setup.sh
//! --browser) and the built app (`trunk build --release`).

mod common;
#[path = "common/browser.rs"]
mod harness;
#[path = "common/postgres.rs"]
mod pg;
#[path = "common/redis.rs"]
mod redis;

use common::cluster::node;
use harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_on_two_nodes_chat_in_the_browser() {
    let _turn = ONE_AT_A_TIME.lock().await;
    dist();
    let pg = pg::Postgres::start();
    let db = pg.create_db("parley");
    let redis = redis::Redis::start();
    let b = node(&db, &redis.url());
    let stage = Stage::around(node(&db, &redis.url())).await;
    let (on_a, on_b) = (stage.app_url(), format!("http://{}/", b.addr));

    let mina = stage.browser(1280, 800, false).await;
    let joon = stage.browser(1280, 800, false).await;
    join(&mina, &on_a, "mina", "cluster").await;
    join(&joon, &on_b, "joon", "cluster").await;

    wait_until(&mina, "joon in the member list", "return [...document.querySelectorAll('[data-testid=member]')].some(e => e.textContent.includes('joon'))").await;
    wait_until(&joon, "mina in the member list", "return [...document.querySelectorAll('[data-testid=member]')].some(e => e.textContent.includes('mina'))").await;

    say(&mina, "hello from node a").await;
    wait_for_text(&joon, "hello from node a").await;
    say(&joon, "and back from node b").await;
    wait_for_text(&mina, "and back from node b").await;
    wait_until(&mina, "the ack", "return [...document.querySelectorAll('[data-testid=message][data-own=true]')].every(e => e.dataset.state === 'sent')").await;
    assert_eq!(count_text(&mina, "hello from node a").await, 1);
    assert_eq!(count_text(&joon, "hello from node a").await, 1);

    for client in [mina, joon] {
        client.close().await.unwrap();
    }
}
