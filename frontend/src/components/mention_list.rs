//! The `@` completion's list of members, above the composer: a listbox the
//! composer's textarea points at (`aria-activedescendant`), driven from the
//! keyboard there (arrows, Enter or Tab, Escape) or picked with the mouse.

use yew::prelude::*;

/// Props of [`MentionList`].
#[derive(Properties, PartialEq)]
pub struct MentionListProps {
    /// The names offered.
    pub options: Vec<String>,
    /// The one Enter would pick.
    pub selected: usize,
    /// Called with the name picked.
    pub on_pick: Callback<String>,
}

/// The list.
#[function_component(MentionList)]
pub fn mention_list(props: &MentionListProps) -> Html {
    html! {
        <ul class="mention-list" id="mention-list" role="listbox" aria-label="Members to mention"
            data-testid="mention-list">
            { for props.options.iter().enumerate().map(|(i, nick)| {
                let on_pick = props.on_pick.clone();
                let picked = nick.clone();
                // mousedown, not click: the textarea keeps the focus.
                let onmousedown = Callback::from(move |e: MouseEvent| {
                    e.prevent_default();
                    on_pick.emit(picked.clone());
                });
                let selected = i == props.selected;
                html! {
                    <li id={format!("mention-{i}")} role="option" aria-selected={selected.to_string()}
                        class={classes!(selected.then_some("selected"))} data-testid="mention-option"
                        {onmousedown}>{ format!("@{nick}") }</li>
                }
            }) }
        </ul>
    }
}
