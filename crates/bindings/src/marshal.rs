//! Values across the boundary: option objects in and result objects out through serde-wasm-bindgen,
//! float vectors as `Float32Array`, and core errors as `JsError`.

use js_sys::{Float32Array, Uint8Array};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserializer, Serialize, Serializer};
use vae_core::VaeError;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::args::invalid;

pub(crate) fn js_error(e: VaeError) -> JsError {
    JsError::new(&e.to_string())
}

/// A float vector as the Float32Array a promise resolves to.
pub(crate) fn floats(values: Vec<f32>) -> Result<JsValue, JsError> {
    Ok(Float32Array::from(values.as_slice()).into())
}

/// `value` (an options object; `undefined` or `null` for every default) as `T`. An error names the
/// field that failed: "invalid input: option latentDim: invalid type: floating point `1.5`,
/// expected u32". `what` prefixes the field's path.
pub(crate) fn from_js<T: DeserializeOwned + Default>(
    what: &str,
    value: JsValue,
) -> Result<T, JsError> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    let deserializer = serde_wasm_bindgen::Deserializer::from(value);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        // serde-wasm-bindgen's error is a JS Error, whose Display adds "Error: ".
        let reason = JsValue::from(e.into_inner())
            .dyn_into::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|v| format!("{v:?}"));
        if path == "." {
            invalid(format!("{what}s must be an object: {reason}"))
        } else {
            invalid(format!("{what} {path}: {reason}"))
        }
    })
}

/// A result struct as a plain JS object (`None` becomes `null`).
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    // Flattened structs go through serde's map path: as objects, not `Map`s.
    let serializer = serde_wasm_bindgen::Serializer::new()
        .serialize_missing_as_null(true)
        .serialize_maps_as_objects(true);
    value
        .serialize(&serializer)
        .map_err(|e| JsError::new(&format!("could not build the result object: {e}")))
}

/// Serialises a float vector as a `Float32Array` (serde alone would make a plain array).
pub(crate) fn f32_array<S: Serializer>(values: &[f32], s: S) -> Result<S::Ok, S::Error> {
    serde_wasm_bindgen::preserve::serialize(&Float32Array::from(values), s)
}

/// [`f32_array`], or `null`.
pub(crate) fn f32_array_or_null<S: Serializer>(
    values: &Option<Vec<f32>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match values {
        Some(values) => f32_array(values, s),
        None => s.serialize_none(),
    }
}

/// Serialises bytes as a `Uint8Array`.
pub(crate) fn u8_array<S: Serializer>(values: &[u8], s: S) -> Result<S::Ok, S::Error> {
    serde_wasm_bindgen::preserve::serialize(&Uint8Array::from(values), s)
}

/// Deserialises an optional `Uint8Array` (null counts as absent) into bytes.
pub(crate) fn uint8_array<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
    let value: JsValue = serde_wasm_bindgen::preserve::deserialize(d)?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.dyn_into::<Uint8Array>() {
        Ok(array) => Ok(Some(array.to_vec())),
        Err(_) => Err(D::Error::custom("expected a Uint8Array")),
    }
}
