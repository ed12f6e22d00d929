//! Every promise the module hands out settles. Async methods run through [`settle`], which keeps
//! each pending promise's `reject` until the work ends; if the module panics meanwhile, the panic
//! hook calls [`reject_all`] before wasm aborts, so callers get an Error naming the crash instead
//! of a promise that never settles. (A trap that skips the hook — an allocation failure — cannot be
//! seen from inside; the page and the worker watch for those themselves.)

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

thread_local! {
    static PENDING: RefCell<BTreeMap<u64, Function>> = const { RefCell::new(BTreeMap::new()) };
    static NEXT: Cell<u64> = const { Cell::new(0) };
}

/// A promise of `work`'s result: resolved with its value, rejected with its error, or rejected
/// with the crash if the module panics before it ends. After a panic nothing runs any more: the
/// promise is rejected at once.
pub fn settle<F>(work: F) -> Promise
where
    F: Future<Output = Result<JsValue, JsError>> + 'static,
{
    let mut ends = None;
    let promise = Promise::new(&mut |resolve, reject| ends = Some((resolve, reject)));
    let (resolve, reject) = ends.expect("a promise's executor runs at once");
    if crate::panic::panicked() {
        let _ = reject.call1(&JsValue::UNDEFINED, &crashed_error().into());
        return promise;
    }
    let id = NEXT.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    PENDING.with(|p| p.borrow_mut().insert(id, reject.clone()));
    wasm_bindgen_futures::spawn_local(async move {
        let result = work.await;
        PENDING.with(|p| p.borrow_mut().remove(&id));
        let _ = match result {
            Ok(value) => resolve.call1(&JsValue::UNDEFINED, &value),
            Err(error) => reject.call1(&JsValue::UNDEFINED, &error.into()),
        };
    });
    promise
}

/// How many promises are waiting on work (for tests).
pub fn pending_count() -> usize {
    PENDING.with(|p| p.try_borrow().map_or(0, |p| p.len()))
}

fn crashed_error() -> js_sys::Error {
    let message = crate::panic::panic_message().unwrap_or_else(|| "unknown panic".into());
    js_sys::Error::new(&format!(
        "the module crashed ({message}); create a new instance to go on"
    ))
}

/// Rejects every pending promise with the crash. Called from the panic hook.
pub fn reject_all() {
    let pending = PENDING.with(|p| p.try_borrow_mut().map(|mut p| std::mem::take(&mut *p)));
    let Ok(pending) = pending else {
        return; // the panic happened while the table was being changed: nothing safe to do
    };
    let error: JsValue = crashed_error().into();
    for reject in pending.values() {
        let _ = reject.call1(&JsValue::UNDEFINED, &error);
    }
}
