//! The page's keyboard shortcuts: Ctrl+K (Cmd+K on a Mac) or `/` (when not
//! typing in a field) opens the search. A window listener, removed when the
//! component that uses it goes away.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Whether a key press happened while typing in a field.
fn in_field(e: &KeyboardEvent) -> bool {
    e.target_dyn_into::<web_sys::HtmlElement>()
        .is_some_and(|t| {
            matches!(t.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                || t.is_content_editable()
        })
}

/// Calls `on_search` for Ctrl/Cmd+K, and for `/` outside a field.
#[hook]
pub fn use_shortcuts(on_search: Callback<()>) {
    use_effect_with(on_search, |on_search| {
        let on_search = on_search.clone();
        let listener = Closure::<dyn Fn(KeyboardEvent)>::new(move |e: KeyboardEvent| {
            let search = (e.key().eq_ignore_ascii_case("k") && (e.ctrl_key() || e.meta_key()))
                || (e.key() == "/" && !e.ctrl_key() && !e.meta_key() && !in_field(&e));
            if search {
                e.prevent_default();
                on_search.emit(());
            }
        });
        let window = web_sys::window();
        if let Some(window) = &window {
            let _ = window
                .add_event_listener_with_callback("keydown", listener.as_ref().unchecked_ref());
        }
        move || {
            if let Some(window) = window {
                let _ = window.remove_event_listener_with_callback(
                    "keydown",
                    listener.as_ref().unchecked_ref(),
                );
            }
        }
    });
}
