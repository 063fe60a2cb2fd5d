//! What a shutdown leaves behind: nothing. Every task the server started
//! (connections, the hub's workers, resume-grace timers) has ended when
//! `server::run` returns.

mod common;

use std::time::Duration;

use common::{test_config, TestServer};

/// Tasks still alive on this test's runtime.
fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

#[test]
fn shutdown_leaves_no_task_behind_not_even_a_resume_grace_timer() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = TestServer::start(test_config()).await;
        let mut kept = server.hello("kept").await;
        kept.join("r").await;
        // Dropped without a goodbye: the session waits 30 s for a resume.
        kept.vanish();
        while server.hub.is_connected("kept") != Some(false) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let hub = server.hub.clone();
        server.shutdown().await;
        for _ in 0..100 {
            if alive_tasks() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(alive_tasks(), 0, "a task outlived the server");
        assert_eq!(
            hub.session_count(),
            1,
            "the detached session was not ended early"
        );
    });
}
