//! Release builds of the browser app leave out the wasm "name" section (the
//! functions' names, a quarter of the bundle): rustc's wasm linker strips
//! it (`--strip-all`), since the Debian wasm-opt that would otherwise do it
//! cannot read what rustc 1.95 emits (README). Debug builds keep the names
//! for readable stack traces.

fn main() {
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32");
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    if wasm && release {
        println!("cargo:rustc-link-arg-bins=--strip-all");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
