//! Drawings to MNIST-style digits, and the shipped digits' test split.

use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::prelude::*;

use crate::args;
use crate::marshal::{f32_array, js_error, to_js, u8_array};

/// The shipped digits' test split.
#[derive(Serialize, Tsify)]
pub struct TestDigits {
    /// `count × 784` grey values in [0, 1].
    #[serde(serialize_with = "f32_array")]
    #[tsify(type = "Float32Array")]
    pub pixels: Vec<f32>,
    /// The digits' labels 0–9.
    #[serde(serialize_with = "u8_array")]
    #[tsify(type = "Uint8Array")]
    pub labels: Vec<u8>,
    pub count: u32,
}

/// MNIST-style preprocessing of a drawing (`grey`: width×height values in [0, 1], ink = 1):
/// scaled to fit 20×20, centred by centre of mass in 28×28. Returns 784 grey values.
#[wasm_bindgen(js_name = toMnist)]
pub fn to_mnist(
    grey: Vec<f32>,
    #[wasm_bindgen(unchecked_param_type = "number")] width: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] height: JsValue,
) -> Result<Vec<f32>, JsError> {
    let (width, height) = image_size(&width, &height)?;
    vae_core::preprocess::to_mnist(&grey, width, height).map_err(js_error)
}

/// A drawing's width and height, each from 1 to the core's largest side.
fn image_size(width: &JsValue, height: &JsValue) -> Result<(usize, usize), JsError> {
    let max = vae_core::preprocess::MAX_SIDE;
    Ok((
        args::count("width", width, 1, max)?,
        args::count("height", height, 1, max)?,
    ))
}

/// [`to_mnist`] from a canvas's RGBA bytes (`getImageData().data`), the alpha channel being the ink.
#[wasm_bindgen(js_name = rgbaToMnist)]
pub fn rgba_to_mnist(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | Uint8ClampedArray")] rgba: Vec<u8>,
    #[wasm_bindgen(unchecked_param_type = "number")] width: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] height: JsValue,
) -> Result<Vec<f32>, JsError> {
    let (width, height) = image_size(&width, &height)?;
    vae_core::preprocess::rgba_to_mnist(&rgba, width, height).map_err(js_error)
}

/// Reads the packed digits file (already decompressed) and returns the test split
/// (index % 10 == 0) as `{ pixels: Float32Array (n×784), labels: Uint8Array, count }`.
#[wasm_bindgen(js_name = testDigits, unchecked_return_type = "TestDigits")]
pub fn test_digits(bytes: Vec<u8>) -> Result<JsValue, JsError> {
    let digits = vae_core::data::Digits::from_bytes(&bytes).map_err(js_error)?;
    let (pixels, labels) = digits.batch(&digits.test_indices());
    to_js(&TestDigits {
        count: labels.len() as u32,
        pixels,
        labels,
    })
}
