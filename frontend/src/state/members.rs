//! Who is in a room, as far as the app knows.
//!
//! A small room sends all its members with `joined`; a large one sends the
//! first page and the count, and the app asks for more (`members`) when the
//! reader scrolls the list or searches it. `presence` frames are applied as
//! set operations (they may name members the app already knows, or never
//! listed), and say how many members there are; only real changes become
//! "mina joined" lines, and a large room names nobody, so it shows none.
//!
//! The composer's `@` completion asks the server too, in a large room. The
//! server answers `members` requests in the order they were sent, so the
//! requests on their way are a queue, and each answer goes to the oldest.

use std::collections::VecDeque;

/// A search of the member list by the start of a nickname.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Search {
    /// What was typed.
    pub prefix: String,
    /// The members found, in nickname order.
    pub results: Vec<String>,
    /// Whether more match.
    pub more: bool,
}

/// A `members` request on its way.
#[derive(Debug, Clone, PartialEq)]
pub enum Asking {
    /// The next page of the list.
    More,
    /// A search for this prefix.
    Search(String),
    /// Completions of `@` + this prefix.
    Complete(String),
}

/// A room's members.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Members {
    /// The members the app knows, in nickname order.
    pub known: Vec<String>,
    /// How many the room has.
    pub count: u64,
    /// Whether there are members after the last known one.
    pub more: bool,
    /// The search shown instead of the list, if any.
    pub search: Option<Search>,
    /// The requests on their way, oldest first.
    pub asking: VecDeque<Asking>,
    /// The server's last answer for a completion (its prefix, the members
    /// found, whether more match).
    pub completion: Option<Search>,
    /// The latest `@` prefix the composer completes.
    pub wanted: Option<String>,
}

fn key(nick: &str) -> String {
    nick.to_lowercase()
}

impl Members {
    /// The first page (or all) of the members, from `joined`.
    pub fn joined(&mut self, mut members: Vec<String>, count: u64, more: bool) {
        members.sort_by_key(|m| key(m));
        self.known = members;
        self.count = count;
        self.more = more;
        self.asking.clear();
    }

    /// Applies a `presence`; returns who really arrived and who really left,
    /// as far as the app could see.
    pub fn presence(
        &mut self,
        joined: Vec<String>,
        left: Vec<String>,
        count: u64,
    ) -> (Vec<String>, Vec<String>) {
        self.count = count;
        for search in [&mut self.search, &mut self.completion]
            .into_iter()
            .flatten()
        {
            search.results.retain(|m| !left.contains(m));
        }
        let mut arrived = Vec::new();
        for nick in joined {
            if let Err(at) = self.known.binary_search_by_key(&key(&nick), |m| key(m)) {
                // Past the last known member of a paged list, it is on a
                // page not loaded yet.
                if !self.more || at < self.known.len() {
                    self.known.insert(at, nick.clone());
                }
                arrived.push(nick);
            }
        }
        let mut departed = Vec::new();
        for nick in left {
            if let Ok(at) = self.known.binary_search_by_key(&key(&nick), |m| key(m)) {
                self.known.remove(at);
                departed.push(nick);
            }
        }
        (arrived, departed)
    }

    /// The next page to ask for (`after` the last known member), unless one
    /// is on its way or there is none.
    pub fn ask_more(&mut self) -> Option<Option<String>> {
        if !self.more || self.asking.contains(&Asking::More) {
            return None;
        }
        self.asking.push_back(Asking::More);
        Some(self.known.last().cloned())
    }

    /// Whether the next page of the list is on its way.
    pub fn loading_more(&self) -> bool {
        self.asking.contains(&Asking::More)
    }

    /// Whether the app knows only some of the members.
    pub fn partial(&self) -> bool {
        self.more || self.count as usize > self.known.len()
    }

    /// Starts a completion of `@` + `prefix`; returns the prefix to ask the
    /// server for, unless the app knows every member, an answer it has
    /// already covers it (the same prefix, or a shorter one with nothing
    /// more to find), or a completion is on its way (its answer asks again).
    pub fn ask_complete(&mut self, prefix: &str) -> Option<String> {
        self.wanted = Some(prefix.to_owned());
        let waiting = self.asking.iter().any(|a| matches!(a, Asking::Complete(_)));
        if waiting {
            return None;
        }
        self.next_completion()
    }

    fn next_completion(&mut self) -> Option<String> {
        let prefix = self.wanted.clone().filter(|p| !p.is_empty())?;
        let covered = self.completion.as_ref().is_some_and(|c| {
            key(&c.prefix) == key(&prefix) || (!c.more && key(&prefix).starts_with(&key(&c.prefix)))
        });
        if !self.partial() || covered {
            return None;
        }
        self.asking.push_back(Asking::Complete(prefix.clone()));
        Some(prefix)
    }

    /// Up to `limit` members whose nickname starts with `prefix` (ignoring
    /// case), in nickname order: the known ones and the server's answer.
    pub fn completions(&self, prefix: &str, limit: usize) -> Vec<String> {
        let wanted = key(prefix);
        let mut found: Vec<String> = Vec::new();
        let server = self.completion.iter().flat_map(|c| c.results.iter());
        for nick in self.known.iter().chain(server) {
            let k = key(nick);
            if k.starts_with(&wanted) && !found.iter().any(|f| key(f) == k) {
                found.push(nick.clone());
            }
        }
        found.sort_by_key(|m| key(m));
        found.truncate(limit);
        found
    }

    /// Starts (or, with an empty prefix, ends) a search; returns the prefix
    /// to ask for.
    pub fn ask_search(&mut self, prefix: &str) -> Option<String> {
        let prefix = prefix.trim();
        if prefix.is_empty() {
            self.search = None;
            // Answers to searches still on their way are not shown.
            for asking in self.asking.iter_mut() {
                if let Asking::Search(p) = asking {
                    p.clear();
                }
            }
            return None;
        }
        self.asking.push_back(Asking::Search(prefix.to_owned()));
        Some(prefix.to_owned())
    }

    /// An answer to `members` (for the oldest request on its way). Returns
    /// the prefix of a completion the answer did not cover, to ask for.
    pub fn page(&mut self, members: Vec<String>, more: bool, count: u64) -> Option<String> {
        self.count = count;
        match self.asking.pop_front() {
            Some(Asking::More) => {
                for nick in members {
                    if let Err(at) = self.known.binary_search_by_key(&key(&nick), |m| key(m)) {
                        self.known.insert(at, nick);
                    }
                }
                self.more = more;
            }
            // A search ended meanwhile has an empty prefix: not shown.
            Some(Asking::Search(prefix)) if !prefix.is_empty() => {
                self.search = Some(Search {
                    prefix,
                    results: members,
                    more,
                });
            }
            Some(Asking::Complete(prefix)) => {
                self.completion = Some(Search {
                    prefix,
                    results: members,
                    more,
                });
                return self.next_completion();
            }
            Some(Asking::Search(_)) | None => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn presence_is_applied_as_set_operations() {
        let mut members = Members::default();
        members.joined(names(&["mina", "Ana"]), 2, false);
        assert_eq!(members.known, names(&["Ana", "mina"]));
        let (arrived, left) = members.presence(names(&["mina", "bo"]), names(&["zed", "Ana"]), 2);
        assert_eq!((arrived, left), (names(&["bo"]), names(&["Ana"])));
        assert_eq!(members.known, names(&["bo", "mina"]));
        assert_eq!(members.count, 2);
    }

    #[test]
    fn a_paged_list_grows_by_pages_and_searches_apart() {
        let mut members = Members::default();
        members.joined(names(&["a", "b"]), 5, true);
        members.presence(names(&["zz"]), vec![], 6);
        assert_eq!(
            members.known,
            names(&["a", "b"]),
            "zz is on a page not loaded"
        );
        assert_eq!(members.ask_more(), Some(Some("b".into())));
        assert_eq!(members.ask_more(), None, "one request at a time");
        members.page(names(&["c", "d"]), true, 6);
        assert_eq!(members.known, names(&["a", "b", "c", "d"]));
        assert_eq!(members.ask_search(" Z "), Some("Z".into()));
        members.page(names(&["zz"]), false, 6);
        assert_eq!(
            members.search.as_ref().map(|s| s.results.clone()),
            Some(names(&["zz"]))
        );
        members.presence(vec![], names(&["zz"]), 5);
        assert_eq!(members.search.as_ref().map(|s| s.results.len()), Some(0));
        assert_eq!(members.ask_search(""), None);
        assert!(members.search.is_none());
        assert_eq!(members.ask_more(), Some(Some("d".into())));
        members.page(names(&["e"]), false, 5);
        assert!(!members.more);
        assert_eq!(members.ask_more(), None);
    }
}
