//! The hierarchical VAE: parity with its PyTorch reference (`fixtures/make_hvae_fixture.py`) for
//! every layer's Gaussian, each −ELBO term, the loss, every gradient and top-down generation; the
//! weight file round trip; and, on the shipped weights, what the two layers are for.

use crate::common;

use burn::module::Module;
use burn::prelude::*;
use common::{assert_close, block_on, device, floats, repo_path};
use serde_json::Value;
use vae_core::hvae::{Hvae, HvaeConfig, generate_images, read_hvae, terms, top_codes, write_hvae};
use vae_core::inference::{read, read1, upload};
use vae_core::loss::Likelihood;
use vae_core::weights::Dtype;

fn fixture(name: &str) -> (Vec<u8>, Value) {
    let dir = repo_path("crates/core/tests/fixtures");
    let bytes = std::fs::read(dir.join(format!("{name}.safetensors"))).unwrap();
    let json = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
    (bytes, serde_json::from_str(&json).unwrap())
}

fn rows(t: Tensor<2>) -> Vec<f32> {
    block_on(read(t)).unwrap()
}

fn check(name: &str, likelihood: Likelihood) {
    let (bytes, f) = fixture(name);
    assert_eq!(f["likelihood"].as_str(), Some(likelihood.name()));
    let device = device();
    let model = read_hvae(&bytes, &device).unwrap().train();
    assert_eq!(
        model.config(),
        HvaeConfig::new()
            .with_hidden(16)
            .with_latent(4)
            .with_hidden_top(8)
            .with_latent_top(2)
    );
    let x = upload(&floats(&f["x"]), 4, 784, &device);
    let eps1 = upload(&floats(&f["eps1"]), 4, 4, &device);
    let eps2 = upload(&floats(&f["eps2"]), 4, 2, &device);
    let out = model.forward(x.clone(), Some(eps1), Some(eps2));
    for (what, tensor) in [
        ("mu1", out.q1.mu.clone()),
        ("logvar1", out.q1.logvar.clone()),
        ("z1", out.z1.clone()),
        ("mu2", out.q2.mu.clone()),
        ("logvar2", out.q2.logvar.clone()),
        ("pmu1", out.p1.mu.clone()),
        ("plogvar1", out.p1.logvar.clone()),
        ("logits", out.logits.clone()),
    ] {
        assert_close(what, &rows(tensor), &floats(&f[what]), 1e-4);
    }
    let t = terms(&out, x, likelihood);
    for (what, tensor) in [
        ("recon", t.recon.clone()),
        ("kl_bottom", t.kl_bottom.clone()),
        ("kl_top", t.kl_top.clone()),
    ] {
        assert_close(
            what,
            &block_on(read1(tensor)).unwrap(),
            &floats(&f[what]),
            1e-4,
        );
    }
    let loss = (t.recon + t.kl_bottom + t.kl_top).mean();
    let value = block_on(read1(loss.clone())).unwrap();
    assert_close("loss", &value, &[f["loss"].as_f64().unwrap() as f32], 1e-4);

    let grads = loss.backward();
    let layers = [
        ("q1_fc", &model.q1_fc),
        ("q1_mu", &model.q1_mu),
        ("q1_logvar", &model.q1_logvar),
        ("q2_fc", &model.q2_fc),
        ("q2_mu", &model.q2_mu),
        ("q2_logvar", &model.q2_logvar),
        ("p1_fc", &model.p1_fc),
        ("p1_mu", &model.p1_mu),
        ("p1_logvar", &model.p1_logvar),
        ("px_fc", &model.px_fc),
        ("px_out", &model.px_out),
    ];
    let mut checked = 0;
    for (layer, linear) in layers {
        let weight = rows(linear.weight.val().grad(&grads).unwrap().transpose());
        let want = floats(&f["grads"][format!("{layer}.weight")]);
        assert_close(&format!("∂{layer}.weight"), &weight, &want, 1e-4);
        let bias = linear.bias.as_ref().unwrap().val().grad(&grads).unwrap();
        let want = floats(&f["grads"][format!("{layer}.bias")]);
        assert_close(
            &format!("∂{layer}.bias"),
            &block_on(read1(bias)).unwrap(),
            &want,
            1e-4,
        );
        checked += 2;
    }
    if likelihood == Likelihood::Gaussian {
        let grad = model.log_sigma_x.val().grad(&grads).unwrap();
        let want = floats(&f["grads"]["log_sigma_x"]);
        assert_close("∂log_sigma_x", &block_on(read1(grad)).unwrap(), &want, 1e-4);
        checked += 1;
    }
    assert_eq!(
        checked,
        f["grads"].as_object().unwrap().len(),
        "every gradient compared"
    );

    let z2 = upload(&floats(&f["z2"]), 3, 2, &device);
    let eps = upload(&floats(&f["gen_eps1"]), 3, 4, &device);
    let generated = model.valid().generate(z2, Some(eps));
    assert_close(
        "generated",
        &rows(generated),
        &floats(&f["generated"]),
        1e-4,
    );
    // The same through the host-level call the bindings use, which also checks its rows.
    let valid = model.valid();
    let (z2s, eps1s) = (floats(&f["z2"]), floats(&f["gen_eps1"]));
    let images = block_on(generate_images(&valid, &z2s, Some(&eps1s), 3)).unwrap();
    assert_close("generate_images", &images, &floats(&f["generated"]), 1e-4);
    let short = block_on(generate_images(&valid, &[0.0; 5], None, 3)).unwrap_err();
    assert!(
        short
            .to_string()
            .contains("z2: expected 3 × 2 numbers, got 5"),
        "{short}"
    );
    // The map's point of each digit: μ₂ at μ₁, as the module computes it.
    let mu1 = valid
        .encode_bottom(upload(&floats(&f["x"]), rows_of(&f), 784, &device))
        .mu;
    let want = rows(valid.encode_top(mu1).mu);
    let got = block_on(top_codes(&valid, &floats(&f["x"]), rows_of(&f))).unwrap();
    assert_close("top_codes", &got, &want, 1e-6);
}

fn rows_of(f: &Value) -> usize {
    floats(&f["x"]).len() / 784
}

#[test]
fn pytorch_hvae_matches() {
    check("parity_hvae", Likelihood::Bernoulli);
}

/// With a Gaussian likelihood whose ln σ_x is learnable: its constant and ∂/∂ ln σ_x match too.
#[test]
fn pytorch_gaussian_hvae_matches() {
    check("parity_hvae_gaussian", Likelihood::Gaussian);
}

/// Written and read back, a model gives the same images; F16 halves the file.
#[test]
fn weights_round_trip() {
    let device = device();
    let model: Hvae = common::seeded_init(2, |device| HvaeConfig::new().init(device));
    let x = upload(&vec![0.5; 784 * 2], 2, 784, &device);
    let before = rows(model.forward(x.clone(), None, None).logits);
    let bytes = block_on(write_hvae(&model, Dtype::F32, &[])).unwrap();
    let again = read_hvae(&bytes, &device).unwrap();
    assert_eq!(again.config(), model.config());
    // The same numbers; the matrix product of a transposed copy may round differently.
    assert_close(
        "logits",
        &rows(again.forward(x, None, None).logits),
        &before,
        1e-6,
    );
    let half = block_on(write_hvae(&model, Dtype::F16, &[])).unwrap();
    assert!(
        half.len() * 2 < bytes.len() + 4096,
        "{} vs {}",
        half.len(),
        bytes.len()
    );
    // A one-layer VAE's file is refused with a message that says what was expected.
    let (vae, _) = fixture("parity_vae");
    let error = read_hvae(&vae, &device).unwrap_err().to_string();
    assert!(error.contains("q1_fc.weight is missing"), "{error}");
}

/// Training improves the ELBO and uses both layers: from a fresh model, two epochs on the shipped
/// digits bring the test −ELBO (one draw of each layer) far down, each step reports the KL of
/// each layer (adding up to the KL), and both layers end with active units and a KL above zero.
#[test]
fn training_improves_the_elbo_and_uses_both_layers() {
    use vae_core::data::Digits;
    use vae_core::hvae::{active_units, evaluate};
    use vae_core::session::Session;
    use vae_core::training::TrainConfig;

    let digits = Digits::read_gz(&repo_path("web/assets/digits.bin.gz")).unwrap();
    let mut session = Session::new(
        common::seeded_init(1, |device| HvaeConfig::new().init(device)),
        1,
    );
    session.set_digits(digits, 1).unwrap();
    let before = {
        let model = session.model();
        let (pixels, n, rng) = session.test_pixels().unwrap();
        block_on(evaluate(&model, &pixels, n, Likelihood::Bernoulli, rng)).unwrap()
    };
    let config = TrainConfig::new();
    let mut epochs = 0;
    while epochs < 2 {
        let report = block_on(session.step(&config)).unwrap();
        let [bottom, top] = report.stats.kl_layers.expect("both layers' KL");
        assert!((bottom + top - report.stats.kl).abs() <= 1e-3 * report.stats.kl.abs().max(1.0));
        epochs = report.epoch;
    }
    let model = session.model();
    let (pixels, n, rng) = session.test_pixels().unwrap();
    let after = block_on(evaluate(&model, &pixels, n, Likelihood::Bernoulli, rng)).unwrap();
    let (active_bottom, active_top) = block_on(active_units(&model, &pixels, n, 10, rng)).unwrap();
    println!(
        "test −ELBO {:.1} → {:.1} nats; after: {after:?}; active units z₁ {active_bottom}/16, z₂ {active_top}/2",
        before.neg_elbo, after.neg_elbo
    );
    assert!(
        before.neg_elbo > 400.0 && after.neg_elbo < 175.0,
        "{before:?} → {after:?}"
    );
    assert!(after.kl_bottom > 1.0 && after.kl_top > 0.1, "{after:?}");
    assert!(
        active_bottom >= 8 && active_top >= 1,
        "{active_bottom}, {active_top}"
    );
}

/// The trainer's safeguards hold for the hierarchical kind too: a diverging learning rate is
/// caught and the weights rolled back, finite.
#[test]
fn diverging_training_rolls_back() {
    use vae_core::session::Session;
    use vae_core::training::{TrainConfig, weights_are_finite};

    let mut session = Session::new(
        common::seeded_init(3, |device| HvaeConfig::new().init(device)),
        1,
    );
    let pixels: Vec<f32> = (0..64 * 784)
        .map(|i| ((i * 31) % 17) as f32 / 16.0)
        .collect();
    let config = TrainConfig::new().with_lr(1.0);
    let mut error = None;
    for _ in 0..50 {
        if let Err(e) = block_on(session.trainer().step(&pixels, 64, None, &config)) {
            error = Some(e.to_string());
            break;
        }
    }
    let error = error.expect("lr = 1 diverges within 50 steps");
    assert!(error.contains("rolled back"), "{error}");
    assert!(block_on(weights_are_finite(&session.model())).unwrap());
}

/// The importance-weighted estimate: at k = 1 it is a one-draw −ELBO (its mean over the digits
/// matches the −ELBO's to within the noise), and with more draws it is lower, as a tighter bound
/// on −log p(x) must be.
#[test]
fn importance_weighted_bound_tightens() {
    use vae_core::data::Digits;
    use vae_core::hvae::{evaluate, negative_log_likelihood};
    use vae_core::rng::Rng;

    let (bytes, _) = fixture("parity_hvae");
    let device = device();
    let model = read_hvae(&bytes, &device).unwrap();
    let digits = Digits::read_gz(&repo_path("web/assets/digits.bin.gz")).unwrap();
    let (pixels, _) = digits.batch(&(0..200).collect::<Vec<_>>());
    let mut rng = Rng::new(3);
    let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
    let elbo = block_on(evaluate(
        &model,
        &pixels,
        200,
        Likelihood::Bernoulli,
        &mut rng,
    ))
    .unwrap();
    let one = mean(
        &block_on(negative_log_likelihood(
            &model,
            &pixels,
            200,
            1,
            Likelihood::Bernoulli,
            &mut rng,
        ))
        .unwrap(),
    );
    let many = mean(
        &block_on(negative_log_likelihood(
            &model,
            &pixels,
            200,
            64,
            Likelihood::Bernoulli,
            &mut rng,
        ))
        .unwrap(),
    );
    println!(
        "−ELBO {:.2}, k = 1 {one:.2}, k = 64 {many:.2}",
        elbo.neg_elbo
    );
    assert!(
        (one - elbo.neg_elbo).abs() < 0.01 * elbo.neg_elbo,
        "{one} vs {}",
        elbo.neg_elbo
    );
    assert!(many < one - 0.5, "k = 64 gives {many}, k = 1 {one}");
    let error = block_on(negative_log_likelihood(
        &model,
        &pixels,
        200,
        0,
        Likelihood::Bernoulli,
        &mut rng,
    ))
    .unwrap_err();
    assert!(error.to_string().contains("draws"), "{error}");
}
