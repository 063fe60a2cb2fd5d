//! Who is in a room, as far as the app knows.
//!
//! A small room sends all its members with `joined`; a large one sends the
//! first page and the count, and the app asks for more (`members`) when the
//! reader scrolls the list or searches it. `presence` frames are applied as
//! set operations (they may name members the app already knows, or never
//! listed), and say how many members there are; only real changes become
//! "mina joined" lines, and a large room names nobody, so it shows none.

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

/// The `members` request on its way.
#[derive(Debug, Clone, PartialEq)]
pub enum Asking {
    /// The next page of the list.
    More,
    /// A search for this prefix.
    Search(String),
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
    /// The request on its way, if any.
    pub asking: Option<Asking>,
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
        self.asking = None;
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
        if let Some(search) = &mut self.search {
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
        if !self.more || self.asking.is_some() {
            return None;
        }
        self.asking = Some(Asking::More);
        Some(self.known.last().cloned())
    }

    /// Starts (or, with an empty prefix, ends) a search; returns the prefix
    /// to ask for.
    pub fn ask_search(&mut self, prefix: &str) -> Option<String> {
        let prefix = prefix.trim();
        if prefix.is_empty() {
            self.search = None;
            if matches!(self.asking, Some(Asking::Search(_))) {
                self.asking = None;
            }
            return None;
        }
        self.asking = Some(Asking::Search(prefix.to_owned()));
        Some(prefix.to_owned())
    }

    /// An answer to `members`.
    pub fn page(&mut self, members: Vec<String>, more: bool, count: u64) {
        self.count = count;
        match self.asking.take() {
            Some(Asking::More) => {
                for nick in members {
                    if let Err(at) = self.known.binary_search_by_key(&key(&nick), |m| key(m)) {
                        self.known.insert(at, nick);
                    }
                }
                self.more = more;
            }
            Some(Asking::Search(prefix)) => {
                self.search = Some(Search {
                    prefix,
                    results: members,
                    more,
                });
            }
            None => {}
        }
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
