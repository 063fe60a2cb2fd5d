//! The search panel (Ctrl/Cmd+K or `/` opens it): a query, optionally only
//! in the room shown; hits newest first with their room, author, time and
//! the words found marked; "More results" pages back. Choosing a hit opens
//! its room at that message. Escape closes the panel.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::dates::{day_label, local_time, Today};
use crate::state::SearchView;
use crate::text::marked;

/// Props of [`SearchPanel`].
#[derive(Properties, PartialEq)]
pub struct SearchPanelProps {
    /// The search.
    pub search: SearchView,
    /// The room shown, to search only it.
    pub active: Option<String>,
    /// Search for (query, only this room).
    pub on_search: Callback<(String, Option<String>)>,
    /// The next page.
    pub on_more: Callback<()>,
    /// Close the panel.
    pub on_close: Callback<()>,
    /// Open a hit: (room, seq).
    pub on_open: Callback<(String, u64)>,
}

/// The panel.
#[function_component(SearchPanel)]
pub fn search_panel(props: &SearchPanelProps) -> Html {
    let input = use_node_ref();
    let only_here = use_state(|| props.search.room.is_some());
    // The field's text is the panel's own: a render while the user types
    // (a live message, a page of hits) must not put the last query back.
    let text = use_state(|| props.search.query.clone());
    {
        let input = input.clone();
        use_effect_with((), move |_| {
            if let Some(input) = input.cast::<HtmlInputElement>() {
                let _ = input.focus();
            }
        });
    }
    let search = &props.search;
    let on_submit = {
        let (input, on_search, only_here, active) = (
            input.clone(),
            props.on_search.clone(),
            only_here.clone(),
            props.active.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(field) = input.cast::<HtmlInputElement>() {
                let room = if *only_here { active.clone() } else { None };
                on_search.emit((field.value(), room));
            }
        })
    };
    let on_input = {
        let text = text.clone();
        Callback::from(move |e: InputEvent| {
            text.set(e.target_unchecked_into::<HtmlInputElement>().value());
        })
    };
    let on_scope = {
        let only_here = only_here.clone();
        Callback::from(move |e: Event| {
            only_here.set(e.target_unchecked_into::<HtmlInputElement>().checked());
        })
    };
    let on_keydown = {
        let on_close = props.on_close.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                e.prevent_default();
                on_close.emit(());
            }
        })
    };
    let close = props.on_close.reform(|_: MouseEvent| ());
    let more = props.on_more.reform(|_: MouseEvent| ());
    let today = Today::now();
    let status = if search.loading {
        Some("Searching…".to_owned())
    } else if let Some(error) = &search.error {
        Some(error.clone())
    } else if !search.id.is_empty() && search.hits.is_empty() {
        Some(format!("No messages found for “{}”.", search.query))
    } else {
        None
    };
    html! {
        <section class="search-panel" aria-label="Search messages" data-testid="search-panel" onkeydown={on_keydown}>
            <form role="search" class="search-form" onsubmit={on_submit}>
                <label for="search-input" class="visually-hidden">{ "Search messages" }</label>
                <input id="search-input" data-testid="search-input" type="search" ref={input}
                    placeholder="Search messages" autocomplete="off" value={(*text).clone()} oninput={on_input} />
                <button type="submit" data-testid="search-submit">{ "Search" }</button>
                <button type="button" class="link-button" data-testid="search-close" onclick={close}
                    aria-label="Close the search">{ "Close" }</button>
                if let Some(room) = &props.active {
                    <label class="search-scope">
                        <input type="checkbox" data-testid="search-here" checked={*only_here} onchange={on_scope} />
                        { format!(" only #{room}") }
                    </label>
                }
            </form>
            <p class="search-status" role="status" data-testid="search-status">{ status.unwrap_or_default() }</p>
            <ul class="search-results" data-testid="search-results" aria-label="Results">
                { for search.hits.iter().map(|hit| {
                    let on_open = props.on_open.clone();
                    let (room, seq) = (hit.room.clone(), hit.seq);
                    let onclick = Callback::from(move |_: MouseEvent| on_open.emit((room.clone(), seq)));
                    let when = format!("{} {}", day_label(hit.ts as f64, &today), local_time(hit.ts as f64));
                    html! {
                        <li>
                            <button type="button" class="hit" data-testid="search-hit" data-room={hit.room.clone()}
                                data-seq={hit.seq.to_string()} {onclick}>
                                <span class="hit-head">
                                    <span class="hit-room">{ format!("#{}", hit.room) }</span>
                                    <span class="hit-nick">{ hit.nick.clone() }</span>
                                    <span class="hit-time">{ when }</span>
                                </span>
                                <span class="hit-text">
                                    { for marked(&hit.text, &hit.matches).into_iter().map(|(mark, text)| if mark {
                                        html! { <mark>{ text }</mark> }
                                    } else {
                                        html! { { text } }
                                    }) }
                                </span>
                            </button>
                        </li>
                    }
                }) }
            </ul>
            if search.more {
                <button type="button" class="link-button search-more" data-testid="search-more" onclick={more}
                    disabled={search.loading}>{ "More results" }</button>
            }
        </section>
    }
}
