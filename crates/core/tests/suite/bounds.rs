//! The honest scores: the k-draw ELBO and the importance-weighted estimate of log p(x) agree with
//! an independent numpy computation on fixed noise, the estimate tightens as the draws grow, and
//! the floor is what the likelihood says it is.

use crate::common;

use common::{assert_close, block_on, device, floats, repo_path};
use serde_json::Value;
use vae_core::VaeError;
use vae_core::bounds::{Bounds, bounds, bounds_with_noise, floor};
use vae_core::data::Digits;
use vae_core::loss::{DEFAULT_SIGMA_X, Likelihood};
use vae_core::rng::Rng;
use vae_core::weights::read_safetensors;
use vae_core::{ModelKind, Vae, VaeConfig};

fn fixture_model(name: &str) -> (Vae, Value, Value) {
    let dir = repo_path("crates/core/tests/fixtures");
    let read = |file: String| std::fs::read_to_string(dir.join(file)).unwrap();
    let model = read_safetensors(&std::fs::read(dir.join(format!("{name}.safetensors"))).unwrap())
        .unwrap()
        .to_model(&device());
    let fixture = serde_json::from_str(&read(format!("{name}.json"))).unwrap();
    let reference = serde_json::from_str(&read(format!("{name}_bounds.json"))).unwrap();
    (model, fixture, reference)
}

fn shipped(name: &str) -> Vae {
    read_safetensors(&std::fs::read(repo_path(&format!("web/assets/{name}.safetensors"))).unwrap())
        .unwrap()
        .to_model(&device())
}

#[test]
fn bounds_match_a_numpy_reference_on_fixed_noise() {
    for name in ["parity_vae", "parity_cvae"] {
        let (model, fixture, reference) = fixture_model(name);
        let x = floats(&fixture["x"]);
        let labels: Option<Vec<u8>> = fixture["labels"]
            .as_array()
            .map(|l| l.iter().map(|v| v.as_u64().unwrap() as u8).collect());
        let k = reference["draws"].as_u64().unwrap() as usize;
        let eps = floats(&reference["eps"]);
        let got = block_on(bounds_with_noise(
            &model,
            &x,
            4,
            labels.as_deref(),
            Likelihood::Bernoulli,
            &eps,
            k,
        ))
        .unwrap();
        assert_eq!(got.draws, k);
        let what = |term: &str| format!("{name}: {term}");
        assert_close(
            &what("−ELBO"),
            &got.negative_elbo,
            &floats(&reference["neg_elbo"]),
            1e-4,
        );
        assert_close(
            &what("−log p(x) estimate"),
            &got.negative_log_likelihood,
            &floats(&reference["neg_log_likelihood"]),
            1e-4,
        );

        // With one draw the importance-weighted estimate is the one-draw −ELBO, its KL
        // estimated by that same draw.
        let latent = model.latent();
        let first: Vec<f32> = (0..4)
            .flat_map(|i| eps[i * k * latent..i * k * latent + latent].to_vec())
            .collect();
        let one = block_on(bounds_with_noise(
            &model,
            &x,
            4,
            labels.as_deref(),
            Likelihood::Bernoulli,
            &first,
            1,
        ))
        .unwrap();
        assert_close(
            &what("k = 1"),
            &one.negative_log_likelihood,
            &floats(&reference["one_draw_neg_elbo"]),
            1e-4,
        );

        let floor = floor(&x, 4, Likelihood::Bernoulli, DEFAULT_SIGMA_X).unwrap();
        assert_close(&what("floor"), &floor, &floats(&reference["floor"]), 1e-5);
    }
}

fn mean(values: &[f32]) -> f64 {
    values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64
}

#[test]
fn the_estimate_tightens_as_draws_grow_and_sits_between_floor_and_elbo() {
    let digits = Digits::read_gz(&repo_path("web/assets/digits.bin.gz")).unwrap();
    let (pixels, _) = digits.batch(&digits.test_indices()[..40]);
    let model = shipped("vae-latent2");
    let run = |k: usize, seed: u64| -> Bounds {
        block_on(bounds(
            &model,
            &pixels,
            40,
            None,
            Likelihood::Bernoulli,
            k,
            &mut Rng::new(seed),
        ))
        .unwrap()
    };
    // Averaged over digits and seeds, so the comparison is of expectations, not of luck.
    let average = |k: usize| -> (f64, f64) {
        let runs: Vec<Bounds> = (0..4).map(|seed| run(k, 100 + seed)).collect();
        let nll = runs
            .iter()
            .map(|b| mean(&b.negative_log_likelihood))
            .sum::<f64>()
            / 4.0;
        let elbo = runs.iter().map(|b| mean(&b.negative_elbo)).sum::<f64>() / 4.0;
        (nll, elbo)
    };
    let (nll_1, elbo_1) = average(1);
    let (nll_8, _) = average(8);
    let (nll_64, elbo_64) = average(64);
    println!(
        "mean over 40 digits: −log p(x) ≈ {nll_1:.2} (k=1), {nll_8:.2} (k=8), {nll_64:.2} (k=64); −ELBO {elbo_1:.2} (k=1), {elbo_64:.2} (k=64)"
    );
    assert!(
        nll_1 > nll_8 + 0.5 && nll_8 > nll_64 + 0.2,
        "{nll_1} {nll_8} {nll_64}"
    );
    // The k-draw ELBO estimates one number whatever k; the bound it gives away is the gap.
    assert!((elbo_1 - elbo_64).abs() < 2.0, "{elbo_1} vs {elbo_64}");
    assert!(elbo_64 - nll_64 > 1.0, "gap {}", elbo_64 - nll_64);

    // One digit's estimate moves from seed to seed; more draws, less.
    let spread = |k: usize| -> Vec<f64> {
        let seeds: Vec<Bounds> = (0..6).map(|seed| run(k, 200 + seed)).collect();
        let mut sds: Vec<f64> = (0..40)
            .map(|digit| {
                let v: Vec<f32> = seeds
                    .iter()
                    .map(|b| b.negative_log_likelihood[digit])
                    .collect();
                let m = mean(&v);
                (v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / 5.0).sqrt()
            })
            .collect();
        sds.sort_by(f64::total_cmp);
        sds
    };
    let (k64, k256) = (spread(64), spread(256));
    for (k, s) in [(64, &k64), (256, &k256)] {
        println!(
            "k = {k}: per-digit sd over 6 seeds: median {:.3}, 90th percentile {:.3}, max {:.3} nats",
            s[20], s[36], s[39]
        );
    }
    // The page's k = 256: under half a nat for the median digit. The tail is heavy with the shipped
    // latent-2 weights (80 epochs): for a tenth of the digits q(z|x) is much narrower than the
    // posterior and the estimate moves by ~3 nats from seed to seed (0.9 with the older 30-epoch
    // weights) — not the ≲ 1 nat issue 12 asks for; the page draws with a fixed seed, so what it
    // shows does not flicker, but the tail is real and noted on the issue. Measured and not taken:
    // Latin-hypercube or lattice ε (90th percentile 2.1 / 1.6 nats; they do steady the k-draw ELBO,
    // 0.4 → 0.05), proposals wider than q (σ × 2: 1.1 at latent 2 but 2.5 at latent 20), four other
    // seeds of the latent-2 training (1.9–2.8).
    assert!(k256[20] < 0.5, "{k256:?}");
    assert!(
        k256[20] < k64[20],
        "more draws, less spread: {k64:?} → {k256:?}"
    );
    let seeds = [run(256, 300)];
    // No model goes below the floor of grey targets.
    let floor = floor(&pixels, 40, Likelihood::Bernoulli, DEFAULT_SIGMA_X).unwrap();
    let estimate = &seeds[0].negative_log_likelihood;
    assert!(floor.iter().zip(estimate).all(|(f, e)| f < e));
    println!("mean floor of these digits: {:.2} nats", mean(&floor));
}

#[test]
fn the_floor_has_its_hand_values() {
    let black_and_white: Vec<f32> = (0..784).map(|i| (i % 3 == 0) as u8 as f32).collect();
    let grey = vec![0.5f32; 784];
    let both = [black_and_white.clone(), grey].concat();
    let got = floor(&both, 2, Likelihood::Bernoulli, DEFAULT_SIGMA_X).unwrap();
    assert_close("floor", &got, &[0.0, 784.0 * std::f32::consts::LN_2], 1e-6);
    // The Gaussian's: (784/2) · ln(2πσ²); σ² = ½ gives 392 · ln π, σ = 0.1 gives 392 · ln(0.02π).
    let got = floor(&black_and_white, 1, Likelihood::Gaussian, 0.5f32.sqrt()).unwrap();
    assert_close("gaussian floor, σ² = ½", &got, &[448.734_12], 1e-6);
    let got = floor(&black_and_white, 1, Likelihood::Gaussian, 0.1).unwrap();
    assert_close("gaussian floor, σ = 0.1", &got, &[-1_084.778_9], 1e-6);
}

#[test]
fn bad_requests_are_refused_before_anything_is_drawn() {
    let vae = shipped("vae-latent2");
    let x = vec![0.2f32; 784 * 2];
    let refused = |model: &Vae, n: usize, k: usize, eps: Option<&[f32]>| -> String {
        let result = match eps {
            Some(eps) => block_on(bounds_with_noise(
                model,
                &x[..784 * n.min(2)],
                n,
                None,
                Likelihood::Bernoulli,
                eps,
                k,
            )),
            None => block_on(bounds(
                model,
                &x[..784 * n.min(2)],
                n,
                None,
                Likelihood::Bernoulli,
                k,
                &mut Rng::new(1),
            )),
        };
        match result {
            Err(VaeError::InvalidInput(message)) => message,
            other => panic!("expected a refusal, got {other:?}"),
        }
    };
    assert!(refused(&vae, 2, 0, None).contains("k must be between 1"));
    assert!(refused(&vae, 2, 5000, None).contains("k must be between 1"));
    assert!(refused(&vae, 2, 3, Some(&[0.0; 5])).contains("eps: expected 2 × 3 × 2"));
    assert!(refused(&vae, 2, 1, Some(&[f32::NAN, 0.0, 0.0, 0.0])).contains("not a finite number"));
    let wide = common::seeded_init(1, |device| {
        VaeConfig::new()
            .with_hidden(4)
            .with_latent(4096)
            .init(device)
    });
    assert!(refused(&wide, 2, 1024, None).contains("more noise than one call takes"));
    let ae = shipped("ae-latent2");
    assert_eq!(ae.kind, ModelKind::Autoencoder);
    assert!(refused(&ae, 2, 4, None).contains("no ELBO"));
}

/// The anomaly rank by hand: of the scores 1, 2, 3, 4, two lie below 2.5 (50%), none below 1,
/// all below 9; ties do not count as below. Bad input is refused.
#[test]
fn the_anomaly_rank_counts_the_scores_below() {
    use vae_core::bounds::percent_below;
    let reference = [3.0f32, 1.0, 4.0, 2.0];
    assert_eq!(percent_below(2.5, &reference).unwrap(), 50.0);
    assert_eq!(percent_below(1.0, &reference).unwrap(), 0.0);
    assert_eq!(percent_below(2.0, &reference).unwrap(), 25.0);
    assert_eq!(percent_below(9.0, &reference).unwrap(), 100.0);
    assert!(percent_below(1.0, &[]).is_err());
    assert!(percent_below(f32::NAN, &reference).is_err());
    assert!(percent_below(1.0, &[f32::INFINITY]).is_err());
}

/// The prior's 95% circle: radius √(−2 ln 0.05) = 2.4477; a large sample of N(0, I) falls inside
/// it 95% of the time (±0.5% at 40,000 points), points at radius 2.4 and 2.5 fall either side.
#[test]
fn the_prior_circle_holds_95_percent_of_prior_draws() {
    use vae_core::latent::{prior_circle_radius_95, share_inside_prior_circle};
    assert!((prior_circle_radius_95() - 2.447_746_8).abs() < 1e-6);
    assert_eq!(
        share_inside_prior_circle(&[2.4, 0.0, 0.0, -2.5]).unwrap(),
        0.5
    );
    let draws = vae_core::rng::Rng::new(8).normals(80_000);
    let share = share_inside_prior_circle(&draws).unwrap();
    assert!((share - 0.95).abs() < 0.005, "{share}");
    assert!(share_inside_prior_circle(&[1.0]).is_err());
    assert!(share_inside_prior_circle(&[]).is_err());
    assert!(share_inside_prior_circle(&[f32::NAN, 0.0]).is_err());
}
