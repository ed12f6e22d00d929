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
        MESSAGE.with(|m| {
            if let Ok(mut m) = m.try_borrow_mut() {
                *m = Some(info.to_string());
            }
        });
        console_error_panic_hook::hook(info);
        crate::pending::reject_all();
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

/// Crashes on purpose inside async work, after `after_ms`, the way a bug in a model method would:
/// `"panic"` panics (the hook runs), `"alloc"` fails an allocation (wasm aborts without the hook,
/// as a real out-of-memory does). For tests of the promise and crash handling only.
#[doc(hidden)]
#[wasm_bindgen(js_name = debugCrashLater, unchecked_return_type = "Promise<never>")]
pub fn debug_crash_later(how: String, after_ms: u32) -> js_sys::Promise {
    crate::pending::settle(async move {
        let wait = js_sys::Promise::new(&mut |resolve, _| set_timeout(&resolve, after_ms));
        let _ = wasm_bindgen_futures::JsFuture::from(wait).await;
        crash(&how)
    })
}

fn crash(how: &str) -> Result<JsValue, JsError> {
    if how == "alloc" {
        std::alloc::handle_alloc_error(std::alloc::Layout::new::<[u8; 1 << 20]>())
    } else {
        panic!("debugCrashLater was called (a deliberate crash for testing)")
    }
}

/// Calls `handler` after `ms` milliseconds, on a page or in a worker.
fn set_timeout(handler: &js_sys::Function, ms: u32) {
    use wasm_bindgen::JsCast;
    let global = js_sys::global();
    let ms = ms.min(i32::MAX as u32) as i32;
    if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(handler, ms);
    } else if let Some(worker) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        let _ = worker.set_timeout_with_callback_and_timeout_and_arguments_0(handler, ms);
    }
}

/// Switches on (or off) a fault in the WebGPU path: every tensor read back from the GPU comes back
/// 1% off, as a skipped or miscompiled kernel would leave it. For tests of the start-up self-check
/// and the spot-check during training only; the WebGPU build only.
#[cfg(feature = "webgpu")]
#[doc(hidden)]
#[wasm_bindgen(js_name = debugWebGpuFault)]
pub fn debug_webgpu_fault(on: bool) {
    vae_core::inference::fault::set(on);
}
