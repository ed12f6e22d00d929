//! The training session the `train` binary and the browser worker share: a seed gives one run.
//! `session_losses.json` holds the first losses of a run from fixed weights; this test checks the
//! native run against it, and the bindings' browser test (`tests/web.rs`,
//! `the_browser_takes_the_train_binarys_steps`) checks the wasm run against the same numbers, so
//! the two agree with each other to within twice the tolerance.
//!
//! `VAE_WRITE_FIXTURES=1 cargo test -p vae-core --test session` rewrites the fixture.

use crate::common;

use common::{block_on, device, floats, repo_path};
use vae_core::data::Digits;
use vae_core::model::PIXELS;
use vae_core::session::Session;
use vae_core::training::TrainConfig;
use vae_core::weights::read_safetensors;

/// Relative tolerance on each loss against the fixture (native or wasm).
const TOLERANCE: f32 = 5e-6;

/// 200 synthetic digits (the browser test builds the same ones): grey levels from a fixed pattern.
fn synthetic_digits() -> Digits {
    let pixels = (0..200 * PIXELS)
        .map(|i| ((i * 53 + i / PIXELS * 7) % 256) as u8)
        .collect();
    let labels = (0..200).map(|i| (i % 10) as u8).collect();
    Digits::new(pixels, labels).unwrap()
}

#[test]
fn a_seed_gives_the_fixtures_losses() {
    let path = repo_path("crates/core/tests/fixtures/session_losses.json");
    let weights = std::fs::read(repo_path(
        "crates/core/tests/fixtures/parity_vae.safetensors",
    ))
    .unwrap();
    let model = read_safetensors(&weights).unwrap().to_model(&device());
    let mut session = Session::new(model, 5);
    assert_eq!(session.set_digits(synthetic_digits(), 5).unwrap(), 180);
    let config = TrainConfig::new().with_batch_size(32);
    let mut losses = Vec::new();
    let mut ends = Vec::new();
    for _ in 0..8 {
        let report = block_on(session.step(&config)).unwrap();
        losses.push(report.stats.loss);
        ends.push(report.ends_epoch);
        assert_eq!(report.steps_per_epoch, 6);
    }
    // 180 training digits at 32 a batch: the sixth batch (20 digits) ends the first epoch.
    assert_eq!(
        ends,
        [false, false, false, false, false, true, false, false]
    );
    if std::env::var_os("VAE_WRITE_FIXTURES").is_some() {
        let json = serde_json::json!({
            "about": "first 8 losses (nats per digit) of a session from parity_vae.safetensors on 200 synthetic digits, seed 5, batch 32, lr 1e-3, beta 1, Bernoulli",
            "losses": losses,
        });
        std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap() + "\n").unwrap();
    }
    let fixture: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let want = floats(&fixture["losses"]);
    for (i, (g, w)) in losses.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= TOLERANCE * w.abs(),
            "loss {i}: got {g}, the fixture says {w}"
        );
    }
    // The losses move: a fixture of one repeated number would prove nothing.
    assert!(want.windows(2).all(|p| p[0] != p[1]), "{want:?}");
}
