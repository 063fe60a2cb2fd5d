//! Who is in the room: the member count, the members the app knows (a
//! large room sends them a page at a time: "Show more" asks for the next),
//! and a search by the start of a nickname, answered by the server.

use yew::prelude::*;

use crate::state::members::Members;

/// Props of [`MemberList`].
#[derive(Properties, PartialEq)]
pub struct MemberListProps {
    /// The room's members, as far as the app knows.
    pub members: Members,
    /// This user's nickname.
    pub me: String,
    /// Search by a prefix (empty: stop searching).
    pub on_search: Callback<String>,
    /// Ask for the next page.
    pub on_more: Callback<()>,
}

/// Whether the page is as narrow as a phone: the list then starts folded.
fn narrow_screen() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(max-width: 720px)").ok().flatten())
        .is_some_and(|q| q.matches())
}

fn member(nick: &str, me: &str) -> Html {
    html! {
        <li data-testid="member" class={classes!((nick == me).then_some("is-me"))}>
            <span class="presence-dot" aria-hidden="true"></span>
            <span class="member-name">
                { nick.to_owned() }
                if nick == me { <span class="you">{ " (you)" }</span> }
            </span>
        </li>
    }
}

/// The member list (folded away on narrow screens).
#[function_component(MemberList)]
pub fn member_list(props: &MemberListProps) -> Html {
    let members = &props.members;
    let searchable =
        members.more || members.count as usize > members.known.len() || members.search.is_some();
    let on_input = {
        let on_search = props.on_search.clone();
        Callback::from(move |e: InputEvent| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            on_search.emit(input.value());
        })
    };
    let (shown, more) = match &members.search {
        Some(search) => (&search.results, false),
        None => (&members.known, members.more),
    };
    let on_more = {
        let on_more = props.on_more.clone();
        Callback::from(move |_: MouseEvent| on_more.emit(()))
    };
    html! {
        <aside class="members" aria-label="Members">
            <details open={!narrow_screen()}>
                <summary data-testid="member-count">{ format!("Members ({})", members.count) }</summary>
                if searchable {
                    <label class="visually-hidden" for="member-search">{ "Find a member" }</label>
                    <input id="member-search" type="search" class="member-search" data-testid="member-search"
                        placeholder="Find a member" autocomplete="off" oninput={on_input} />
                }
                <ul data-testid="member-list">
                    { for shown.iter().map(|nick| member(nick, &props.me)) }
                </ul>
                if members.search.as_ref().is_some_and(|s| s.results.is_empty()) {
                    <p class="member-note">{ "Nobody by that name." }</p>
                }
                if more {
                    <button type="button" class="link-button" data-testid="members-more" onclick={on_more}
                        disabled={members.loading_more()}>
                        { "Show more" }
                    </button>
                }
            </details>
        </aside>
    }
}
