//! The reactions under a message: one chip per emoji with its count, the
//! reader's own highlighted (`aria-pressed`); a click gives or takes back.

use yew::prelude::*;

use super::emoji_picker::emoji_name;
use super::line_action::LineAction;
use crate::state::ReactionView;

/// Props of [`ReactionChips`].
#[derive(Properties, PartialEq)]
pub struct ReactionChipsProps {
    /// The message.
    pub seq: u64,
    /// Its reactions as the reader sees them.
    pub reactions: Vec<ReactionView>,
    /// The reader's nickname (said as "you").
    pub me: AttrValue,
    /// Toggles a reaction.
    pub on_action: Callback<LineAction>,
}

/// "mina, joon and you".
fn who(nicks: &[String], count: u32, me: &str) -> String {
    let mut names: Vec<&str> = nicks
        .iter()
        .map(|n| if n == me { "you" } else { n.as_str() })
        .collect();
    let others = count as usize - names.len().min(count as usize);
    let extra = (others > 0).then(|| format!("{others} more"));
    if let Some(extra) = &extra {
        names.push(extra);
    }
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The chips.
#[function_component(ReactionChips)]
pub fn reaction_chips(props: &ReactionChipsProps) -> Html {
    html! {
        <div class="reactions" role="group" aria-label="Reactions">
            { for props.reactions.iter().map(|r| {
                let on_action = props.on_action.clone();
                let (seq, emoji) = (props.seq, r.emoji.clone());
                let onclick = Callback::from(move |_: MouseEvent| on_action.emit(LineAction::React(seq, emoji.clone())));
                let by = who(&r.nicks, r.count, &props.me);
                html! {
                    <button type="button" class={classes!("reaction", r.mine.then_some("mine"))}
                        data-testid="reaction" data-emoji={r.emoji.clone()} data-mine={r.mine.to_string()}
                        data-count={r.count.to_string()} aria-pressed={r.mine.to_string()} title={by.clone()}
                        aria-label={format!("{}: {} ({by})", emoji_name(&r.emoji), r.count)} {onclick}>
                        <span aria-hidden="true">{ r.emoji.clone() }</span>
                        <span class="reaction-count" aria-hidden="true">{ r.count.to_string() }</span>
                    </button>
                }
            }) }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::who;

    #[test]
    fn who_reacted_reads_naturally() {
        let n = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(who(&n(&["mina"]), 1, "me"), "mina");
        assert_eq!(who(&n(&["mina", "me"]), 2, "me"), "mina and you");
        assert_eq!(who(&n(&["a", "b"]), 5, "me"), "a, b and 3 more");
    }
}
