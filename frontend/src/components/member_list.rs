//! Who is in the room: the member count, the members the app knows (a
//! large room sends them a page at a time: "Show more" asks for the next),
//! and a search by the start of a nickname, answered by the server. The
//! reader's own entry says whether they are signed in or a guest (the
//! server does not say so of the others).

use yew::prelude::*;

use crate::state::members::Members;

/// Props of [`MemberList`].
#[derive(Properties, PartialEq)]
pub struct MemberListProps {
    /// The room's members, as far as the app knows.
    pub members: Members,
    /// This user's nickname.
    pub me: String,
    /// Whether this user is signed in to an account (else a guest): a
    /// badge beside their own name says which.
    pub signed_in: bool,
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

/// "✓ signed in" or "guest", beside the reader's own name.
fn account_badge(signed_in: bool) -> Html {
    if signed_in {
        html! {
            <span class="account-badge signed-in" data-testid="account-badge" data-account="true"
                title="Signed in to an account">
                <span aria-hidden="true">{ "✓ " }</span>{ "signed in" }
            </span>
        }
    } else {
        html! {
            <span class="account-badge" data-testid="account-badge" data-account="false"
                title="Not signed in: the nickname is free once you leave">{ "guest" }</span>
        }
    }
}

fn member(nick: &str, me: &str, signed_in: bool) -> Html {
    html! {
        <li data-testid="member" class={classes!((nick == me).then_some("is-me"))}>
            <span class="presence-dot" aria-hidden="true"></span>
            <span class="member-name">
                { nick.to_owned() }
                if nick == me { <span class="you">{ " (you)" }</span> }
            </span>
            if nick == me { { account_badge(signed_in) } }
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
                    { for shown.iter().map(|nick| member(nick, &props.me, props.signed_in)) }
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
