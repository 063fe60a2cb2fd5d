//! Who is in the room: the member count, the members the app knows (a
//! large room sends them a page at a time: "Show more" asks for the next),
//! and a search by the start of a nickname, answered by the server. The
//! reader's own entry says whether they are signed in or a guest (the
//! server does not say so of the others). The owner and ops have badges,
//! and each other member's name opens their menu (`MemberMenu`): a direct
//! message, and what a moderator may do to them.

use yew::prelude::*;

use super::member_menu::{MemberMenu, Offers};
use crate::state::members::Members;
use crate::state::{ModRequest, Rank};

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
    /// The room's owner.
    #[prop_or_default]
    pub owner: Option<String>,
    /// The room's ops.
    #[prop_or_default]
    pub ops: Vec<String>,
    /// The members seen muted.
    #[prop_or_default]
    pub muted: Vec<String>,
    /// The reader's rank in the room.
    #[prop_or(Rank::Member)]
    pub rank: Rank,
    /// Whether "Message" is offered (the reader is signed in, and this is
    /// not a direct message).
    #[prop_or_default]
    pub can_message: bool,
    /// A moderator's request about a member.
    #[prop_or_default]
    pub on_request: Callback<ModRequest>,
    /// "Message" a member.
    #[prop_or_default]
    pub on_message: Callback<String>,
}

fn same(a: &str, b: &str) -> bool {
    parley_protocol::sort_key(a) == parley_protocol::sort_key(b)
}

/// A member's rank, as far as the room's settings tell.
fn rank_of(props: &MemberListProps, nick: &str) -> Rank {
    if props.owner.as_deref().is_some_and(|o| same(o, nick)) {
        Rank::Owner
    } else if props.ops.iter().any(|o| same(o, nick)) {
        Rank::Op
    } else {
        Rank::Member
    }
}

fn role_badge(rank: Rank) -> Html {
    let role = match rank {
        Rank::Owner => "owner",
        Rank::Op => "op",
        _ => return Html::default(),
    };
    html! { <span class="role-badge" data-testid="role-badge" data-role={role}>{ role }</span> }
}

/// What the reader may do to `nick`.
fn offers(props: &MemberListProps, nick: &str) -> Offers {
    let theirs = rank_of(props, nick);
    let moderate = props.rank.moderates() && props.rank > theirs;
    Offers {
        message: props.can_message,
        moderate,
        op: props.rank.makes_ops() && props.rank > theirs && theirs <= Rank::Op,
        is_op: theirs == Rank::Op,
        muted: props.muted.iter().any(|m| same(m, nick)),
    }
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

fn member(props: &MemberListProps, nick: &str, open: &UseStateHandle<Option<String>>) -> Html {
    let me = nick == props.me;
    let rank = rank_of(props, nick);
    let muted = props.muted.iter().any(|m| same(m, nick));
    let name = html! {
        <>
            <span class="presence-dot" aria-hidden="true"></span>
            <span class="member-name">
                { nick.to_owned() }
                if me { <span class="you">{ " (you)" }</span> }
            </span>
            { role_badge(rank) }
            if muted { <span class="role-badge muted-badge" data-testid="muted-badge">{ "muted" }</span> }
        </>
    };
    let offers = offers(props, nick);
    if me || !offers.any() {
        return html! {
            <li key={nick.to_owned()} data-testid="member" data-nick={nick.to_owned()} class={classes!(me.then_some("is-me"))}>
                { name }
                if me { { account_badge(props.signed_in) } }
            </li>
        };
    }
    let is_open = open.as_deref() == Some(nick);
    let on_open = {
        let (open, nick) = (open.clone(), nick.to_owned());
        Callback::from(move |on: bool| open.set(on.then(|| nick.clone())))
    };
    html! {
        <li key={nick.to_owned()} data-testid="member" data-nick={nick.to_owned()}>
            <MemberMenu nick={AttrValue::from(nick.to_owned())} {offers} open={is_open} {on_open}
                on_request={props.on_request.clone()} on_message={props.on_message.clone()}>
                { name }
            </MemberMenu>
        </li>
    }
}

/// The member list (folded away on narrow screens).
#[function_component(MemberList)]
pub fn member_list(props: &MemberListProps) -> Html {
    let open = use_state(|| None::<String>);
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
                    { for shown.iter().map(|nick| member(props, nick, &open)) }
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
