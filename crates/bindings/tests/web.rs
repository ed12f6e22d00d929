//! The bindings in a real browser (headless Chromium through wasm-bindgen-test): the JS contract,
//! and bad input rejected with a message instead of a panic. Built with `--features webgpu` the
//! same tests run on WebGPU (Chromium's SwiftShader adapter here), plus the cross-backend checks.
#![cfg(target_family = "wasm")]

use js_sys::{Object, Reflect};
use vae_wasm::{
    JsLatentWalk, JsProjection, Vae, kl_per_dimension, latent_arithmetic, panicked,
    standard_normal, to_mnist,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn options(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (k, v) in pairs {
        Reflect::set(&object, &(*k).into(), v).unwrap();
    }
    object.into()
}

fn message(error: wasm_bindgen::JsError) -> String {
    let value: JsValue = error.into();
    value.dyn_into::<js_sys::Error>().unwrap().message().into()
}

/// The backend the suite runs on.
const BACKEND: &str = if cfg!(feature = "webgpu") {
    "webgpu"
} else {
    "cpu"
};

async fn small() -> Vae {
    Vae::create(options(&[
        ("latentDim", 2.into()),
        ("hidden", 32.into()),
        ("seed", 3.into()),
        ("backend", BACKEND.into()),
    ]))
    .await
    .unwrap()
}

fn field(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &key.into()).unwrap()
}

#[wasm_bindgen_test]
async fn create_reports_its_shape() {
    let vae = small().await;
    assert_eq!(vae.backend(), BACKEND);
    assert_eq!(vae.latent_dim(), 2);
    assert_eq!(vae.hidden(), 32);
    assert_eq!(vae.kind(), "vae");
    let defaults = Vae::create(JsValue::UNDEFINED).await.unwrap();
    // "auto": WebGPU where the build and the browser have it, else the CPU with the reason.
    assert_eq!(defaults.backend(), BACKEND);
    match BACKEND {
        "cpu" => assert!(
            defaults
                .fallback_reason()
                .unwrap()
                .contains("no WebGPU backend")
        ),
        _ => assert_eq!(defaults.fallback_reason(), None),
    }
    assert_eq!((defaults.latent_dim(), defaults.hidden()), (20, 400));
}

#[wasm_bindgen_test]
async fn encode_decode_and_train_in_the_browser() {
    let vae = small().await;
    let pixels: Vec<f32> = (0..3 * 784)
        .map(|i| ((i * 37) % 101) as f32 / 100.0)
        .collect();
    let encoded = vae.encode(pixels.clone(), 3.into(), None).await.unwrap();
    let mu: Vec<f32> = field(&encoded, "mu")
        .dyn_into::<js_sys::Float32Array>()
        .unwrap()
        .to_vec();
    let logvar: Vec<f32> = field(&encoded, "logvar")
        .dyn_into::<js_sys::Float32Array>()
        .unwrap()
        .to_vec();
    assert_eq!((mu.len(), logvar.len()), (6, 6));
    let images = vae.decode(mu.clone(), 3.into(), None).await.unwrap();
    assert_eq!(images.len(), 3 * 784);
    assert!(images.iter().all(|v| (0.0..=1.0).contains(v)));

    // The first step's loss, recomputed by the core on the CPU from the same weights and the same
    // noise (the trainer draws ε from the model's seed, 3): −ELBO of one draw, batch mean.
    let weights = vae.to_safetensors().await.unwrap();
    let want = core_first_loss(&weights, &pixels, 3, 3).await;
    let first = vae
        .train_step(pixels.clone(), 3.into(), options(&[("lr", 0.01.into())]))
        .await
        .unwrap();
    let got = field(&first, "loss").as_f64().unwrap() as f32;
    assert!(
        max_relative(&[got], &[want]) < LOSS_TOLERANCE,
        "first loss {got}, the core's {want}"
    );
    let mut last = first.clone();
    for _ in 0..20 {
        last = vae
            .train_step(pixels.clone(), 3.into(), options(&[("lr", 0.01.into())]))
            .await
            .unwrap();
    }
    let loss = |v: &JsValue| field(v, "loss").as_f64().unwrap();
    assert!(
        loss(&last) < loss(&first),
        "{} → {}",
        loss(&first),
        loss(&last)
    );
    let recon = field(&last, "recon").as_f64().unwrap();
    let kl = field(&last, "kl").as_f64().unwrap();
    assert!((loss(&last) - (recon + kl)).abs() < 1e-3 * loss(&last));
    assert_eq!(vae.steps(), 21.0);
}

#[wasm_bindgen_test]
async fn bounds_cross_with_their_floor_and_refuse_an_autoencoder() {
    let vae = small().await;
    let pixels: Vec<f32> = (0..2 * 784)
        .map(|i| ((i * 37) % 101) as f32 / 100.0)
        .collect();
    let a = vae
        .bounds(pixels.clone(), 2.into(), 64.into(), 5.into(), None)
        .await
        .unwrap();
    let again = vae
        .bounds(pixels.clone(), 2.into(), 64.into(), 5.into(), None)
        .await
        .unwrap();
    assert_eq!(field(&a, "draws").as_f64(), Some(64.0));
    let (elbo, nll, floor) = (
        floats(&a, "negElbo"),
        floats(&a, "negLogLikelihood"),
        floats(&a, "floor"),
    );
    assert_eq!(
        nll,
        floats(&again, "negLogLikelihood"),
        "the same seed, the same draws"
    );
    // The core, run on the CPU from the same weights, digits and seed, gives the same numbers.
    let weights = vae.to_safetensors().await.unwrap();
    let model = vae_core::weights::read_safetensors(&weights)
        .unwrap()
        .to_model(&vae_core::backend::cpu_device());
    let bernoulli = vae_core::loss::Likelihood::Bernoulli;
    let mut rng = vae_core::rng::Rng::new(5);
    let core = vae_core::bounds::bounds(&model, &pixels, 2, None, bernoulli, 64, &mut rng)
        .await
        .unwrap();
    assert!(max_relative(&elbo, &core.negative_elbo) < 1e-4);
    assert!(max_relative(&nll, &core.negative_log_likelihood) < 1e-4);
    assert_eq!(
        floor,
        vae_core::bounds::floor(&pixels, 2, bernoulli, 0.1).unwrap()
    );
    for i in 0..2 {
        assert!(
            floor[i] < nll[i] && nll[i] < elbo[i],
            "{} < {} < {}",
            floor[i],
            nll[i],
            elbo[i]
        );
    }
    let bad = vae.bounds(pixels.clone(), 2.into(), 1.5.into(), 5.into(), None);
    names(bad.await.err().unwrap(), "k", &1.5.into());

    let ae = Vae::create(options(&[
        ("hidden", 8.into()),
        ("latentDim", 2.into()),
        ("kind", "autoencoder".into()),
    ]))
    .await
    .unwrap();
    let refused = ae
        .bounds(pixels.clone(), 2.into(), 4.into(), 1.into(), None)
        .await
        .err()
        .unwrap();
    assert!(message(refused).contains("no ELBO"));
    // The autoencoder's reconstruction: null where it has no log σ², its score a Float32Array.
    let r = ae
        .reconstruct(pixels.clone(), 2.into(), None)
        .await
        .unwrap();
    assert!(field(&r, "logvar").is_null() && field(&r, "sigma").is_null());
    assert_eq!(floats(&r, "mu").len(), 4);
    assert_eq!(floats(&r, "recon").len(), 2 * 784);
    assert_eq!(floats(&r, "scoreAtMean").len(), 2);
}

/// `file` with `step` added to every number of every tensor's `key` ("data_offsets" or "shape").
fn shifted(file: &[u8], key: &str, step: u64) -> Vec<u8> {
    let header_len = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&file[8..8 + header_len]).unwrap();
    for (name, entry) in header.iter_mut() {
        if name != "__metadata__" {
            for n in entry[key].as_array_mut().unwrap() {
                *n = (n.as_u64().unwrap() + step).into();
            }
        }
    }
    let text = serde_json::to_vec(&header).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(&file[8 + header_len..]);
    out
}

#[wasm_bindgen_test]
async fn safetensors_round_trip_and_bad_files_change_nothing() {
    let vae = small().await;
    let bytes = vae.to_safetensors().await.unwrap();
    let other = Vae::create(options(&[
        ("latentDim", 2.into()),
        ("hidden", 32.into()),
        ("seed", 99.into()),
    ]))
    .await
    .unwrap();
    assert_ne!(other.to_safetensors().await.unwrap(), bytes);
    other.load_safetensors(bytes.clone()).unwrap();
    assert_eq!(other.to_safetensors().await.unwrap(), bytes);

    let truncated = message(
        other
            .load_safetensors(bytes[..bytes.len() / 2].to_vec())
            .unwrap_err(),
    );
    assert!(truncated.contains("truncated"), "{truncated}");
    let wrong_shape = Vae::create(options(&[("latentDim", 3.into()), ("hidden", 32.into())]))
        .await
        .unwrap();
    let mismatch = message(
        other
            .load_safetensors(wrong_shape.to_safetensors().await.unwrap())
            .unwrap_err(),
    );
    assert!(
        mismatch.contains("latent 3") && mismatch.contains("latent 2"),
        "{mismatch}"
    );
    assert_eq!(
        other.to_safetensors().await.unwrap(),
        bytes,
        "a failed load must leave the model unchanged"
    );

    // Offsets and sizes past 2³² are refused on wasm32 rather than wrapped to small, plausible
    // numbers (each of these files loaded, and replaced the model, before).
    for key in ["data_offsets", "shape"] {
        let wrapped = message(
            other
                .load_safetensors(shifted(&bytes, key, 1 << 32))
                .unwrap_err(),
        );
        assert!(wrapped.contains("too large"), "{key}: {wrapped}");
    }
    assert_eq!(other.to_safetensors().await.unwrap(), bytes);

    let adopted = Vae::from_safetensors(
        wrong_shape.to_safetensors().await.unwrap(),
        JsValue::UNDEFINED,
    )
    .await
    .unwrap();
    assert_eq!(adopted.latent_dim(), 3);
}

#[wasm_bindgen_test]
async fn bad_input_rejects_with_a_message_and_never_panics() {
    let vae = small().await;
    let err = |e: Result<JsValue, wasm_bindgen::JsError>| message(e.unwrap_err());
    assert!(err(vae.encode(vec![0.5; 700], 1.into(), None).await).contains("expected 1 × 784"));
    assert!(err(vae.encode(vec![], 0.into(), None).await).contains("n must be a whole number"));
    let mut nan = vec![0.5; 784];
    nan[10] = f32::NAN;
    assert!(err(vae.encode(nan.clone(), 1.into(), None).await).contains("not a finite number"));
    assert!(
        message(
            vae.decode(vec![f32::INFINITY, 0.0], 1.into(), None)
                .await
                .unwrap_err()
        )
        .contains("not a finite number")
    );
    assert!(
        message(vae.decode(vec![0.0; 3], 1.into(), None).await.unwrap_err())
            .contains("expected 1 × 2")
    );
    assert!(
        err(vae.train_step(nan, 1.into(), JsValue::UNDEFINED).await)
            .contains("not a finite number")
    );
    assert!(
        err(vae
            .train_step(
                vec![0.5; 784],
                1.into(),
                options(&[("lr", f64::NAN.into())])
            )
            .await)
        .contains("lr")
    );
    assert!(
        message(
            Vae::create(options(&[("latentDim", 0.into())]))
                .await
                .err()
                .unwrap()
        )
        .contains("latentDim")
    );
    assert!(
        message(
            Vae::create(options(&[("backend", "tpu".into())]))
                .await
                .err()
                .unwrap()
        )
        .contains("backend")
    );
    // Option objects are deserialised into typed structs; a bad field is named with what was
    // expected, and a value that is not an object is refused as a whole.
    let create_error = |pairs: &[(&str, JsValue)]| {
        let options = options(pairs);
        async move { message(Vae::create(options).await.err().unwrap()) }
    };
    for (pairs, wanted) in [
        (
            vec![("latentDim", JsValue::from(1.5))],
            "option latentDim: invalid type: floating point `1.5`",
        ),
        (
            vec![("hidden", "400".into())],
            "option hidden: invalid type: string \"400\"",
        ),
        (vec![("seed", (-1).into())], "option seed"),
        (
            vec![("kind", "gan".into())],
            "option kind: unknown variant `gan`, expected one of `vae`, `autoencoder`, `conditional`",
        ),
        (
            vec![("likelihood", "poisson".into())],
            "option likelihood: unknown variant `poisson`",
        ),
        (
            vec![("latentDim", 5000.into())],
            "option latentDim must be from 1 to",
        ),
    ] {
        let got = create_error(&pairs).await;
        assert!(got.contains(wanted), "{pairs:?}: {got}");
    }
    let not_an_object = message(Vae::create(5.into()).await.err().unwrap());
    assert!(
        not_an_object.contains("options must be an object"),
        "{not_an_object}"
    );
    for (pairs, wanted) in [
        (
            vec![("labels", js_sys::Array::of2(&1.into(), &2.into()).into())],
            "option labels: expected a Uint8Array",
        ),
        (
            vec![("batchSize", 0.into())],
            "option batchSize must be from 1 to 4096",
        ),
        (
            vec![("learnSigmaX", "yes".into())],
            "option learnSigmaX: invalid type: string",
        ),
        (
            vec![("beta", f64::INFINITY.into())],
            "option beta must be a finite number",
        ),
    ] {
        let got = err(vae
            .train_step(vec![0.5; 784], 1.into(), options(&pairs))
            .await);
        assert!(got.contains(wanted), "{pairs:?}: {got}");
    }
    // null counts as absent: every default.
    let defaults = options(&[("lr", JsValue::NULL), ("labels", JsValue::NULL)]);
    assert!(
        vae.train_step(vec![0.5; 784], 1.into(), defaults)
            .await
            .is_ok()
    );
    assert!(message(to_mnist(vec![0.0; 5], 2.into(), 2.into()).unwrap_err()).contains("expected"));
    assert!(standard_normal((usize::MAX as f64).into(), 1.into()).is_err());
    assert!(!panicked(), "no bad input may panic the module");
}

/// Asserts that `error` says the argument `name` must be a whole number.
fn names(error: wasm_bindgen::JsError, name: &str, value: &JsValue) {
    let text = message(error);
    assert!(
        text.contains(&format!("{name} must be a whole number")),
        "{name} = {value:?}: {text}"
    );
}

/// Counts, sizes and seeds from JavaScript: wasm-bindgen would turn 1.5 into 1, 2³² + 1 into 1,
/// −1 into 4294967295 and "1" into 1 without a word. Each is refused with a message naming the
/// argument, sizes too large to allocate are refused before allocating, and afterwards the model
/// decodes exactly as before.
#[wasm_bindgen_test]
async fn counts_and_seeds_must_be_whole_numbers_in_range() {
    let vae = small().await;
    let z = vec![0.3, -0.2];
    let before = vae.decode(z.clone(), 1.into(), None).await.unwrap();
    let pixels = vec![0.5; 784];
    let bad: [JsValue; 8] = [
        0.into(),
        (-1).into(),
        1.5.into(),
        f64::NAN.into(),
        "1".into(),
        4_294_967_297.0.into(),
        20_000_000.into(),
        JsValue::NULL,
    ];
    for v in &bad {
        let n = || v.clone();
        names(vae.decode(z.clone(), n(), None).await.unwrap_err(), "n", v);
        names(
            vae.encode(pixels.clone(), n(), None).await.unwrap_err(),
            "n",
            v,
        );
        names(
            vae.reconstruct(pixels.clone(), n(), None)
                .await
                .unwrap_err(),
            "n",
            v,
        );
        names(
            vae.score_at_mean(pixels.clone(), n(), None)
                .await
                .unwrap_err(),
            "n",
            v,
        );
        names(
            vae.train_step(pixels.clone(), n(), JsValue::UNDEFINED)
                .await
                .unwrap_err(),
            "n",
            v,
        );
        names(
            vae.posterior_draws(z.clone(), None, n(), 1.into(), None)
                .await
                .unwrap_err(),
            "k",
            v,
        );
        names(vae.manifold(n()).await.unwrap_err(), "side", v);
        names(
            to_mnist(vec![0.0; 4], n(), 2.into()).unwrap_err(),
            "width",
            v,
        );
        names(standard_normal(n(), 1.into()).unwrap_err(), "n", v);
        names(
            kl_per_dimension(vec![0.0], vec![0.0], 1.into(), n()).unwrap_err(),
            "dim",
            v,
        );
        names(
            JsProjection::new(vec![0.0; 4], n(), 2.into())
                .err()
                .unwrap(),
            "n",
            v,
        );
        names(
            JsLatentWalk::new("circle".into(), n(), 1.into(), None, None, None)
                .err()
                .unwrap(),
            "latent",
            v,
        );
    }
    let digits = vae_core::data::Digits::new(vec![0; 10 * 784], (0..10).collect())
        .unwrap()
        .to_bytes();
    let bad_seeds: [JsValue; 5] = [
        (-1).into(),
        0.5.into(),
        "7".into(),
        f64::NAN.into(),
        9_007_199_254_740_992.0.into(),
    ];
    for v in &bad_seeds {
        names(standard_normal(2.into(), v.clone()).unwrap_err(), "seed", v);
        names(
            vae.set_training_digits(digits.clone(), v.clone())
                .unwrap_err(),
            "seed",
            v,
        );
    }
    let path = message(
        JsLatentWalk::new(5.into(), 2.into(), 1.into(), None, None, None)
            .err()
            .unwrap(),
    );
    assert!(path.contains("walk path must be a string"), "{path}");
    let plane = message(
        JsLatentWalk::new(
            "circle".into(),
            3.into(),
            1.into(),
            None,
            None,
            Some(vec![1.0; 5]),
        )
        .err()
        .unwrap(),
    );
    assert!(
        plane.contains("plane must be 2 × 3 numbers, got 5"),
        "{plane}"
    );
    assert_eq!(vae.decode(z, 1.into(), None).await.unwrap(), before);
    assert!(!panicked(), "no argument may panic the module");
}

/// The in-tab trainer's path: digits kept inside the module, batches drawn there, epochs counted,
/// the test split scored; and the latent helpers the page uses.
#[wasm_bindgen_test]
async fn trains_on_digits_kept_in_the_module() {
    let vae = small().await;
    let refused = vae.train_batch(JsValue::UNDEFINED).await.err().unwrap();
    assert!(message(refused).contains("setTrainingDigits"));
    // 40 digits: 36 train (index % 10 != 0), 4 test; batch 16 → 3 batches per epoch.
    let pixels: Vec<u8> = (0..40 * 784).map(|i| ((i * 53) % 256) as u8).collect();
    let labels: Vec<u8> = (0..40).map(|i| (i % 10) as u8).collect();
    let bytes = vae_core::data::Digits::new(pixels, labels)
        .unwrap()
        .to_bytes();
    // A 24-byte file whose count makes 8 + count × 785 wrap to 24 in 32-bit arithmetic: it used
    // to pass the length check and then panic while slicing.
    let mut lying = b"VAED".to_vec();
    lying.extend_from_slice(&3_222_593_296u32.to_le_bytes());
    lying.extend_from_slice(&[0; 16]);
    let lie = message(vae.set_training_digits(lying, 1.into()).unwrap_err());
    assert!(lie.contains("24 bytes for 3222593296 digits"), "{lie}");
    let bytes_again = bytes.clone();
    assert_eq!(vae.set_training_digits(bytes, 1.into()).unwrap(), 36);
    let batch = options(&[("batchSize", 16.into())]);
    // The same session run by the core on the CPU, from the same weights, digits and seeds.
    let weights = vae.to_safetensors().await.unwrap();
    let model = vae_core::weights::read_safetensors(&weights)
        .unwrap()
        .to_model(&vae_core::backend::cpu_device());
    let mut session = vae_core::session::Session::new(model, 3);
    let digits = vae_core::data::Digits::from_bytes(&bytes_again).unwrap();
    session.set_digits(digits, 1).unwrap();
    let config = vae_core::training::TrainConfig::new().with_batch_size(16);
    let mut ends = Vec::new();
    for _ in 0..4 {
        let r = vae.train_batch(batch.clone()).await.unwrap();
        let want = session.step(&config).await.unwrap().stats.loss;
        let got = field(&r, "loss").as_f64().unwrap() as f32;
        assert!(
            max_relative(&[got], &[want]) < LOSS_TOLERANCE,
            "trainBatch loss {got}, the core session's {want}"
        );
        assert_eq!(field(&r, "stepsPerEpoch").as_f64(), Some(3.0));
        ends.push(field(&r, "endsEpoch").as_bool().unwrap());
    }
    assert_eq!(ends, [false, false, true, false]);
    assert_eq!(vae.steps(), 4.0);
    // The test split is digits 0, 10, 20, 30; its z = μ score recomputed through the export.
    let test_scores = vae.test_scores().await.unwrap();
    let test: Vec<f32> = [0, 10, 20, 30]
        .iter()
        .flat_map(|d| (d * 784..(d + 1) * 784).map(|i| ((i * 53) % 256) as f32 / 255.0))
        .collect();
    let scores = vae.score_at_mean(test, 4.into(), None).await.unwrap();
    let mean = scores.iter().map(|&v| v as f64).sum::<f64>() / 4.0;
    let at_mean = field(&test_scores, "scoreAtMean").as_f64().unwrap();
    assert!((at_mean - mean).abs() < 1e-4 * mean, "{at_mean} vs {mean}");
    let bad = options(&[("batchSize", 0.into())]);
    assert!(message(vae.train_batch(bad).await.err().unwrap()).contains("batchSize"));

    let projection = JsProjection::new(vec![1.0, 2.0, 3.0, 4.0], 2.into(), 2.into()).unwrap();
    assert_eq!(
        projection.project(vec![0.5, -1.0], 1.into()).unwrap(),
        vec![0.5, -1.0]
    );
    assert!(JsProjection::new(vec![1.0, 2.0, 3.0], 2.into(), 2.into()).is_err());
    assert_eq!(
        latent_arithmetic(vec![1.0, 1.0], vec![0.5, 0.0], vec![0.0, 2.0]).unwrap(),
        vec![0.5, 3.0]
    );
    assert!(latent_arithmetic(vec![1.0], vec![0.5, 0.0], vec![0.0, 2.0]).is_err());
    let kl = kl_per_dimension(vec![1.0, 0.0], vec![0.0, 0.0], 1.into(), 2.into()).unwrap();
    assert_eq!(kl, vec![0.5, 0.0]);
}

/// How closely a step's loss must match the core's recomputation on the CPU: the CPU build runs
/// the same kernels; WebGPU's differ in rounding.
const LOSS_TOLERANCE: f32 = if cfg!(feature = "webgpu") { 1e-4 } else { 1e-5 };

/// The loss of a first training step on `n` digits, as the core computes it on the CPU from the
/// weights file and a trainer seeded with `seed` (β = 1, Bernoulli).
async fn core_first_loss(weights: &[u8], pixels: &[f32], n: usize, seed: u64) -> f32 {
    use vae_core::inference::upload;
    let device = vae_core::backend::cpu_device();
    let model = vae_core::weights::read_safetensors(weights)
        .unwrap()
        .to_model(&device);
    let latent = model.latent();
    let eps = vae_core::rng::Rng::new(seed).normals(n * latent);
    let x = upload(pixels, n, 784, &device);
    let output = model.forward(x.clone(), None, Some(upload(&eps, n, latent, &device)));
    let terms = vae_core::loss::loss(&output, x, vae_core::loss::Likelihood::Bernoulli, 1.0);
    vae_core::inference::read1(terms.total).await.unwrap()[0]
}

/// Largest |a − b| / max(|b|, 1e-3).
fn max_relative(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1e-3))
        .fold(0.0, f32::max)
}

fn floats(object: &JsValue, key: &str) -> Vec<f32> {
    field(object, key)
        .dyn_into::<js_sys::Float32Array>()
        .unwrap()
        .to_vec()
}

/// Same seed ⇒ the same weights on both backends; then encode/decode agree within 1e-4 relative,
/// and 10 training steps on the same batches and noise give losses within 1e-3 relative.
#[cfg(feature = "webgpu")]
#[wasm_bindgen_test]
async fn webgpu_agrees_with_the_cpu() {
    let make = |backend: &str| {
        Vae::create(options(&[
            ("latentDim", 4.into()),
            ("hidden", 64.into()),
            ("seed", 5.into()),
            ("backend", backend.into()),
        ]))
    };
    let cpu = make("cpu").await.unwrap();
    let gpu = make("webgpu").await.unwrap();
    assert_eq!(
        (cpu.backend(), gpu.backend()),
        ("cpu".into(), "webgpu".into())
    );
    let pixels: Vec<f32> = (0..8 * 784)
        .map(|i| ((i * 29) % 97) as f32 / 96.0)
        .collect();
    let (a, b) = (
        cpu.reconstruct(pixels.clone(), 8.into(), None)
            .await
            .unwrap(),
        gpu.reconstruct(pixels.clone(), 8.into(), None)
            .await
            .unwrap(),
    );
    for key in ["mu", "logvar", "recon", "scoreAtMean"] {
        let off = max_relative(&floats(&b, key), &floats(&a, key));
        web_sys_log(&format!(
            "encode/decode {key}: WebGPU vs CPU relative difference {off:.2e}"
        ));
        assert!(off < 1e-4, "{key}: relative difference {off}");
    }
    let z = standard_normal((8 * 4).into(), 9.into()).unwrap();
    let off = max_relative(
        &gpu.decode(z.clone(), 8.into(), None).await.unwrap(),
        &cpu.decode(z, 8.into(), None).await.unwrap(),
    );
    assert!(off < 1e-4, "decode: relative difference {off}");

    let digits: Vec<u8> = (0..200 * 784)
        .map(|i| ((i * 53 + i / 784) % 256) as u8)
        .collect();
    let labels: Vec<u8> = (0..200).map(|i| (i % 10) as u8).collect();
    let bytes = vae_core::data::Digits::new(digits, labels)
        .unwrap()
        .to_bytes();
    cpu.set_training_digits(bytes.clone(), 2.into()).unwrap();
    gpu.set_training_digits(bytes, 2.into()).unwrap();
    let step = options(&[("batchSize", 32.into()), ("lr", 1e-3.into())]);
    let mut worst = 0.0f64;
    for _ in 0..10 {
        let x = cpu.train_batch(step.clone()).await.unwrap();
        let y = gpu.train_batch(step.clone()).await.unwrap();
        let (x, y) = (
            field(&x, "loss").as_f64().unwrap(),
            field(&y, "loss").as_f64().unwrap(),
        );
        worst = worst.max((x - y).abs() / x.abs());
    }
    web_sys_log(&format!(
        "10 training steps: largest relative loss difference {worst:.2e}"
    ));
    assert!(worst < 1e-3, "training diverged across backends: {worst}");
}

#[cfg(feature = "webgpu")]
fn web_sys_log(message: &str) {
    wasm_bindgen_test::console_log!("{}", message);
}

/// `free()` while a call is pending (dropping the Rust handle is what `free()` does) neither
/// throws nor frees what the call uses: the call finishes with the same answer as before, and
/// no promise is left waiting.
#[wasm_bindgen_test]
async fn a_model_freed_while_its_calls_are_pending_lives_until_they_end() {
    use wasm_bindgen_futures::JsFuture;
    let vae = small().await;
    let z = vec![0.3f32, -0.2];
    let before = vae.decode(z.clone(), 1.into(), None).await.unwrap();
    let pixels = vec![0.5f32; 2 * 784];
    let want = core_first_loss(&vae.to_safetensors().await.unwrap(), &pixels, 2, 3).await;
    let decoding = vae.decode_js(z.clone(), 1.into(), None);
    let training = vae.train_step_js(pixels, 2.into(), JsValue::UNDEFINED);
    let saving = vae.to_safetensors_js();
    drop(vae);
    let decoded = JsFuture::from(decoding).await.unwrap();
    assert_eq!(js_sys::Float32Array::from(decoded).to_vec(), before);
    let step = JsFuture::from(training).await.unwrap();
    let got = field(&step, "loss").as_f64().unwrap() as f32;
    assert!(
        max_relative(&[got], &[want]) < LOSS_TOLERANCE,
        "{got} vs {want}"
    );
    let bytes = JsFuture::from(saving).await.unwrap();
    assert!(js_sys::Uint8Array::from(bytes).length() > 1000);
    assert_eq!(vae_wasm::pending_count(), 0);
}

/// A GPU that reads back wrong numbers (the fault hook makes every read 1% off) fails the start-up
/// self-check: "webgpu" refuses with the reason, "auto" stays on the CPU and says why.
#[cfg(feature = "webgpu")]
#[wasm_bindgen_test]
async fn a_faulty_gpu_fails_the_self_check() {
    let make = |backend: &str| {
        Vae::create(options(&[
            ("latentDim", 2.into()),
            ("hidden", 32.into()),
            ("backend", backend.into()),
        ]))
    };
    vae_wasm::debug_webgpu_fault(true);
    let refused = make("webgpu").await.err().map(message);
    let auto = make("auto").await.unwrap();
    vae_wasm::debug_webgpu_fault(false);
    let refused = refused.expect("a faulty GPU must be refused");
    assert!(
        refused.contains("self-check disagreed with the CPU"),
        "{refused}"
    );
    assert_eq!(auto.backend(), "cpu");
    assert!(
        auto.fallback_reason()
            .unwrap()
            .contains("self-check disagreed")
    );
    assert_eq!(
        make("webgpu").await.unwrap().backend(),
        "webgpu",
        "fault off: WebGPU again"
    );
}

/// The same self-check guards the AAE, the HVAE and the VRAE: with every GPU read 1% off,
/// "webgpu" refuses each with the reason and "auto" keeps it on the CPU.
#[cfg(feature = "webgpu")]
#[wasm_bindgen_test]
async fn a_faulty_gpu_fails_the_family_self_check() {
    use vae_wasm::{Aae, Hvae, Vrae};
    let small = |backend: &str| {
        options(&[
            ("hidden", 8.into()),
            ("hiddenTop", 8.into()),
            ("backend", backend.into()),
        ])
    };
    vae_wasm::debug_webgpu_fault(true);
    let refused = [
        Aae::create(small("webgpu")).await.err().map(message),
        Hvae::create(small("webgpu")).await.err().map(message),
        Vrae::create(small("webgpu")).await.err().map(message),
    ];
    let auto = [
        Aae::create(small("auto")).await.unwrap().fallback_reason(),
        Hvae::create(small("auto")).await.unwrap().fallback_reason(),
        Vrae::create(small("auto")).await.unwrap().fallback_reason(),
    ];
    vae_wasm::debug_webgpu_fault(false);
    for (refused, auto) in refused.into_iter().zip(auto) {
        let refused = refused.expect("a faulty GPU must be refused");
        assert!(
            refused.contains("training self-check disagreed with the CPU"),
            "{refused}"
        );
        assert!(auto.unwrap().contains("self-check disagreed"));
    }
    let vrae = Vrae::create(small("webgpu")).await.unwrap();
    assert_eq!(vrae.backend(), "webgpu", "fault off: WebGPU again");
    assert_eq!(vrae.fallback_reason(), None);
}

/// The worker's path (`setTrainingDigits` + `trainBatch`) and the native `train` binary run the
/// same core session: from the same weights, digits and seed, the first eight losses match the
/// fixture the native test (`crates/core/tests/suite/session.rs`) checks, each within 5e-6 relative.
/// On WebGPU the kernels differ, so there the check is looser.
#[wasm_bindgen_test]
async fn the_browser_takes_the_train_binarys_steps() {
    let weights = include_bytes!("../../core/tests/fixtures/parity_vae.safetensors").to_vec();
    let fixture: serde_json::Value = serde_json::from_str(include_str!(
        "../../core/tests/fixtures/session_losses.json"
    ))
    .unwrap();
    let vae = Vae::from_safetensors(
        weights,
        options(&[("seed", 5.into()), ("backend", BACKEND.into())]),
    )
    .await
    .unwrap();
    // The same 200 synthetic digits as the native test.
    let pixels = (0..200 * 784)
        .map(|i| ((i * 53 + i / 784 * 7) % 256) as u8)
        .collect();
    let labels = (0..200).map(|i| (i % 10) as u8).collect();
    let bytes = vae_core::data::Digits::new(pixels, labels)
        .unwrap()
        .to_bytes();
    assert_eq!(vae.set_training_digits(bytes, 5.into()).unwrap(), 180);
    let batch = options(&[("batchSize", 32.into())]);
    let tolerance = if cfg!(feature = "webgpu") { 1e-4 } else { 5e-6 };
    for (i, want) in fixture["losses"].as_array().unwrap().iter().enumerate() {
        let want = want.as_f64().unwrap();
        let got = field(&vae.train_batch(batch.clone()).await.unwrap(), "loss")
            .as_f64()
            .unwrap();
        assert!(
            (got - want).abs() <= tolerance * want.abs(),
            "loss {i}: the browser got {got}, the native run {want}"
        );
    }
}

/// The Gaussian likelihood's σ_x: chosen at creation, fixed while training unless learned, kept
/// in the file, and refused out of range with the option named.
#[wasm_bindgen_test]
async fn a_gaussian_models_sigma_is_chosen_learned_and_saved() {
    let create = |sigma: JsValue| {
        Vae::create(options(&[
            ("latentDim", 2.into()),
            ("hidden", 16.into()),
            ("likelihood", "gaussian".into()),
            ("sigmaX", sigma),
            ("backend", BACKEND.into()),
        ]))
    };
    for bad in [
        JsValue::from(0.0),
        2.0.into(),
        f64::NAN.into(),
        "0.1".into(),
    ] {
        let error = message(create(bad.clone()).await.err().unwrap());
        assert!(error.contains("sigmaX"), "{bad:?}: {error}");
    }
    let vae = create(0.2.into()).await.unwrap();
    assert!((vae.sigma_x() - 0.2).abs() < 1e-6);
    let pixels: Vec<f32> = (0..8 * 784)
        .map(|i| ((i * 29) % 97) as f32 / 96.0)
        .collect();
    let fixed = vae
        .train_step(pixels.clone(), 8.into(), JsValue::UNDEFINED)
        .await
        .unwrap();
    assert!((field(&fixed, "sigmaX").as_f64().unwrap() - 0.2).abs() < 1e-6);
    // −log N(x; x̂, σ²I) with σ = 0.2 is Σ(x − x̂)²/0.08 + 392·ln(2π·0.04); its constant is −513.
    let constant = 392.0 * (std::f64::consts::TAU * 0.04).ln();
    let recon = field(&fixed, "recon").as_f64().unwrap();
    assert!(recon > constant, "{recon} must exceed its floor {constant}");
    let learn = options(&[("learnSigmaX", true.into()), ("lr", 0.01.into())]);
    let mut sigma = 0.2;
    for _ in 0..5 {
        let step = vae
            .train_step(pixels.clone(), 8.into(), learn.clone())
            .await
            .unwrap();
        sigma = field(&step, "sigmaX").as_f64().unwrap();
    }
    // The pixels miss by far more than 0.2 at the start, so a learned σ_x grows (Adam: ~0.01 a step).
    assert!(
        sigma > 0.2 && sigma < 0.3,
        "σ_x after 5 learned steps: {sigma}"
    );
    assert!((vae.sigma_x() as f64 - sigma).abs() < 1e-6);
    let bad = options(&[("learnSigmaX", 1.into())]);
    assert!(
        message(
            vae.train_step(pixels.clone(), 8.into(), bad)
                .await
                .err()
                .unwrap()
        )
        .contains("learnSigmaX")
    );
    let bytes = vae.to_safetensors().await.unwrap();
    let back = Vae::from_safetensors(bytes, options(&[("sigmaX", 0.5.into())]))
        .await
        .unwrap();
    assert_eq!(back.likelihood(), "gaussian");
    assert!(
        (back.sigma_x() as f64 - sigma).abs() < 1e-6,
        "the file's σ_x wins"
    );
    let floor = vae_wasm::reconstruction_floor(
        pixels[..784].to_vec(),
        1.into(),
        "gaussian".into(),
        Some(0.2),
    )
    .unwrap();
    assert!((floor[0] as f64 - constant).abs() < 1e-3);
}

// ---- the family: the adversarial autoencoder and the hierarchical VAE ------------------------

async fn settled(promise: js_sys::Promise) -> Result<JsValue, String> {
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| e.dyn_into::<js_sys::Error>().unwrap().message().into())
}

fn floats_of(value: &JsValue) -> Vec<f32> {
    js_sys::Float32Array::new(value).to_vec()
}

/// 40 digits (36 train, 4 test), labels 0–9, as the session's file.
fn forty_digits() -> Vec<u8> {
    let pixels: Vec<u8> = (0..40 * 784).map(|i| ((i * 53) % 256) as u8).collect();
    let labels: Vec<u8> = (0..40).map(|i| (i % 10) as u8).collect();
    vae_core::data::Digits::new(pixels, labels)
        .unwrap()
        .to_bytes()
}

#[wasm_bindgen_test]
async fn adversarial_autoencoder_in_the_browser() {
    use vae_wasm::{Aae, mmd2};
    let refused = Aae::create(options(&[
        ("prior", "ring".into()),
        ("latentDim", 8.into()),
    ]))
    .await;
    assert!(message(refused.err().unwrap()).contains("the ring prior is 2-D"));
    let aae = Aae::create(options(&[
        ("prior", "ring".into()),
        ("hidden", 32.into()),
        ("seed", 3.into()),
        ("backend", BACKEND.into()),
    ]))
    .await
    .unwrap();
    assert_eq!(
        (aae.kind(), aae.prior(), aae.label_guided(), aae.backend()),
        ("adversarial".into(), "ring".into(), false, BACKEND.into())
    );
    assert_eq!(aae.latent_dim(), 2);
    let pixels: Vec<f32> = (0..2 * 784).map(|i| (i % 7) as f32 / 7.0).collect();
    let codes = floats_of(&settled(aae.codes(pixels.clone(), 2.into())).await.unwrap());
    assert_eq!(codes.len(), 4);
    let images = floats_of(&settled(aae.decode(codes.clone(), 2.into())).await.unwrap());
    assert_eq!(images.len(), 2 * 784);
    assert!(images.iter().all(|p| (0.0..=1.0).contains(p)));
    let short = settled(aae.decode(vec![0.0; 3], 2.into()))
        .await
        .unwrap_err();
    assert!(
        short.contains("z: expected 2 × 2 numbers, got 3"),
        "{short}"
    );
    let samples = aae.prior_samples(5.into(), 1.into(), None).unwrap();
    assert_eq!(
        samples,
        aae.prior_samples(5.into(), 1.into(), None).unwrap()
    );
    assert_eq!(samples.len(), 10);
    let far = message(mmd2(vec![0.0; 6], vec![0.0; 6], 4.into()).unwrap_err());
    assert!(
        far.contains("not two or more points of 4 dimensions"),
        "{far}"
    );

    // trainBatch is the core's session on the same weights, digits and seeds.
    let bytes = forty_digits();
    assert_eq!(
        aae.set_training_digits(bytes.clone(), 1.into()).unwrap(),
        36
    );
    let weights = js_sys::Uint8Array::new(&settled(aae.to_safetensors()).await.unwrap()).to_vec();
    let (model, prior) =
        vae_core::aae::read_aae_file(&weights, &vae_core::backend::cpu_device()).unwrap();
    assert_eq!(prior, Some(vae_core::aae::Prior::Ring));
    let mut session = vae_core::session::Session::new(model, 3);
    session
        .set_digits(vae_core::data::Digits::from_bytes(&bytes).unwrap(), 1)
        .unwrap();
    let config = vae_core::training::TrainConfig::new()
        .with_batch_size(16)
        .with_prior(vae_core::aae::Prior::Ring);
    for _ in 0..3 {
        let r = settled(aae.train_batch(options(&[("batchSize", 16.into())])))
            .await
            .unwrap();
        let want = session.step(&config).await.unwrap().stats;
        for (key, want) in [
            ("recon", want.recon),
            ("discriminator", want.discriminator),
            ("generator", want.generator),
        ] {
            let got = field(&r, key).as_f64().unwrap() as f32;
            assert!(
                max_relative(&[got], &[want]) < LOSS_TOLERANCE,
                "{key}: {got} vs the core's {want}"
            );
        }
        assert_eq!(
            field(&r, "discriminatorWins").as_bool(),
            Some(want.discriminator_wins())
        );
    }
    assert_eq!(aae.steps(), 3.0);
    let scores = settled(aae.test_scores()).await.unwrap();
    assert!(field(&scores, "recon").as_f64().unwrap() > 0.0);
    assert!(field(&scores, "mmd2").as_f64().unwrap().is_finite());
    let diverge = settled(aae.train_batch(options(&[("lr", f64::NAN.into())])))
        .await
        .unwrap_err();
    assert!(
        diverge.contains("option lr must be a finite number"),
        "{diverge}"
    );

    // The file names its prior, which wins over the option; a VAE's file is refused.
    let saved = js_sys::Uint8Array::new(&settled(aae.to_safetensors()).await.unwrap()).to_vec();
    let again = Aae::from_safetensors(saved, options(&[("prior", "gaussian".into())]))
        .await
        .unwrap();
    assert_eq!(again.prior(), "ring");
    let trained = floats_of(&settled(aae.codes(pixels.clone(), 2.into())).await.unwrap());
    assert_eq!(
        floats_of(&settled(again.codes(pixels, 2.into())).await.unwrap()),
        trained
    );
    let vae_file = include_bytes!("../../core/tests/fixtures/parity_vae.safetensors").to_vec();
    let wrong = message(
        Aae::from_safetensors(vae_file, JsValue::UNDEFINED)
            .await
            .err()
            .unwrap(),
    );
    assert!(wrong.contains("encoder.fc.weight is missing"), "{wrong}");
    let guided = Aae::create(options(&[
        ("prior", "swissroll".into()),
        ("labelGuided", true.into()),
        ("hidden", 8.into()),
    ]))
    .await
    .unwrap();
    let unlabelled = message(guided.prior_samples(3.into(), 1.into(), None).unwrap_err());
    assert!(unlabelled.contains("pass n labels"), "{unlabelled}");
    assert!(!panicked());
}

#[wasm_bindgen_test]
async fn hierarchical_vae_in_the_browser() {
    use vae_wasm::Hvae;
    let hvae = Hvae::create(options(&[
        ("hidden", 32.into()),
        ("hiddenTop", 16.into()),
        ("seed", 3.into()),
        ("backend", BACKEND.into()),
    ]))
    .await
    .unwrap();
    assert_eq!(
        (
            hvae.kind(),
            hvae.latent_dim(),
            hvae.latent_top(),
            hvae.backend()
        ),
        ("hierarchical".into(), 16, 2, BACKEND.into())
    );
    let pixels: Vec<f32> = (0..3 * 784).map(|i| (i % 5) as f32 / 5.0).collect();
    let top = floats_of(&settled(hvae.top_codes(pixels, 3.into())).await.unwrap());
    assert_eq!(top.len(), 6);
    // Without noise z₁ is p(z₁|z₂)'s mean; with it, each row its own draw.
    let z2 = vec![0.5, -0.5, 0.5, -0.5];
    let mean = floats_of(
        &settled(hvae.generate(z2.clone(), 2.into(), None))
            .await
            .unwrap(),
    );
    assert_eq!(&mean[..784], &mean[784..]);
    let eps: Vec<f32> = (0..32).map(|i| if i < 16 { 1.0 } else { -1.0 }).collect();
    let drawn = floats_of(
        &settled(hvae.generate(z2.clone(), 2.into(), Some(eps)))
            .await
            .unwrap(),
    );
    assert_ne!(&drawn[..784], &drawn[784..]);
    let bad = settled(hvae.generate(z2, 2.into(), Some(vec![0.0; 5])))
        .await
        .unwrap_err();
    assert!(
        bad.contains("eps1: expected 2 × 16 numbers, got 5"),
        "{bad}"
    );

    let bytes = forty_digits();
    hvae.set_training_digits(bytes.clone(), 1.into()).unwrap();
    let weights = js_sys::Uint8Array::new(&settled(hvae.to_safetensors()).await.unwrap()).to_vec();
    let model = vae_core::hvae::read_hvae(&weights, &vae_core::backend::cpu_device()).unwrap();
    let mut session = vae_core::session::Session::new(model, 3);
    session
        .set_digits(vae_core::data::Digits::from_bytes(&bytes).unwrap(), 1)
        .unwrap();
    let config = vae_core::training::TrainConfig::new().with_batch_size(16);
    for _ in 0..3 {
        let r = settled(hvae.train_batch(options(&[("batchSize", 16.into())])))
            .await
            .unwrap();
        let want = session.step(&config).await.unwrap().stats;
        let [bottom, top] = want.kl_layers.unwrap();
        for (key, want) in [
            ("loss", want.loss),
            ("recon", want.recon),
            ("klBottom", bottom),
            ("klTop", top),
        ] {
            let got = field(&r, key).as_f64().unwrap() as f32;
            assert!(
                max_relative(&[got], &[want]) < LOSS_TOLERANCE,
                "{key}: {got} vs the core's {want}"
            );
        }
    }
    let scores = settled(hvae.test_scores()).await.unwrap();
    let parts: f64 = ["recon", "klBottom", "klTop"]
        .iter()
        .map(|k| field(&scores, k).as_f64().unwrap())
        .sum();
    let neg_elbo = field(&scores, "negElbo").as_f64().unwrap();
    assert!(
        (parts - neg_elbo).abs() < 1e-3 * neg_elbo,
        "{parts} vs {neg_elbo}"
    );
    assert!(field(&scores, "activeBottom").as_f64().unwrap() <= 16.0);
    let free = settled(hvae.train_batch(options(&[("freeBits", 1000.into())])))
        .await
        .unwrap_err();
    assert!(free.contains("free bits"), "{free}");
    let aae_file = include_bytes!("../../core/tests/fixtures/parity_aae.safetensors").to_vec();
    assert!(
        Hvae::from_safetensors(aae_file, JsValue::UNDEFINED)
            .await
            .is_err()
    );
    assert!(!panicked());
}

#[wasm_bindgen_test]
async fn recurrent_vae_in_the_browser() {
    use vae_wasm::Vrae;
    let series = include_bytes!("../../../web/assets/series.bin").to_vec();
    let untrained = settled(
        Vrae::create(options(&[("hidden", 8.into()), ("backend", "cpu".into())]))
            .await
            .unwrap()
            .train_batch(JsValue::UNDEFINED),
    )
    .await
    .unwrap_err();
    assert!(untrained.contains("call setSeries first"), "{untrained}");
    let vrae = Vrae::create(options(&[
        ("hidden", 8.into()),
        ("latentDim", 3.into()),
        ("seed", 3.into()),
        ("backend", BACKEND.into()),
    ]))
    .await
    .unwrap();
    assert_eq!(
        (
            vrae.kind(),
            vrae.latent_dim(),
            vrae.window(),
            vrae.backend()
        ),
        ("recurrent".into(), 3, 64, BACKEND.into())
    );
    let info = vrae.set_series(series.clone(), 1.into()).unwrap();
    assert_eq!(field(&info, "length").as_f64(), Some(7501.0));
    assert_eq!(field(&info, "trainEnd").as_f64(), Some(1200.0));
    assert_eq!(floats_of(&field(&info, "values")).len(), 7501);

    // trainBatch is the core's own session step: same weights, series and seed, same losses.
    let weights = js_sys::Uint8Array::new(&settled(vrae.to_safetensors()).await.unwrap()).to_vec();
    let device = vae_core::backend::cpu_device();
    let model = vae_core::vrae::read_vrae(&weights, &device).unwrap();
    let parsed = vae_core::series::Series::from_bytes(&series).unwrap();
    let mut session = vae_core::vrae_training::VraeSession::new(model, parsed, 1).unwrap();
    for _ in 0..3 {
        let r = settled(vrae.train_batch(options(&[("batchSize", 16.into())])))
            .await
            .unwrap();
        let want = session.step(16, 1e-3).await.unwrap().stats;
        for (key, want) in [
            ("loss", want.loss),
            ("recon", want.recon),
            ("kl", want.kl),
            ("sigmaX", want.sigma_x),
        ] {
            let got = field(&r, key).as_f64().unwrap() as f32;
            assert!(
                max_relative(&[got], &[want]) < LOSS_TOLERANCE,
                "{key}: {got} vs the core's {want}"
            );
        }
    }
    assert_eq!(vrae.steps(), 3.0);

    // The held-out part scored: one score per window, the ROC AUC a probability, and the
    // reconstruction covering the held-out samples only.
    let a = settled(vrae.analyse(64.into())).await.unwrap();
    let scores = floats_of(&field(&a, "scores"));
    assert_eq!(scores.len(), (7501 - 64 - 1200) / 64 + 1);
    let auc = field(&a, "auc").as_f64().unwrap();
    assert!((0.0..=1.0).contains(&auc), "{auc}");
    let parts = field(&a, "recon").as_f64().unwrap() + field(&a, "kl").as_f64().unwrap();
    let neg_elbo = field(&a, "negElbo").as_f64().unwrap();
    assert!((parts - neg_elbo).abs() < 1e-3 * neg_elbo.abs().max(1.0));
    let rebuilt = floats_of(&field(&a, "reconstruction"));
    assert_eq!(rebuilt.len(), 7501);
    assert!(rebuilt[1199].is_nan() && rebuilt[1200].is_finite() && rebuilt[7000].is_finite());

    // A drawn series of another length is scored; saved and reloaded, the same scores.
    let drawn: Vec<f32> = (0..40).map(|i| (i as f32 * 0.2).sin()).collect();
    let first = settled(vrae.score_windows(drawn.clone(), 1.into(), 40.into()))
        .await
        .unwrap();
    let bytes = js_sys::Uint8Array::new(&settled(vrae.to_safetensors()).await.unwrap()).to_vec();
    let again = Vrae::from_safetensors(bytes, JsValue::UNDEFINED)
        .await
        .unwrap();
    let second = settled(again.score_windows(drawn, 1.into(), 40.into()))
        .await
        .unwrap();
    assert_eq!(
        floats_of(&field(&first, "scores")),
        floats_of(&field(&second, "scores"))
    );
    assert_eq!(floats_of(&field(&first, "means")).len(), 40);

    // Bad input is refused with a message.
    for (promise, why) in [
        (
            vrae.score_windows(vec![f32::NAN; 8], 1.into(), 8.into()),
            "windows: value 0 is NaN",
        ),
        (
            vrae.score_windows(vec![0.0; 8], 1.into(), 9.into()),
            "expected 1 × 9 numbers, got 8",
        ),
        (
            vrae.score_windows(vec![0.0; 8], 1.into(), 5000.into()),
            "steps must be a whole number",
        ),
        (
            vrae.analyse(0.into()),
            "stride must be a whole number from 1",
        ),
        (
            vrae.train_batch(options(&[("lr", f64::NAN.into())])),
            "option lr must be a finite number",
        ),
        (
            vrae.train_batch(options(&[("lr", 2.into())])),
            "learning rate must be in (0, 1]",
        ),
    ] {
        let err = settled(promise).await.unwrap_err();
        assert!(err.contains(why), "{err}");
    }
    let err = message(
        vrae.set_series(series[..100].to_vec(), 1.into())
            .err()
            .unwrap(),
    );
    assert!(err.contains("100 bytes for"), "{err}");
    let vae = include_bytes!("../../../web/assets/vae-latent2.safetensors").to_vec();
    assert!(
        Vrae::from_safetensors(vae, JsValue::UNDEFINED)
            .await
            .is_err()
    );
    assert!(!panicked());
}
