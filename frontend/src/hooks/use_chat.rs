//! One store for the whole page, shared through a context: [`ChatProvider`]
//! creates it and provides a [`ChatHandle`]; [`use_chat`] reads it in any
//! component below, which then re-renders whenever the state changes.
//!
//! Without the context, each component that wanted the state would create
//! its own store, with its own socket. The pattern is the one of yew's
//! `contexts` example; the handle carries a version number so that the
//! context changes (and tells its readers) after every action.

use yew::prelude::*;

use super::store::{ChatHandle, Store};

/// Props of [`ChatProvider`].
#[derive(Properties, PartialEq)]
pub struct ChatProviderProps {
    /// The app.
    pub children: Html,
}

/// Creates the store once and provides it to everything inside.
#[function_component(ChatProvider)]
pub fn chat_provider(props: &ChatProviderProps) -> Html {
    let update = use_force_update();
    let store = use_memo((), move |_| {
        Store::start(Callback::from(move |_| update.force_update()))
    });
    html! {
        <ContextProvider<ChatHandle> context={store.handle()}>
            { props.children.clone() }
        </ContextProvider<ChatHandle>>
    }
}

/// The app's store; re-renders the calling component on every change.
/// Must be called inside a [`ChatProvider`].
#[hook]
pub fn use_chat() -> ChatHandle {
    use_context::<ChatHandle>().expect("use_chat() is called inside <ChatProvider>")
}
