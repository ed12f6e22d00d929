//! Inference on a `Vae`: encode, decode, reconstruct, draws from q(z|x), the bounds and scores,
//! the manifold; and the reconstruction floor of a digit.

use js_sys::Promise;
use serde::Serialize;
use tsify::Tsify;
use vae_core::bounds;
use vae_core::inference::{self, MAX_ROWS};
use vae_core::loss::{DEFAULT_SIGMA_X, Likelihood};
use wasm_bindgen::prelude::*;

use crate::args;
use crate::marshal::{f32_array, f32_array_or_null, floats, js_error, to_js};
use crate::model::Vae;
use crate::pending::settle;

/// q(z|x) of `n` digits, each `n × latentDim`.
#[derive(Serialize, Tsify)]
pub struct Encoding {
    #[serde(serialize_with = "f32_array")]
    #[tsify(type = "Float32Array")]
    pub mu: Vec<f32>,
    /// log σ²; null for the plain autoencoder.
    #[serde(serialize_with = "f32_array_or_null")]
    #[tsify(type = "Float32Array | null")]
    pub logvar: Option<Vec<f32>>,
    /// σ = exp(½ log σ²); null for the plain autoencoder.
    #[serde(serialize_with = "f32_array_or_null")]
    #[tsify(type = "Float32Array | null")]
    pub sigma: Option<Vec<f32>>,
}

impl Encoding {
    fn new(encoded: inference::Encoded) -> Self {
        let sigma = encoded.sigma();
        Self {
            mu: encoded.mu,
            logvar: encoded.logvar,
            sigma,
        }
    }
}

/// One deterministic pass (z = μ) over `n` digits.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct Reconstruction {
    #[serde(flatten)]
    pub encoding: Encoding,
    /// The decoder's mean images at z = μ, `n × 784`.
    #[serde(serialize_with = "f32_array")]
    #[tsify(type = "Float32Array")]
    pub recon: Vec<f32>,
    /// −log p(x|z = μ) + KL per digit, nats: deterministic, not an ELBO (the ELBO averages over
    /// q(z|x); see `bounds`). For the plain autoencoder, the reconstruction error alone.
    #[serde(serialize_with = "f32_array")]
    #[tsify(type = "Float32Array")]
    pub score_at_mean: Vec<f32>,
}

/// Decoded draws from q(z|x) of one digit.
#[derive(Serialize, Tsify)]
pub struct PosteriorDraws {
    /// The draws, `k × latentDim`.
    #[serde(serialize_with = "f32_array")]
    #[tsify(type = "Float32Array")]
    pub z: Vec<f32>,
    /// Their decoder means, `k × 784`.
    #[serde(serialize_with = "f32_array")]
    #[tsify(type = "Float32Array")]
    pub images: Vec<f32>,
}

/// How well a model explains `n` digits, nats per digit of its likelihood.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct Bounds {
    /// Draws of q(z|x) per digit.
    pub draws: u32,
    /// −ELBO: the mean over the draws of −log p(x|z), plus the closed-form KL.
    #[serde(serialize_with = "f32_array")]
    #[tsify(type = "Float32Array")]
    pub neg_elbo: Vec<f32>,
    /// The importance-weighted estimate of −log p(x) from the same draws (at most −ELBO).
    #[serde(serialize_with = "f32_array")]
    #[tsify(type = "Float32Array")]
    pub neg_log_likelihood: Vec<f32>,
    /// −log p(x|z) of a decoder that reproduces each digit exactly: no model goes below it.
    #[serde(serialize_with = "f32_array")]
    #[tsify(type = "Float32Array")]
    pub floor: Vec<f32>,
}

#[wasm_bindgen]
impl Vae {
    /// q(z|x) of `n` digits (`pixels`: n×784 grey values in [0, 1]). Resolves to
    /// `{ mu, logvar, sigma }`, each n×latentDim; `logvar` and `sigma` are null for the plain
    /// autoencoder. `labels` (n digits 0–9) is used by conditional models.
    #[wasm_bindgen(
        js_name = encode,
        unchecked_return_type = "Promise<Encoding>"
    )]
    pub fn encode_js(
        &self,
        pixels: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Promise {
        let this = self.handle();
        settle(async move { this.encode(pixels, n, labels).await })
    }

    /// The decoder's mean images of `n` latent points (`z`: n×latentDim): n×784 grey values.
    #[wasm_bindgen(js_name = decode, unchecked_return_type = "Promise<Float32Array>")]
    pub fn decode_js(
        &self,
        z: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Promise {
        let this = self.handle();
        settle(async move { floats(this.decode(z, n, labels).await?) })
    }

    /// One deterministic pass (z = μ) over `n` digits: what the page shows for a drawing.
    /// Resolves to `{ mu, logvar, sigma, recon, scoreAtMean }` (recon n×784; scoreAtMean n, nats).
    #[wasm_bindgen(
        js_name = reconstruct,
        unchecked_return_type = "Promise<Reconstruction>"
    )]
    pub fn reconstruct_js(
        &self,
        pixels: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Promise {
        let this = self.handle();
        settle(async move { this.reconstruct(pixels, n, labels).await })
    }

    /// `k` decoded draws z = μ + σ ⊙ ε from q(z|x) = N(μ, σ²) of one digit, given its `mu` and
    /// `logvar` (latentDim values each, as `encode`/`reconstruct` return them; null logvar = no
    /// spread), reproducible from `seed`. Resolves to
    /// `{ z: Float32Array (k×latentDim), images: Float32Array (k×784) }`.
    #[wasm_bindgen(
        js_name = posteriorDraws,
        unchecked_return_type = "Promise<PosteriorDraws>"
    )]
    pub fn posterior_draws_js(
        &self,
        mu: Vec<f32>,
        logvar: Option<Vec<f32>>,
        #[wasm_bindgen(unchecked_param_type = "number")] k: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Promise {
        let this = self.handle();
        settle(async move { this.posterior_draws(mu, logvar, k, seed, labels).await })
    }

    /// How well the model explains `n` digits, from `k` draws of q(z|x) each (reproducible from
    /// `seed`), in nats per digit of the model's likelihood. Resolves to `{ draws, negElbo,
    /// negLogLikelihood, floor }`: −ELBO (mean over the draws of −log p(x|z), plus the closed-form
    /// KL), the importance-weighted estimate of −log p(x), and −log p(x|z) of a perfect decoder.
    /// Rejects for the plain autoencoder, which has no ELBO.
    #[wasm_bindgen(js_name = bounds, unchecked_return_type = "Promise<Bounds>")]
    pub fn bounds_js(
        &self,
        pixels: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] k: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Promise {
        let this = self.handle();
        settle(async move { this.bounds(pixels, n, k, seed, labels).await })
    }

    /// The decoded manifold of a latent-2 model: a `side × side` grid of z at the prior's
    /// quantiles (Kingma & Welling's figure), row-major from the top-left; `side² × 784` values.
    #[wasm_bindgen(js_name = manifold, unchecked_return_type = "Promise<Float32Array>")]
    pub fn manifold_js(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] side: JsValue,
    ) -> Promise {
        let this = self.handle();
        settle(async move { floats(this.manifold(side).await?) })
    }

    /// −log p(x|z = μ) + KL of each digit in nats (β = 1): `reconstruct`'s `scoreAtMean` without
    /// the images. Deterministic; not an ELBO.
    #[wasm_bindgen(js_name = scoreAtMean, unchecked_return_type = "Promise<Float32Array>")]
    pub fn score_at_mean_js(
        &self,
        pixels: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Promise {
        let this = self.handle();
        settle(async move { floats(this.score_at_mean(pixels, n, labels).await?) })
    }
}

impl Vae {
    /// q(z|x) of `n` digits (`pixels`: n×784 grey values in [0, 1]). Resolves to
    /// `{ mu, logvar }`, each n×latentDim; `logvar` is null for the plain autoencoder.
    /// `labels` (n digits 0–9) is used by conditional models.
    pub async fn encode(
        &self,
        pixels: Vec<f32>,
        n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Result<JsValue, JsError> {
        let n = args::count("n", &n, 1, MAX_ROWS)?;
        let model = self.model();
        let encoded = inference::encode(&model, &pixels, n, labels.as_deref())
            .await
            .map_err(js_error)?;
        to_js(&Encoding::new(encoded))
    }

    /// The decoder's mean images of `n` latent points (`z`: n×latentDim): n×784 grey values.
    pub async fn decode(
        &self,
        z: Vec<f32>,
        n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Result<Vec<f32>, JsError> {
        let n = args::count("n", &n, 1, MAX_ROWS)?;
        let model = self.model();
        inference::decode(&model, &z, n, labels.as_deref())
            .await
            .map_err(js_error)
    }

    /// See `reconstruct` above.
    pub async fn reconstruct(
        &self,
        pixels: Vec<f32>,
        n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Result<JsValue, JsError> {
        let n = args::count("n", &n, 1, MAX_ROWS)?;
        let model = self.model();
        let result = inference::reconstruct(
            &model,
            &pixels,
            n,
            labels.as_deref(),
            self.shared.likelihood,
        )
        .await
        .map_err(js_error)?;
        to_js(&Reconstruction {
            encoding: Encoding::new(result.encoded),
            recon: result.images,
            score_at_mean: result.score_at_mean,
        })
    }

    /// `k` decoded draws z = μ + σ ⊙ ε from q(z|x) = N(μ, σ²) of one digit, given its `mu` and
    /// `logvar` (latentDim values each, as `encode`/`reconstruct` return them; null logvar = no
    /// spread), reproducible from `seed`. Resolves to
    /// `{ z: Float32Array (k×latentDim), images: Float32Array (k×784) }`.
    pub async fn posterior_draws(
        &self,
        mu: Vec<f32>,
        logvar: Option<Vec<f32>>,
        k: JsValue,
        seed: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Result<JsValue, JsError> {
        let k = args::count("k", &k, 1, inference::MAX_DRAWS)?;
        let mut rng = vae_core::rng::Rng::new(args::seed("seed", &seed)?);
        let model = self.model();
        let (z, images) = inference::posterior_draws(
            &model,
            &mu,
            logvar.as_deref(),
            labels.as_deref(),
            k,
            &mut rng,
        )
        .await
        .map_err(js_error)?;
        to_js(&PosteriorDraws { z, images })
    }

    /// See `bounds` above.
    pub async fn bounds(
        &self,
        pixels: Vec<f32>,
        n: JsValue,
        k: JsValue,
        seed: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Result<JsValue, JsError> {
        let n = args::count("n", &n, 1, MAX_ROWS)?;
        let k = args::count("k", &k, 1, inference::MAX_DRAWS)?;
        let mut rng = vae_core::rng::Rng::new(args::seed("seed", &seed)?);
        let likelihood = self.shared.likelihood;
        let model = self.model();
        let result = bounds::bounds(
            &model,
            &pixels,
            n,
            labels.as_deref(),
            likelihood,
            k,
            &mut rng,
        )
        .await
        .map_err(js_error)?;
        let floor = bounds::floor(&pixels, n, likelihood, self.sigma_x()).map_err(js_error)?;
        to_js(&Bounds {
            draws: result.draws as u32,
            neg_elbo: result.negative_elbo,
            neg_log_likelihood: result.negative_log_likelihood,
            floor,
        })
    }

    /// The decoded manifold of a latent-2 model: a `side × side` grid of z at the prior's
    /// quantiles (Kingma & Welling's figure), row-major from the top-left; `side² × 784` values.
    pub async fn manifold(&self, side: JsValue) -> Result<Vec<f32>, JsError> {
        let side = args::count("side", &side, 2, inference::MAX_MANIFOLD_SIDE)?;
        let model = self.model();
        inference::manifold(&model, side).await.map_err(js_error)
    }

    /// See `scoreAtMean` above.
    pub async fn score_at_mean(
        &self,
        pixels: Vec<f32>,
        n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Result<Vec<f32>, JsError> {
        let n = args::count("n", &n, 1, MAX_ROWS)?;
        let model = self.model();
        inference::score_at_mean(
            &model,
            &pixels,
            n,
            labels.as_deref(),
            self.shared.likelihood,
        )
        .await
        .map_err(js_error)
    }
}

/// −log p(x|z) of a decoder that reproduces each of `n` digits exactly, in nats, under
/// `likelihood` ("bernoulli": the entropy of the grey pixels; "gaussian": its constant
/// (784/2)·ln(2πσ_x²), `sigmaX` 0.1 unless given).
#[wasm_bindgen(js_name = reconstructionFloor)]
pub fn reconstruction_floor(
    pixels: Vec<f32>,
    #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
    #[wasm_bindgen(unchecked_param_type = "\"bernoulli\" | \"gaussian\"")] likelihood: String,
    #[wasm_bindgen(js_name = sigmaX)] sigma_x: Option<f32>,
) -> Result<Vec<f32>, JsError> {
    let n = args::count("n", &n, 1, MAX_ROWS)?;
    let sigma_x = sigma_x.unwrap_or(DEFAULT_SIGMA_X);
    vae_core::loss::check_sigma_x(sigma_x).map_err(js_error)?;
    let likelihood = Likelihood::parse(&likelihood).ok_or_else(|| {
        JsError::new(&format!(
            "likelihood must be \"bernoulli\" or \"gaussian\", got \"{likelihood}\""
        ))
    })?;
    bounds::floor(&pixels, n, likelihood, sigma_x).map_err(js_error)
}

/// The anomaly rank: the percentage (0 to 100) of `reference` scores (the test digits' estimates,
/// by the same estimator) strictly below `score`.
#[wasm_bindgen(js_name = percentBelow)]
pub fn percent_below(score: f32, reference: Vec<f32>) -> Result<f64, JsError> {
    bounds::percent_below(score, &reference).map_err(js_error)
}
