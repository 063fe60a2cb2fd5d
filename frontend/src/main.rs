//! Starts the app in the page's `<body>`: the store's provider around the app.

fn main() {
    #[cfg(target_arch = "wasm32")]
    yew::Renderer::<Root>::new().render();
}

/// The page: one store ([`ChatProvider`](parley_frontend::hooks::ChatProvider)) for the whole app.
#[cfg(target_arch = "wasm32")]
#[yew::function_component(Root)]
fn root() -> yew::Html {
    use parley_frontend::components::App;
    use parley_frontend::hooks::ChatProvider;
    yew::html! {
        <ChatProvider>
            <App />
        </ChatProvider>
    }
}
