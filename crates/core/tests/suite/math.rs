//! The loss terms against hand-computed values and a Monte-Carlo estimate, and autodiff's
//! gradients against finite differences.

use crate::common;

use burn::module::Module;
use burn::prelude::*;
use common::{assert_close, block_on, device};
use vae_core::inference::{read, read1, upload};
use vae_core::loss::{
    Likelihood, bce_with_logits, kl_per_dimension, loss, reconstruction, squared_error,
};
use vae_core::rng::Rng;
use vae_core::weights::{Dtype, read_safetensors, write_safetensors};
use vae_core::{ModelKind, VaeConfig};

fn row(values: &[f32]) -> Tensor<2> {
    upload(values, 1, values.len(), &device())
}

#[test]
fn bce_and_squared_error_match_hand_computed_values() {
    let logits = [0.0, 2.0, -3.0, 100.0, -100.0];
    let x = [0.5, 1.0, 0.0, 1.0, 0.25];
    // softplus(l) − x·l, worked out by hand: ln 2; ln(1 + e²) − 2; ln(1 + e⁻³); ~0; 100 · 0.25
    let bce = [std::f32::consts::LN_2, 0.126_928, 0.048_587_35, 0.0, 25.0];
    let got = block_on(read(bce_with_logits(row(&logits), row(&x)))).unwrap();
    assert_close("bce", &got, &bce, 1e-5);
    // (sigmoid(l) − x)²: 0; (0.880797 − 1)²; 0.0474259²; ~0; 0.25²
    let se = [0.0, 0.014_209_3, 0.002_249_2, 0.0, 0.0625];
    let got = block_on(read(squared_error(row(&logits), row(&x)))).unwrap();
    assert_close("squared error", &got, &se, 1e-5);
}

#[test]
fn the_gaussian_term_is_a_negative_log_density_with_its_constant() {
    // −log N(x; x̂, σ²I) over 784 pixels = Σ (x − x̂)² / (2σ²) + 392·ln(2πσ²), by hand in f64.
    // σ² = ½ is the old squared-error loss plus 392·ln π (ln π = 1.1447298858494002), written out.
    let mut rng = Rng::new(4);
    let logits: Vec<f32> = (0..784).map(|_| rng.normal()).collect();
    let x: Vec<f32> = (0..784).map(|_| rng.uniform() as f32).collect();
    let squared: f64 = logits
        .iter()
        .zip(&x)
        .map(|(&l, &t)| (1.0 / (1.0 + (-l as f64).exp()) - t as f64).powi(2))
        .sum();
    let half = std::f64::consts::FRAC_1_SQRT_2;
    for (sigma, want) in [
        (half, squared + 392.0 * 1.144_729_885_849_400_2),
        (
            0.1,
            squared * 50.0 + 392.0 * (std::f64::consts::TAU * 0.01).ln(),
        ),
        (1.0, squared * 0.5 + 392.0 * std::f64::consts::TAU.ln()),
    ] {
        let log_sigma = Tensor::<1>::from_floats([(sigma as f32).ln()], &device());
        let got = block_on(read1(reconstruction(
            row(&logits),
            row(&x),
            Likelihood::Gaussian,
            log_sigma,
        )))
        .unwrap();
        assert_close(
            &format!("gaussian −log p(x|z), σ = {sigma}"),
            &got,
            &[want as f32],
            2e-6,
        );
        assert_eq!(
            Likelihood::gaussian_constant(sigma) as f32,
            (392.0 * (std::f64::consts::TAU * sigma * sigma).ln()) as f32
        );
    }
}

#[test]
fn kl_closed_form_matches_a_monte_carlo_estimate() {
    let mu = [0.5f32, -1.2, 0.0, 2.0];
    let logvar = [0.0f32, -1.0, 0.7, -2.5];
    let closed = block_on(read(kl_per_dimension(row(&mu), row(&logvar)))).unwrap();
    // E_q[log q(z) − log p(z)] with z ~ q = N(μ, σ²), estimated in f64.
    let mut rng = Rng::new(11);
    let samples = 200_000;
    for d in 0..mu.len() {
        let (m, s) = (mu[d] as f64, (logvar[d] as f64 * 0.5).exp());
        let (mut sum, mut sum_sq) = (0.0, 0.0);
        for _ in 0..samples {
            let eps = rng.normal() as f64;
            let z = m + s * eps;
            let log_q = -0.5 * eps * eps - s.ln();
            let log_p = -0.5 * z * z;
            let term = log_q - log_p;
            sum += term;
            sum_sq += term * term;
        }
        let mean = sum / samples as f64;
        let std_err = ((sum_sq / samples as f64 - mean * mean) / samples as f64).sqrt();
        let diff = (mean - closed[d] as f64).abs();
        assert!(
            diff < 4.0 * std_err + 1e-4,
            "dim {d}: closed {} vs Monte-Carlo {mean} ± {std_err}",
            closed[d]
        );
    }
    // And N(0, 1) itself has no divergence.
    let zero = block_on(read(kl_per_dimension(row(&[0.0]), row(&[0.0])))).unwrap();
    assert_eq!(zero, vec![0.0]);
}

#[test]
fn loss_terms_add_up_with_beta() {
    let device = device();
    let model = common::seeded_init(3, |device| {
        VaeConfig::new().with_hidden(8).with_latent(2).init(device)
    });
    let mut rng = Rng::new(5);
    let x: Vec<f32> = (0..2 * 784).map(|_| rng.uniform() as f32).collect();
    let output = model.forward(
        upload(&x, 2, 784, &device),
        None,
        Some(upload(&rng.normals(4), 2, 2, &device)),
    );
    let terms = loss(
        &output,
        upload(&x, 2, 784, &device),
        Likelihood::Bernoulli,
        4.0,
    );
    let total = block_on(read1(terms.total)).unwrap()[0];
    let recon = block_on(read1(terms.recon)).unwrap()[0];
    let kl = block_on(read1(terms.kl)).unwrap()[0];
    assert!(kl > 0.0 && recon > 0.0);
    assert!(
        (total - (recon + 4.0 * kl)).abs() < 1e-3 * total,
        "{total} vs {recon} + 4·{kl}"
    );
}

/// Loss of a model built from `file` with fixed data and noise, summed in f64 on the host from the
/// model's outputs (summing ~500 nats in f32 would drown a finite difference in rounding).
fn loss_of(
    file: &vae_core::weights::WeightFile,
    x: &[f32],
    eps: &[f32],
    likelihood: Likelihood,
) -> f64 {
    let device = device();
    let model = file.to_model(&device);
    let output = model.forward(
        upload(x, 1, 784, &device),
        None,
        Some(upload(eps, 1, model.latent(), &device)),
    );
    let logits = block_on(read(output.logits)).unwrap();
    let mu = block_on(read(output.mu)).unwrap();
    let logvar = block_on(read(output.logvar.unwrap())).unwrap();
    let log_sigma = block_on(read1(output.log_sigma_x)).unwrap()[0] as f64;
    let variance = (2.0 * log_sigma).exp();
    let recon: f64 = logits
        .iter()
        .zip(x)
        .map(|(&l, &t)| {
            let (l, t) = (l as f64, t as f64);
            let p = 1.0 / (1.0 + (-l).exp());
            match likelihood {
                Likelihood::Bernoulli => -(t * p.ln() + (1.0 - t) * (1.0 - p).ln()),
                Likelihood::Gaussian => {
                    (p - t).powi(2) / (2.0 * variance)
                        + 0.5 * (std::f64::consts::TAU * variance).ln()
                }
            }
        })
        .sum();
    let kl: f64 = mu
        .iter()
        .zip(&logvar)
        .map(|(&m, &lv)| 0.5 * ((lv as f64).exp() + (m as f64).powi(2) - 1.0 - lv as f64))
        .sum();
    recon + kl
}

#[test]
fn gradients_match_finite_differences() {
    for (kind, likelihood) in [
        (ModelKind::Vae, Likelihood::Bernoulli),
        (ModelKind::Vae, Likelihood::Gaussian),
    ] {
        let device = device();
        let model = common::seeded_init(9, |device| {
            VaeConfig::new()
                .with_hidden(6)
                .with_latent(2)
                .with_kind(kind)
                .init(device)
        });
        // σ_x = 0.3 for the Gaussian (so its gradient is checked away from the default), kept in the
        // file as the tensor log_sigma_x.
        let model = model.with_sigma_x(0.3).unwrap();
        let meta = [("likelihood", likelihood.name())];
        let file =
            read_safetensors(&block_on(write_safetensors(&model, Dtype::F32, &meta)).unwrap())
                .unwrap();
        let mut rng = Rng::new(2);
        let x: Vec<f32> = (0..784).map(|_| rng.uniform() as f32).collect();
        let eps = rng.normals(2);

        // Autodiff gradients of the same model (rebuilt from the file so parameters are identical).
        let tracked = file.to_model(&device).train();
        let output = tracked.forward(
            upload(&x, 1, 784, &device),
            None,
            Some(upload(&eps, 1, 2, &device)),
        );
        let grads = loss(&output, upload(&x, 1, 784, &device), likelihood, 1.0)
            .total
            .backward();
        let grad_of = |name: &str| -> Vec<f32> {
            if name == "log_sigma_x" {
                let g = tracked.log_sigma_x.val().grad(&grads).unwrap();
                return block_on(read1(g)).unwrap();
            }
            let layer = match name.split('.').next().unwrap() {
                "fc1" => &tracked.fc1,
                "fc21" => &tracked.fc21,
                "fc22" => tracked.fc22.as_ref().unwrap(),
                "fc3" => &tracked.fc3,
                _ => &tracked.fc4,
            };
            if name.ends_with("weight") {
                // burn holds [in, out]; the file is [out, in].
                block_on(read(layer.weight.val().grad(&grads).unwrap().transpose())).unwrap()
            } else {
                let g = layer.bias.as_ref().unwrap().val().grad(&grads).unwrap();
                block_on(read1(g)).unwrap()
            }
        };

        // Small enough to stay clear of ReLU kinks.
        let h = 1e-3f32;
        for name in [
            "fc1.weight",
            "fc1.bias",
            "fc21.weight",
            "fc22.bias",
            "fc22.weight",
            "fc3.weight",
            "fc4.bias",
            "log_sigma_x",
        ] {
            if name == "log_sigma_x" && likelihood == Likelihood::Bernoulli {
                continue; // the Bernoulli likelihood has no σ_x
            }
            let analytic = grad_of(name);
            let len = file.tensors[name].values.len();
            let mut ks = vec![0, len / 3, len / 2, len - 1];
            ks.dedup();
            for k in ks {
                let mut plus = file.clone();
                plus.tensors.get_mut(name).unwrap().values[k] += h;
                let mut minus = file.clone();
                minus.tensors.get_mut(name).unwrap().values[k] -= h;
                let numeric = (loss_of(&plus, &x, &eps, likelihood)
                    - loss_of(&minus, &x, &eps, likelihood))
                    / (2.0 * h as f64);
                let a = analytic[k] as f64;
                assert!(
                    (numeric - a).abs() <= 1e-2 * a.abs() + 1e-3,
                    "{likelihood:?} {name}[{k}]: autodiff {a}, finite difference {numeric}"
                );
            }
        }
    }
}
