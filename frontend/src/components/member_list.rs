//! Who is in the room.

use yew::prelude::*;

/// Props of [`MemberList`].
#[derive(Properties, PartialEq)]
pub struct MemberListProps {
    /// The members' nicknames.
    pub members: Vec<String>,
    /// This user's nickname.
    pub me: String,
}

/// Whether the page is as narrow as a phone: the list then starts folded.
fn narrow_screen() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(max-width: 720px)").ok().flatten())
        .is_some_and(|q| q.matches())
}

/// The member list (folded away on narrow screens).
#[function_component(MemberList)]
pub fn member_list(props: &MemberListProps) -> Html {
    html! {
        <aside class="members" aria-label="Members">
            <details open={!narrow_screen()}>
                <summary>{ format!("Members ({})", props.members.len()) }</summary>
                <ul data-testid="member-list">
                    { for props.members.iter().map(|nick| html! {
                        <li data-testid="member" class={classes!((*nick == props.me).then_some("is-me"))}>
                            <span class="presence-dot" aria-hidden="true"></span>
                            <span class="member-name">
                                { nick.clone() }
                                if *nick == props.me { <span class="you">{ " (you)" }</span> }
                            </span>
                        </li>
                    }) }
                </ul>
            </details>
        </aside>
    }
}
