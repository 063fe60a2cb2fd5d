//! A message's text on the page: the tree of `markdown.rs` turned into
//! elements one by one (only the allowed ones, links with
//! `target="_blank" rel="noopener noreferrer"`), never HTML.

use yew::prelude::*;

use crate::markdown::{parse, Node, Tag};

/// Props of [`MarkdownView`].
#[derive(Properties, PartialEq)]
pub struct MarkdownViewProps {
    /// The message's text.
    pub text: AttrValue,
}

fn render(node: &Node) -> Html {
    match node {
        Node::Text(text) => html! { { text.clone() } },
        Node::Element {
            tag: Tag::A,
            href,
            children,
        } => html! {
            <a href={href.clone().unwrap_or_default()} target="_blank" rel="noopener noreferrer">
                { for children.iter().map(render) }
            </a>
        },
        Node::Element { tag, children, .. } => {
            let name = tag.name();
            html! { <@{name}>{ for children.iter().map(render) }</@> }
        }
    }
}

/// The text, parsed once per text.
#[function_component(MarkdownView)]
pub fn markdown_view(props: &MarkdownViewProps) -> Html {
    let tree = use_memo(props.text.clone(), |text| parse(text));
    html! { <>{ for tree.iter().map(render) }</> }
}
