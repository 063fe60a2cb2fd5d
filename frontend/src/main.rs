//! Starts the app in the page's `<body>`.

fn main() {
    #[cfg(target_arch = "wasm32")]
    yew::Renderer::<parley_frontend::components::App>::new().render();
}
