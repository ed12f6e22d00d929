//! Trains a model natively and writes its weights as safetensors.
//!
//! `cargo run --release -p vae-core --bin train -- --latent 20 --out web/assets/vae-latent20.safetensors`
//!
//! Prints each epoch's mean training loss (the mean of its steps' per-digit losses) and the test −ELBO (one z sample, and z = μ), in nats
//! per digit, with a progress bar on stderr. Runs are reproducible from `--seed`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use burn::prelude::*;
use vae_core::aae::{self, Aae, AaeConfig, Prior};
use vae_core::aae_training::AaeStats;
use vae_core::backend::{CpuBackend, cpu_device};
use vae_core::data::Digits;
use vae_core::hvae::{self, Hvae, HvaeConfig};
use vae_core::loss::Likelihood;
use vae_core::session::Session;
use vae_core::training::{StepStats, Steps, TrainConfig, Trains};
use vae_core::weights::{Dtype, write_safetensors};
use vae_core::{ModelKind, VaeConfig};

const USAGE: &str = "usage: train [--latent N] [--hidden N] [--kind vae|autoencoder|conditional|hierarchical|adversarial] \
[--latent-top N] [--hidden-top N] [--warmup STEPS] [--free-bits NATS] [--prior gaussian|ring|swissroll] [--label-guided] [--hidden-disc N] [--epochs N] [--lr F] [--batch N] [--beta F] [--likelihood bernoulli|gaussian] [--sigma-x F] [--learn-sigma-x] [--seed N] \
[--data PATH] [--out PATH] [--dtype f32|f16|bf16] [--backend flex|ndarray]";

struct Args {
    model: VaeConfig,
    /// Set for `--kind hierarchical` (its `--latent` and `--hidden` are z₁'s and the pixels').
    hierarchical: Option<HvaeConfig>,
    /// Set for `--kind adversarial` (its code is 2-D unless --latent says otherwise).
    adversarial: Option<AaeConfig>,
    sigma_x: f32,
    train: TrainConfig,
    data: PathBuf,
    out: Option<PathBuf>,
    dtype: Dtype,
    device: Device,
    backend: &'static str,
}

fn parse_args() -> Result<Args, String> {
    let mut model = VaeConfig::new();
    let mut hierarchical: Option<HvaeConfig> = None;
    let mut top = HvaeConfig::new();
    let (mut adversarial, mut aae) = (false, AaeConfig::new());
    let mut train = TrainConfig::new();
    let mut data = PathBuf::from("web/assets/digits.bin.gz");
    let (mut out, mut dtype, mut backend) = (None, Dtype::F32, CpuBackend::available()[0]);
    let mut sigma_x = vae_core::loss::DEFAULT_SIGMA_X;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        if flag == "--learn-sigma-x" {
            train.learn_sigma_x = true;
            continue;
        }
        if flag == "--label-guided" {
            aae.label_guided = true;
            continue;
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = |v: &str| {
            v.parse::<f64>()
                .map_err(|_| format!("{flag}: '{v}' is not a number"))
        };
        match flag.as_str() {
            "--latent" => {
                model.latent = number(&value)? as usize;
                (top.latent, aae.latent) = (model.latent, model.latent);
            }
            "--hidden" => {
                model.hidden = number(&value)? as usize;
                (top.hidden, aae.hidden) = (model.hidden, model.hidden);
            }
            "--kind" if matches!(value.as_str(), "adversarial" | "aae") => adversarial = true,
            "--prior" => {
                train.prior = Prior::parse(&value).ok_or(format!("unknown prior {value}"))?
            }
            "--hidden-disc" => aae.hidden_disc = number(&value)? as usize,
            "--kind" if matches!(value.as_str(), "hierarchical" | "hvae") => {
                hierarchical = Some(HvaeConfig::new())
            }
            "--kind" => {
                model.kind = ModelKind::parse(&value).ok_or(format!("unknown kind {value}"))?
            }
            "--latent-top" => top.latent_top = number(&value)? as usize,
            "--hidden-top" => top.hidden_top = number(&value)? as usize,
            "--warmup" => train.warmup_steps = number(&value)? as u64,
            "--free-bits" => train.free_bits = number(&value)? as f32,
            "--epochs" => train.epochs = number(&value)? as usize,
            "--lr" => train.lr = number(&value)?,
            "--batch" => train.batch_size = number(&value)? as usize,
            "--beta" => train.beta = number(&value)? as f32,
            "--likelihood" => {
                train.likelihood =
                    Likelihood::parse(&value).ok_or(format!("unknown likelihood {value}"))?
            }
            "--seed" => train.seed = number(&value)? as u64,
            "--sigma-x" => {
                sigma_x = number(&value)? as f32;
                vae_core::loss::check_sigma_x(sigma_x).map_err(|e| e.to_string())?;
            }
            "--data" => data = PathBuf::from(value),
            "--out" => out = Some(PathBuf::from(value)),
            "--dtype" => {
                dtype = match value.as_str() {
                    "f32" => Dtype::F32,
                    "f16" => Dtype::F16,
                    "bf16" => Dtype::BF16,
                    _ => return Err(format!("unknown dtype {value}")),
                }
            }
            "--backend" => {
                backend = CpuBackend::parse(&value)
                    .filter(|b| CpuBackend::available().contains(b))
                    .ok_or(format!("backend {value} is not in this build"))?
            }
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    model.validate().map_err(|e| e.to_string())?;
    // `top` holds the hierarchical model's own defaults (z₁ 16) unless --latent/--hidden set them.
    let hierarchical = hierarchical.map(|_| top);
    if let Some(config) = &hierarchical {
        config.validate().map_err(|e| e.to_string())?;
    }
    let adversarial = adversarial.then_some(aae);
    if let Some(config) = &adversarial {
        config.validate().map_err(|e| e.to_string())?;
        train
            .prior
            .check(config.latent, config.label_guided)
            .map_err(|e| e.to_string())?;
    }
    let device = backend.device().unwrap_or_else(cpu_device);
    Ok(Args {
        model,
        hierarchical,
        adversarial,
        sigma_x,
        train,
        data,
        out,
        dtype,
        device,
        backend: backend.name(),
    })
}

fn progress_bar(done: usize, total: usize, loss: f32) {
    let width = 30;
    let filled = done * width / total.max(1);
    eprint!(
        "\r  [{}{}] {done}/{total} loss {loss:8.2}",
        "#".repeat(filled),
        " ".repeat(width - filled)
    );
    let _ = std::io::stderr().flush();
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if let Err(e) = pollster::block_on(run(args)) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> vae_core::Result<()> {
    let digits = Digits::read_gz(&args.data)?;
    let (train_idx, test_idx) = (digits.train_indices(), digits.test_indices());
    let shape = match (&args.hierarchical, &args.adversarial) {
        (_, Some(a)) => format!(
            "{}adversarial autoencoder {}-{}-{} with a {}-{}-{}-1 discriminator, {} prior",
            if a.label_guided { "label-guided " } else { "" },
            vae_core::model::PIXELS,
            a.hidden,
            a.latent,
            a.latent,
            a.hidden_disc,
            a.hidden_disc,
            args.train.prior.name()
        ),
        (Some(h), _) => format!(
            "hierarchical VAE {}-{}-{} (z₁) and {}-{} (z₂)",
            vae_core::model::PIXELS,
            h.hidden,
            h.latent,
            h.hidden_top,
            h.latent_top
        ),
        (None, None) => format!(
            "{} {}-{}-{}",
            args.model.kind.name(),
            vae_core::model::PIXELS,
            args.model.hidden,
            args.model.latent
        ),
    };
    let objective = if args.adversarial.is_some() {
        "Adam in each phase".to_string()
    } else {
        format!(
            "β {}, KL warm-up {} steps, free bits {}",
            args.train.beta, args.train.warmup_steps, args.train.free_bits
        )
    };
    println!(
        "{shape} on {} ({} train / {} test digits), {} epochs, batch {}, lr {}, {objective}, seed {}",
        args.backend,
        train_idx.len(),
        test_idx.len(),
        args.train.epochs,
        args.train.batch_size,
        args.train.lr,
        args.train.seed,
    );
    // Seed burn's initialiser too, so the starting weights repeat.
    args.device.seed(args.train.seed);
    let likelihood = args.train.likelihood;
    let mut meta = vec![
        ("likelihood", likelihood.name().to_string()),
        ("epochs", args.train.epochs.to_string()),
        ("seed", args.train.seed.to_string()),
    ];
    if args.adversarial.is_some() {
        meta.push((aae::PRIOR_KEY, args.train.prior.name().to_string()));
    }
    let meta: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bytes = match (&args.hierarchical, &args.adversarial) {
        (_, Some(config)) => {
            let model = config.init(&args.device);
            let prior = args.train.prior;
            let mut session = Session::new(model, args.train.seed);
            session.set_digits(digits, args.train.seed)?;
            let mmd_points = 1000;
            let figures = async |session: &mut Session<Aae>| {
                let model = session.model();
                let (pixels, labels, n, rng) = session.test_digits()?;
                let s = aae::evaluate(&model, &pixels, &labels, n, prior, mmd_points, rng).await?;
                Ok(format!("{:10.2}  {:6.4}", s.recon, s.mmd2))
            };
            println!(
                "recon: −log p(x|z) in nats per digit (Bernoulli); MMD²: unbiased, {mmd_points} test codes against as many prior samples; D wins: share of steps with D > {} on the prior and < {:.2} on the codes",
                vae_core::aae_training::WIN_CONFIDENCE,
                1.0 - vae_core::aae_training::WIN_CONFIDENCE
            );
            println!("epoch  train-recon  D-loss  G-loss  D wins  test-recon  MMD²    seconds");
            let at_start = figures(&mut session).await?;
            println!(
                "{:5}  {:>11}  {:>6}  {:>6}  {:>6}  {at_start}",
                0, "", "", "", ""
            );
            let summary = |s: &[AaeStats]| {
                let wins = s.iter().filter(|s| s.discriminator_wins()).count();
                format!(
                    "{:11.2}  {:6.3}  {:6.3}  {:5.0}%",
                    mean(s, |s| s.recon),
                    mean(s, |s| s.discriminator),
                    mean(s, |s| s.generator),
                    100.0 * wins as f64 / s.len().max(1) as f64
                )
            };
            train(&mut session, &args.train, summary, figures).await?;
            aae::write_aae(&session.model(), args.dtype, &meta).await?
        }
        (Some(config), _) => {
            let model = config.init(&args.device).with_sigma_x(args.sigma_x)?;
            let mut session = Session::new(model, args.train.seed);
            session.set_digits(digits, args.train.seed)?;
            println!(
                "epoch  train-loss  test -ELBO(1 z)  recon   KL(z₁)  KL(z₂)  active z₁ z₂  seconds"
            );
            train(
                &mut session,
                &args.train,
                mean_loss,
                async |session: &mut Session<Hvae>| {
                    let model = session.model();
                    let (pixels, n, rng) = session.test_pixels()?;
                    let s = hvae::evaluate(&model, &pixels, n, likelihood, rng).await?;
                    let (bottom, top) = hvae::active_units(&model, &pixels, n, 10, rng).await?;
                    Ok(format!(
                        "{:15.2}  {:6.2}  {:6.2}  {:6.2}  {:6} {:3}",
                        s.neg_elbo, s.recon, s.kl_bottom, s.kl_top, bottom, top
                    ))
                },
            )
            .await?;
            let model = session.model();
            let (pixels, n, rng) = session.test_pixels()?;
            let k = 100;
            let nll = hvae::negative_log_likelihood(&model, &pixels, n, k, likelihood, rng).await?;
            let mean = nll.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            println!("test −log p(x) ≤ {mean:.2} nats per digit (importance-weighted, k = {k})");
            hvae::write_hvae(&model, args.dtype, &meta).await?
        }
        (None, None) => {
            // The same session the browser's worker drives: same seed, same batches, same noise.
            let model = args.model.init(&args.device).with_sigma_x(args.sigma_x)?;
            let mut session = Session::new(model, args.train.seed);
            session.set_digits(digits, args.train.seed)?;
            println!("epoch  train-loss  test -ELBO(1 z)  test score(z=μ)  seconds");
            train(
                &mut session,
                &args.train,
                mean_loss,
                async |session: &mut Session| {
                    let test = session.evaluate(likelihood).await?;
                    Ok(format!(
                        "{:15.2}  {:15.2}",
                        test.neg_elbo, test.score_at_mean
                    ))
                },
            )
            .await?;
            write_safetensors(&session.model(), args.dtype, &meta).await?
        }
    };
    if let Some(out) = &args.out {
        std::fs::write(out, &bytes)
            .map_err(|e| vae_core::VaeError::Weights(format!("{}: {e}", out.display())))?;
        println!("wrote {} ({} bytes)", out.display(), bytes.len());
    }
    Ok(())
}

/// Runs `config.epochs` epochs, printing after each what `summary` makes of its steps' figures,
/// the test figures `test` returns, and the seconds so far.
async fn train<M: Trains>(
    session: &mut Session<M>,
    config: &TrainConfig,
    summary: impl Fn(&[<M::Trainer as Steps>::Stats]) -> String,
    mut test: impl AsyncFnMut(&mut Session<M>) -> vae_core::Result<String>,
) -> vae_core::Result<()> {
    let start = Instant::now();
    for epoch in 1..=config.epochs {
        let mut stats = Vec::new();
        loop {
            let report = session.step(config).await?;
            stats.push(report.stats);
            progress_bar(
                report.step_in_epoch,
                report.steps_per_epoch,
                M::Trainer::headline(&report.stats),
            );
            if report.ends_epoch {
                break;
            }
        }
        eprint!("\r{}\r", " ".repeat(60));
        let figures = test(session).await?;
        println!(
            "{epoch:5}  {}  {figures}  {:7.1}",
            summary(&stats),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The mean of `f` over an epoch's steps.
fn mean<S>(stats: &[S], f: impl Fn(&S) -> f32) -> f32 {
    (stats.iter().map(|s| f(s) as f64).sum::<f64>() / stats.len().max(1) as f64) as f32
}

/// The mean training loss of an epoch (the mean of its steps' per-digit losses).
fn mean_loss(stats: &[StepStats]) -> String {
    format!("{:10.2}", mean(stats, |s| s.loss))
}
