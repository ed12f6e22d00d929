//! Whole-number arguments from JavaScript. wasm-bindgen converts a `usize` argument with ToInt32
//! and an `f64` one with ToNumber, so 1.5 → 1, 2³² + 1 → 1, −1 → 4294967295 and "1" → 1 would
//! pass unnoticed. Counts, sizes and seeds therefore arrive as `JsValue` and are checked here: a
//! number, whole, in range, or an error that names the argument.

use wasm_bindgen::prelude::*;

/// The largest seed: every whole number a JavaScript number holds exactly (2⁵³ − 1).
pub const MAX_SEED: f64 = 9_007_199_254_740_991.0;

/// Errors read like the core's input errors.
pub fn invalid(message: impl std::fmt::Display) -> JsError {
    JsError::new(&format!("invalid input: {message}"))
}

/// What a value is, for a message: the number itself, or its JavaScript type.
fn describe(value: &JsValue) -> String {
    match (value.as_f64(), value.as_string()) {
        (Some(x), _) => x.to_string(),
        (_, Some(s)) => format!("the string {s:?}"),
        _ => value.js_typeof().as_string().unwrap_or_default(),
    }
}

/// `value` as a whole number from `min` to `max`; `what` names it in the error ("n", "option
/// batchSize").
pub fn whole(what: &str, value: &JsValue, min: f64, max: f64) -> Result<f64, JsError> {
    match value.as_f64() {
        Some(x) if x.fract() == 0.0 && (min..=max).contains(&x) => Ok(x),
        _ => Err(invalid(format!(
            "{what} must be a whole number from {min} to {max}, got {}",
            describe(value)
        ))),
    }
}

/// A count or size from `min` to `max`.
pub fn count(what: &str, value: &JsValue, min: usize, max: usize) -> Result<usize, JsError> {
    Ok(whole(what, value, min as f64, max as f64)? as usize)
}

/// A seed: any whole number from 0 to 2⁵³ − 1.
pub fn seed(what: &str, value: &JsValue) -> Result<u64, JsError> {
    Ok(whole(what, value, 0.0, MAX_SEED)? as u64)
}
