//! A small emoji picker for reactions: a fixed set of common emoji, each a
//! labelled button, so no emoji table is shipped in the bundle (the server
//! checks reactions against the full Unicode list).

use yew::prelude::*;

/// The emoji offered, with the names screen readers say.
pub const EMOJI: [(&str, &str); 12] = [
    ("👍", "thumbs up"),
    ("❤️", "red heart"),
    ("😂", "face with tears of joy"),
    ("🎉", "party popper"),
    ("😮", "face with open mouth"),
    ("😢", "crying face"),
    ("🙏", "folded hands"),
    ("👀", "eyes"),
    ("🔥", "fire"),
    ("✅", "check mark"),
    ("👎", "thumbs down"),
    ("🚀", "rocket"),
];

/// The name of an emoji of the set (or the emoji itself).
pub fn emoji_name(emoji: &str) -> &str {
    EMOJI
        .iter()
        .find(|(e, _)| *e == emoji)
        .map_or(emoji, |(_, name)| name)
}

/// Props of [`EmojiPicker`].
#[derive(Properties, PartialEq)]
pub struct EmojiPickerProps {
    /// Called with the emoji picked.
    pub on_pick: Callback<String>,
}

/// The picker: a grid of emoji buttons.
#[function_component(EmojiPicker)]
pub fn emoji_picker(props: &EmojiPickerProps) -> Html {
    html! {
        <div class="emoji-picker" role="group" aria-label="Pick a reaction" data-testid="emoji-picker">
            { for EMOJI.iter().map(|(emoji, name)| {
                let on_pick = props.on_pick.clone();
                let onclick = Callback::from(move |_: MouseEvent| on_pick.emit((*emoji).to_owned()));
                html! {
                    <button type="button" class="emoji" data-testid="emoji" data-emoji={*emoji}
                        aria-label={*name} title={*name} {onclick}>{ *emoji }</button>
                }
            }) }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::EMOJI;

    #[test]
    fn the_server_accepts_every_emoji_offered() {
        for (emoji, _) in EMOJI {
            assert_eq!(
                parley_protocol::validate_emoji(emoji).as_deref(),
                Ok(emoji),
                "{emoji}"
            );
        }
    }
}
