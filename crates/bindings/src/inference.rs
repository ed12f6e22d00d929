//! Inference on a `Vae`: encode, decode, reconstruct, draws from q(z|x), the bounds and scores,
//! the manifold; and the reconstruction floor of a digit.

use js_sys::{Float32Array, Object, Promise};
use vae_core::bounds;
use vae_core::inference::{self, MAX_ROWS};
use vae_core::loss::{DEFAULT_SIGMA_X, Likelihood};
use wasm_bindgen::prelude::*;

use crate::args;
use crate::marshal::{encoded_object, floats, js_error, set};
use crate::model::Vae;
use crate::pending::settle;

#[wasm_bindgen]
impl Vae {
    /// q(z|x) of `n` digits (`pixels`: n×784 grey values in [0, 1]). Resolves to
    /// `{ mu, logvar, sigma }`, each n×latentDim; `logvar` and `sigma` are null for the plain
    /// autoencoder. `labels` (n digits 0–9) is used by conditional models.
    #[wasm_bindgen(
        js_name = encode,
        unchecked_return_type = "Promise<{ mu: Float32Array, logvar: Float32Array | null, sigma: Float32Array | null }>"
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
    /// Resolves to `{ mu, logvar, sigma, recon, negElbo }` (recon n×784; negElbo n, nats).
    #[wasm_bindgen(
        js_name = reconstruct,
        unchecked_return_type = "Promise<{ mu: Float32Array, logvar: Float32Array | null, sigma: Float32Array | null, recon: Float32Array, negElbo: Float32Array }>"
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
        unchecked_return_type = "Promise<{ z: Float32Array, images: Float32Array }>"
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
    #[wasm_bindgen(
        js_name = bounds,
        unchecked_return_type = "Promise<{ draws: number, negElbo: Float32Array, negLogLikelihood: Float32Array, floor: Float32Array }>"
    )]
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

    /// −ELBO of each digit in nats (z = μ, β = 1): the anomaly score.
    #[wasm_bindgen(js_name = negativeElbo, unchecked_return_type = "Promise<Float32Array>")]
    pub fn negative_elbo_js(
        &self,
        pixels: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Promise {
        let this = self.handle();
        settle(async move { floats(this.negative_elbo(pixels, n, labels).await?) })
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
        Ok(encoded_object(&encoded)?.into())
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

    /// One deterministic pass (z = μ) over `n` digits: what the page shows for a drawing.
    /// Resolves to `{ mu, logvar, recon, negElbo }` (recon n×784; negElbo n, nats).
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
        let out = encoded_object(&result.encoded)?;
        set(
            &out,
            "recon",
            &Float32Array::from(result.images.as_slice()).into(),
        )?;
        set(
            &out,
            "negElbo",
            &Float32Array::from(result.negative_elbo.as_slice()).into(),
        )?;
        Ok(out.into())
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
        let out = Object::new();
        set(&out, "z", &Float32Array::from(z.as_slice()).into())?;
        set(
            &out,
            "images",
            &Float32Array::from(images.as_slice()).into(),
        )?;
        Ok(out.into())
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
        let out = Object::new();
        set(&out, "draws", &(result.draws as f64).into())?;
        for (key, values) in [
            ("negElbo", &result.negative_elbo),
            ("negLogLikelihood", &result.negative_log_likelihood),
            ("floor", &floor),
        ] {
            set(&out, key, &Float32Array::from(values.as_slice()).into())?;
        }
        Ok(out.into())
    }

    /// The decoded manifold of a latent-2 model: a `side × side` grid of z at the prior's
    /// quantiles (Kingma & Welling's figure), row-major from the top-left; `side² × 784` values.
    pub async fn manifold(&self, side: JsValue) -> Result<Vec<f32>, JsError> {
        let side = args::count("side", &side, 2, inference::MAX_MANIFOLD_SIDE)?;
        let model = self.model();
        inference::manifold(&model, side).await.map_err(js_error)
    }

    /// −ELBO of each digit in nats (z = μ, β = 1): the anomaly score.
    pub async fn negative_elbo(
        &self,
        pixels: Vec<f32>,
        n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Result<Vec<f32>, JsError> {
        let n = args::count("n", &n, 1, MAX_ROWS)?;
        let model = self.model();
        inference::negative_elbo(
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
