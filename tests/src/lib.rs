//! Cross-crate tests live in `tests/`; this library holds what several of
//! them share that is not about nodes: the real-browser driver of the web
//! console's tests (`browser`).

pub mod browser;
