//! Results built for JavaScript, and core errors as `JsError`.

use js_sys::{Float32Array, Object, Reflect};
use vae_core::VaeError;
use vae_core::inference::{self};
use wasm_bindgen::prelude::*;

/// A float vector as the Float32Array a promise resolves to.
pub(crate) fn floats(values: Vec<f32>) -> Result<JsValue, JsError> {
    Ok(Float32Array::from(values.as_slice()).into())
}

pub(crate) fn js_error(e: VaeError) -> JsError {
    JsError::new(&e.to_string())
}

pub(crate) fn set(object: &Object, key: &str, value: &JsValue) -> Result<(), JsError> {
    Reflect::set(object, &key.into(), value)
        .map_err(|_| JsError::new("could not build the result object"))?;
    Ok(())
}

/// `{ mu, logvar, sigma }` as a JS object; `logvar` and `sigma` are null for the plain autoencoder.
pub(crate) fn encoded_object(encoded: &inference::Encoded) -> Result<Object, JsError> {
    let out = Object::new();
    set(
        &out,
        "mu",
        &Float32Array::from(encoded.mu.as_slice()).into(),
    )?;
    let logvar = encoded
        .logvar
        .as_ref()
        .map_or(JsValue::NULL, |l| Float32Array::from(l.as_slice()).into());
    set(&out, "logvar", &logvar)?;
    let sigma = encoded
        .sigma()
        .map_or(JsValue::NULL, |s| Float32Array::from(s.as_slice()).into());
    set(&out, "sigma", &sigma)?;
    Ok(out)
}

/// `{ loss, recon, kl, sigmaX }` of one training step (`sigmaX` null for the Bernoulli likelihood).
pub(crate) fn stats_object(stats: &vae_core::training::StepStats) -> Result<Object, JsError> {
    let out = Object::new();
    set(&out, "loss", &stats.loss.into())?;
    set(&out, "recon", &stats.recon.into())?;
    set(&out, "kl", &stats.kl.into())?;
    set(
        &out,
        "sigmaX",
        &stats.sigma_x.map_or(JsValue::NULL, JsValue::from),
    )?;
    Ok(out)
}
