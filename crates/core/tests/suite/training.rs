//! The training step: it learns, it is reproducible, it refuses bad input, and a diverging run
//! rolls back to the last good weights.

use crate::common;

use common::{block_on, config, device, repo_path};
use vae_core::data::Digits;
use vae_core::inference::encode;
use vae_core::loss::Likelihood;
use vae_core::training::Trainer;
use vae_core::weights::{Dtype, write_safetensors};
use vae_core::{ModelKind, VaeConfig, VaeError};

fn digits() -> Digits {
    Digits::read_gz(&repo_path("web/assets/digits.bin.gz")).unwrap()
}

fn trainer(kind: ModelKind, seed: u64) -> Trainer {
    let model = common::seeded_init(seed, |device| {
        VaeConfig::new()
            .with_hidden(64)
            .with_latent(4)
            .with_kind(kind)
            .init(device)
    });
    Trainer::new(model, seed)
}

#[test]
fn loss_falls_for_every_kind_and_runs_repeat() {
    let digits = digits();
    let (pixels, labels) = digits.batch(&digits.train_indices()[..256]);
    for kind in [
        ModelKind::Vae,
        ModelKind::Autoencoder,
        ModelKind::Conditional,
    ] {
        let labels = (kind == ModelKind::Conditional).then_some(labels.as_slice());
        let run = || {
            let mut t = trainer(kind, 4);
            (0..40)
                .map(|_| {
                    block_on(t.step(
                        &pixels,
                        256,
                        labels,
                        &config(3e-3, 1.0, Likelihood::Bernoulli),
                    ))
                    .unwrap()
                    .loss
                })
                .collect::<Vec<_>>()
        };
        let losses = run();
        assert!(
            losses[39] < 0.6 * losses[0],
            "{kind:?}: {} → {}",
            losses[0],
            losses[39]
        );
        assert_eq!(
            losses,
            run(),
            "{kind:?}: the same seed must give the same run"
        );
        if kind == ModelKind::Autoencoder {
            let mut t = trainer(kind, 4);
            assert_eq!(
                block_on(t.step(
                    &pixels,
                    256,
                    None,
                    &config(1e-3, 1.0, Likelihood::Bernoulli)
                ))
                .unwrap()
                .kl,
                0.0
            );
        }
    }
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let mut t = trainer(ModelKind::Vae, 1);
    let before = block_on(write_safetensors(&t.model(), Dtype::F32, &[])).unwrap();
    let good = vec![0.5f32; 784];
    let mut nan = good.clone();
    nan[3] = f32::NAN;
    let cases: Vec<(Vec<f32>, usize, f64, f32)> = vec![
        (good.clone(), 0, 1e-3, 1.0),
        (good[..700].to_vec(), 1, 1e-3, 1.0),
        (nan, 1, 1e-3, 1.0),
        (vec![2.0; 784], 1, 1e-3, 1.0),
        (good.clone(), 1, f64::NAN, 1.0),
        (good.clone(), 1, -1.0, 1.0),
        (good.clone(), 1, 1e-3, f32::INFINITY),
    ];
    for (pixels, n, lr, beta) in cases {
        let result = block_on(t.step(&pixels, n, None, &config(lr, beta, Likelihood::Bernoulli)));
        assert!(
            matches!(result, Err(VaeError::InvalidInput(_))),
            "n={n} lr={lr} beta={beta}: {result:?}"
        );
    }
    assert_eq!(t.steps(), 0);
    assert_eq!(
        block_on(write_safetensors(&t.model(), Dtype::F32, &[])).unwrap(),
        before
    );
}

#[test]
fn divergence_rolls_back_to_the_last_good_weights() {
    let digits = digits();
    let (pixels, _) = digits.batch(&digits.train_indices()[..64]);
    let mut t = trainer(ModelKind::Vae, 2);
    // The largest learning rate accepted, with a huge β, blows log σ² up within a few steps.
    let mut last_good = None;
    let mut diverged = None;
    for _ in 0..200 {
        let snapshot = block_on(write_safetensors(&t.model(), Dtype::F32, &[])).unwrap();
        match block_on(t.step(
            &pixels,
            64,
            None,
            &config(1.0, 1000.0, Likelihood::Gaussian),
        )) {
            Ok(_) => last_good = Some(snapshot),
            Err(e) => {
                diverged = Some((e, snapshot));
                break;
            }
        }
    }
    let (error, at_failure) = diverged.expect("lr 1 with β 1000 should diverge");
    assert!(
        matches!(&error, VaeError::Diverged(m) if m.contains("rolled back")),
        "{error}"
    );
    let restored = block_on(write_safetensors(&t.model(), Dtype::F32, &[])).unwrap();
    // The weights are those that last gave a finite loss, not the ones that failed.
    assert_eq!(Some(restored), last_good);
    assert_ne!(
        block_on(write_safetensors(&t.model(), Dtype::F32, &[])).unwrap(),
        at_failure
    );
    let encoded = block_on(encode(&t.model(), &pixels[..784], 1, None)).unwrap();
    assert!(encoded.mu.iter().all(|v| v.is_finite()));
}

#[test]
fn posterior_draws_scatter_around_mu_by_sigma() {
    use vae_core::inference::posterior_draws;
    use vae_core::rng::Rng;
    let digits = digits();
    let device = device();
    let file = vae_core::weights::read_safetensors(
        &std::fs::read(repo_path("web/assets/vae-latent2.safetensors")).unwrap(),
    )
    .unwrap();
    let model = file.to_model(&device);
    let x = digits.image(3);
    let encoded = block_on(encode(&model, &x, 1, None)).unwrap();
    let (z, images) = block_on(posterior_draws(
        &model,
        &encoded.mu,
        encoded.logvar.as_deref(),
        None,
        1000,
        &mut Rng::new(1),
    ))
    .unwrap();
    assert_eq!((z.len(), images.len()), (2000, 1000 * 784));
    for d in 0..2 {
        let values: Vec<f64> = z.iter().skip(d).step_by(2).map(|&v| v as f64).collect();
        let mean = values.iter().sum::<f64>() / 1000.0;
        let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 1000.0).sqrt();
        let sigma = encoded.sigma().unwrap()[d] as f64;
        assert!(
            (mean - encoded.mu[d] as f64).abs() < 4.0 * sigma / 1000f64.sqrt(),
            "dim {d}: mean {mean} vs μ {}",
            encoded.mu[d]
        );
        assert!(
            (std / sigma - 1.0).abs() < 0.1,
            "dim {d}: spread {std} vs σ {sigma}"
        );
    }
    assert!(
        block_on(posterior_draws(
            &model,
            &encoded.mu,
            None,
            None,
            0,
            &mut Rng::new(1)
        ))
        .is_err()
    );
}

#[test]
fn manifold_decodes_a_grid_for_latent_two_only() {
    use vae_core::inference::manifold;
    let device = device();
    let read = |latent: usize| {
        let path = repo_path(&format!("web/assets/vae-latent{latent}.safetensors"));
        vae_core::weights::read_safetensors(&std::fs::read(path).unwrap())
            .unwrap()
            .to_model(&device)
    };
    let grid = block_on(manifold(&read(2), 4)).unwrap();
    assert_eq!(grid.len(), 16 * 784);
    // Opposite corners of the prior decode to different digits.
    let (first, last) = (&grid[..784], &grid[15 * 784..]);
    let diff: f32 = first.iter().zip(last).map(|(a, b)| (a - b).abs()).sum();
    assert!(diff > 20.0, "corners differ by only {diff}");
    assert!(block_on(manifold(&read(20), 4)).is_err());
    assert!(block_on(manifold(&read(2), 1)).is_err());
}

/// β-VAE: a larger β buys a smaller KL by switching latent dimensions off. Two epochs at latent 10
/// with β = 1 and β = 8 from the same start; the per-dimension KL over the test digits shows it.
#[test]
fn larger_beta_switches_dimensions_off() {
    use vae_core::data::Batches;
    use vae_core::latent::mean_kl_per_dimension;
    let digits = digits();
    let (test_pixels, _) = digits.batch(&digits.test_indices());
    let n_test = digits.test_indices().len();
    let active_dims = |beta: f32| {
        let architecture = VaeConfig {
            latent: 10,
            hidden: 128,
            kind: ModelKind::Vae,
        };
        let mut trainer = Trainer::new(common::seeded_init(3, |d| architecture.init(d)), 3);
        let mut batches = Batches::new(digits.train_indices(), 3).unwrap();
        let steps = 2 * batches.per_epoch(128);
        for _ in 0..steps {
            let batch = batches.next(128);
            block_on(trainer.step_on(
                &digits,
                &batch.indices,
                &config(2e-3, beta, Likelihood::Bernoulli),
            ))
            .unwrap();
        }
        let encoded = block_on(encode(&trainer.model(), &test_pixels, n_test, None)).unwrap();
        let kl = mean_kl_per_dimension(&encoded.mu, encoded.logvar.as_ref().unwrap(), n_test, 10)
            .unwrap();
        let active = kl.iter().filter(|&&v| v > 0.1).count();
        println!("β = {beta}: KL per dimension {kl:.2?} → {active} active");
        (active, kl.iter().sum::<f32>())
    };
    let (active_1, total_1) = active_dims(1.0);
    let (active_8, total_8) = active_dims(8.0);
    assert!(
        active_8 < active_1,
        "β = 8 should use fewer dimensions ({active_8}) than β = 1 ({active_1})"
    );
    assert!(total_8 < 0.5 * total_1, "total KL {total_8} vs {total_1}");
}

/// The page's default model at the largest learning rate it accepts: the loss explodes while still
/// finite (~10⁷ nats) before it becomes NaN. The run must stop at the explosion and come back to
/// weights whose loss was sound — finite weights, a loss near where it started, a file that saves
/// and loads again — never to the exploded ones.
#[test]
fn an_exploding_loss_stops_the_run_before_the_weights_are_ruined() {
    use vae_core::inference::score_at_mean;
    use vae_core::training::weights_are_finite;
    use vae_core::weights::read_safetensors;
    let digits = digits();
    let (pixels, _) = digits.batch(&digits.train_indices()[..128]);
    let mut t = Trainer::new(common::seeded_init(1, |d| VaeConfig::new().init(d)), 1);
    let mean_loss = |t: &Trainer| {
        let per_digit = block_on(score_at_mean(
            &t.model(),
            &pixels,
            128,
            None,
            Likelihood::Bernoulli,
        ))
        .unwrap();
        per_digit.iter().sum::<f32>() / 128.0
    };
    let start = mean_loss(&t);
    let mut accepted = Vec::new();
    let error = loop {
        match block_on(t.step(&pixels, 128, None, &config(1.0, 1.0, Likelihood::Bernoulli))) {
            Ok(stats) => accepted.push(stats.loss),
            Err(e) => break e,
        }
        assert!(accepted.len() < 50, "lr 1 should diverge: {accepted:?}");
    };
    println!("accepted losses {accepted:?}, then: {error}");
    assert!(
        matches!(&error, VaeError::Diverged(m) if m.contains("rolled back")),
        "{error}"
    );
    assert!(
        accepted.iter().all(|&l| l < 10.0 * start),
        "a step with an exploded loss was accepted: {accepted:?} (start {start})"
    );
    assert!(block_on(weights_are_finite(&t.model())).unwrap());
    let after = mean_loss(&t);
    assert!(
        after.is_finite() && after < 10.0 * start,
        "rolled back to weights with loss {after} (start {start})"
    );
    let saved = block_on(write_safetensors(&t.model(), Dtype::F32, &[])).unwrap();
    assert_eq!(read_safetensors(&saved).unwrap().config, t.model().config());
    // Training goes on from there at a sane rate.
    let next = block_on(t.step(
        &pixels,
        128,
        None,
        &config(1e-3, 1.0, Likelihood::Bernoulli),
    ))
    .unwrap();
    assert!(next.loss < 10.0 * start);
}

/// Weights holding a NaN are never written: such a file would not load again.
#[test]
fn non_finite_weights_are_neither_kept_nor_saved() {
    use vae_core::training::weights_are_finite;
    use vae_core::weights::read_safetensors;
    let device = device();
    let mut file =
        read_safetensors(&std::fs::read(repo_path("web/assets/vae-latent2.safetensors")).unwrap())
            .unwrap();
    assert!(block_on(weights_are_finite(&file.to_model(&device))).unwrap());
    for value in [f32::NAN, f32::INFINITY] {
        file.tensors.get_mut("fc4.bias").unwrap().values[7] = value;
        let model = file.to_model(&device);
        assert!(!block_on(weights_are_finite(&model)).unwrap(), "{value}");
        let error = block_on(write_safetensors(&model, Dtype::F32, &[])).unwrap_err();
        assert!(error.to_string().contains("fc4.bias"), "{error}");
    }
}

/// Every weight of `model` 1% larger: what a GPU reading stale or wrong data can give.
fn one_percent_off<M: burn::module::Module>(model: M) -> M {
    use burn::module::{ModuleMapper, Param};
    use burn::prelude::Tensor;
    struct Scale;
    impl ModuleMapper for Scale {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.map(|t| t.mul_scalar(1.01))
        }
    }
    model.map(&mut Scale)
}

/// The training self-check's measure, for every model kind that can move to WebGPU: zero for the
/// same step on the same backend, and far above its tolerance when one side's weights are 1% off.
fn assert_self_check<M: vae_core::self_check::SelfCheck>(name: &str, model: M) {
    use vae_core::self_check::{STEP_CHECK_TOLERANCE, step_check, step_disagreement};
    assert_eq!(
        block_on(step_disagreement(&model, &model)).unwrap(),
        0.0,
        "{name}"
    );
    assert_eq!(
        block_on(step_check(&model, &model)).unwrap(),
        None,
        "{name}"
    );
    let faulty = one_percent_off(model.clone());
    let off = block_on(step_disagreement(&faulty, &model)).unwrap();
    println!("{name}: one step of 1%-off weights disagrees by {off:.3}");
    assert!(off > 10.0 * STEP_CHECK_TOLERANCE, "{name}: {off}");
    let why = block_on(step_check(&faulty, &model)).unwrap().expect(name);
    assert!(why.contains("disagreed with the CPU"), "{why}");
}

#[test]
fn the_self_check_tells_a_faulty_step_from_a_sound_one_for_every_kind() {
    let device = device();
    let file = |name: &str| std::fs::read(repo_path(&format!("web/assets/{name}"))).unwrap();
    let vae = vae_core::weights::read_safetensors(&file("vae-latent2.safetensors"))
        .unwrap()
        .to_model(&device);
    assert_self_check("vae", vae);
    let cvae = vae_core::weights::read_safetensors(&file("cvae-latent2.safetensors"))
        .unwrap()
        .to_model(&device);
    assert_self_check("cvae", cvae);
    for name in ["aae-ring-guided", "aae-gaussian"] {
        let aae = vae_core::aae::read_aae(&file(&format!("{name}.safetensors")), &device).unwrap();
        assert_self_check(name, aae);
    }
    let hvae = vae_core::hvae::read_hvae(&file("hvae-top2.safetensors"), &device).unwrap();
    assert_self_check("hvae", hvae);
    let vrae = vae_core::vrae::read_vrae(&file("vrae-bleeding.safetensors"), &device).unwrap();
    assert_self_check("vrae", vrae);
}
