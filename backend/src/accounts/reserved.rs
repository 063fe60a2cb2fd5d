//! The nicknames accounts reserve, held in memory so that a guest's
//! `hello` never waits on the store: read once at start, changed by the
//! registrations and deletions made here and told by the other nodes, and
//! read again when hints from them may have been lost.

use std::collections::HashMap;
use std::sync::RwLock;

use parley_protocol::name_key;

/// Look-alike key → the registered nickname it belongs to.
#[derive(Debug, Default)]
pub(super) struct Reserved {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_key: HashMap<String, String>,
    /// How many times `by_key` changed: a rereading of the store that
    /// raced a change is not kept.
    changes: u64,
}

/// The map of the store's rows: (look-alike keys, nickname).
fn by_key(rows: Vec<(Vec<String>, String)>) -> HashMap<String, String> {
    let mut by_key = HashMap::new();
    for (looks, nick) in rows {
        for look in looks {
            by_key.insert(look, nick.clone());
        }
    }
    by_key
}

impl Reserved {
    /// The reservations of the store's rows (look-alike keys, nickname).
    pub(super) fn new(rows: Vec<(Vec<String>, String)>) -> Self {
        Reserved {
            inner: RwLock::new(Inner {
                by_key: by_key(rows),
                changes: 0,
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The registered nickname one of `looks` belongs to, if any.
    pub(super) fn by(&self, looks: &[String]) -> Option<String> {
        let inner = self.read();
        looks.iter().find_map(|l| inner.by_key.get(l).cloned())
    }

    /// `nick` (with its look-alike keys `looks`) is registered.
    pub(super) fn add(&self, nick: &str, looks: Vec<String>) {
        let mut inner = self.write();
        for look in looks {
            inner.by_key.insert(look, nick.to_owned());
        }
        inner.changes += 1;
    }

    /// The account of name key `key` is gone.
    pub(super) fn remove(&self, key: &str) {
        let mut inner = self.write();
        inner.by_key.retain(|_, held| name_key(held) != key);
        inner.changes += 1;
    }

    /// A mark to give [`Reserved::replace`]: taken before reading the
    /// store.
    pub(super) fn changes(&self) -> u64 {
        self.read().changes
    }

    /// Replaces every reservation with the store's `rows`, unless one
    /// changed since `before` (then the rows may be older than it, and
    /// nothing is replaced). Whether it replaced them.
    pub(super) fn replace(&self, rows: Vec<(Vec<String>, String)>, before: u64) -> bool {
        let mut inner = self.write();
        if inner.changes != before {
            return false;
        }
        inner.by_key = by_key(rows);
        inner.changes += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use parley_protocol::look_alike_keys;

    use super::*;

    fn row(nick: &str) -> (Vec<String>, String) {
        (look_alike_keys(nick), nick.to_owned())
    }

    #[test]
    fn a_reading_older_than_a_change_is_not_kept() {
        let reserved = Reserved::new(vec![row("alice")]);
        assert_eq!(
            reserved.by(&look_alike_keys("AIice")).as_deref(),
            Some("alice")
        );

        // Read before alice was deleted here: kept out.
        let before = reserved.changes();
        reserved.remove(&name_key("alice"));
        assert!(!reserved.replace(vec![row("alice")], before));
        assert_eq!(reserved.by(&look_alike_keys("alice")), None);

        // Read before bob was registered here: kept out.
        let before = reserved.changes();
        reserved.add("bob", look_alike_keys("bob"));
        assert!(!reserved.replace(Vec::new(), before));
        assert_eq!(reserved.by(&look_alike_keys("BOB")).as_deref(), Some("bob"));

        // Read after: kept, and it counts as a change.
        let before = reserved.changes();
        assert!(reserved.replace(vec![row("carol")], before));
        assert_eq!(reserved.by(&look_alike_keys("bob")), None);
        assert_eq!(
            reserved.by(&look_alike_keys("carol")).as_deref(),
            Some("carol")
        );
        assert!(!reserved.replace(Vec::new(), before));
    }
}
