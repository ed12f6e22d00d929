//! Panic reporting. A panic in wasm leaves the module unusable; the hook records it so the page
//! can ask `panicked()` and show a clear panel instead of going quietly dead.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};

use wasm_bindgen::prelude::*;

static PANICKED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

#[wasm_bindgen(start)]
pub fn start() {
    crate::ctors::run_once();
    std::panic::set_hook(Box::new(|info| {
        PANICKED.store(true, Ordering::SeqCst);
        MESSAGE.with(|m| *m.borrow_mut() = Some(info.to_string()));
        console_error_panic_hook::hook(info);
    }));
}

/// Whether the module has panicked (after which it must be reloaded).
#[wasm_bindgen]
pub fn panicked() -> bool {
    PANICKED.load(Ordering::SeqCst)
}

/// The panic's message, if the module panicked.
#[wasm_bindgen(js_name = panicMessage)]
pub fn panic_message() -> Option<String> {
    MESSAGE.with(|m| m.borrow().clone())
}

/// Panics on purpose, so tests can check that a crash is reported and shown. Not for other use.
#[doc(hidden)]
#[wasm_bindgen(js_name = debugPanic)]
pub fn debug_panic() {
    panic!("debugPanic was called (a deliberate crash for testing)");
}
