//! The variational recurrent autoencoder: parity with its PyTorch reference
//! (`fixtures/make_vrae_fixture.py`) for q(z|x), the decoded means, both −ELBO terms, the loss and
//! every gradient; the weight file round trip; the shipped series and the anomaly figures; and
//! that training does what the model is for here, telling the labelled anomaly from normal beats.

use crate::common;

use burn::module::Module;
use burn::nn::{GateController, Gru, Linear};
use burn::prelude::*;
use common::{assert_close, block_on, device, floats, repo_path};
use serde_json::Value;
use vae_core::inference::{read, read1, upload};
use vae_core::series::{Series, WINDOW, percentile, roc_auc};
use vae_core::vrae::{VraeConfig, decode_codes, read_vrae, score_windows, terms, write_vrae};
use vae_core::vrae_training::{VraeSession, anomaly_figures};
use vae_core::weights::{Dtype, Tensors, read_checked};

fn tensors(bytes: &[u8]) -> Tensors {
    read_checked(bytes, |_| Ok(())).unwrap().1
}

fn fixture() -> (Vec<u8>, Value) {
    let dir = repo_path("crates/core/tests/fixtures");
    let bytes = std::fs::read(dir.join("parity_vrae.safetensors")).unwrap();
    let json = std::fs::read_to_string(dir.join("parity_vrae.json")).unwrap();
    (bytes, serde_json::from_str(&json).unwrap())
}

fn rows(t: Tensor<2>) -> Vec<f32> {
    block_on(read(t)).unwrap()
}

fn ones(t: Tensor<1>) -> Vec<f32> {
    block_on(read1(t)).unwrap()
}

/// PyTorch's layout of a linear layer's gradient: `[out, in]` row-major, and the bias.
fn linear_grads(l: &Linear, grads: &burn::tensor::Gradients) -> (Vec<f32>, Vec<f32>) {
    let w = rows(l.weight.val().grad(grads).unwrap().transpose());
    let b = ones(l.bias.as_ref().unwrap().val().grad(grads).unwrap());
    (w, b)
}

/// A GRU's gradients stacked as PyTorch stacks its gates (reset, update, new): weight_ih, bias_ih,
/// weight_hh, bias_hh.
fn gru_grads(gru: &Gru, grads: &burn::tensor::Gradients) -> [Vec<f32>; 4] {
    let mut out: [Vec<f32>; 4] = Default::default();
    let gates: [&GateController; 3] = [&gru.reset_gate, &gru.update_gate, &gru.new_gate];
    for gate in gates {
        let (w, b) = linear_grads(&gate.input_transform, grads);
        out[0].extend(w);
        out[1].extend(b);
        let (w, b) = linear_grads(&gate.hidden_transform, grads);
        out[2].extend(w);
        out[3].extend(b);
    }
    out
}

#[test]
fn matches_pytorch_values_and_gradients() {
    let (bytes, f) = fixture();
    let device = device();
    let model = read_vrae(&bytes, &device).unwrap().train();
    assert_eq!(
        model.config(),
        VraeConfig::new().with_hidden(6).with_latent(3)
    );
    let x = upload(&floats(&f["x"]), 4, 7, &device);
    let eps = upload(&floats(&f["eps"]), 4, 3, &device);
    let out = model.forward(x.clone(), Some(eps));
    for (what, tensor) in [
        ("mu", out.q.mu.clone()),
        ("logvar", out.q.logvar.clone()),
        ("z", out.z.clone()),
        ("mean", out.mean.clone()),
    ] {
        assert_close(what, &rows(tensor), &floats(&f[what]), 1e-4);
    }
    let t = terms(&out, x);
    assert_close("recon", &ones(t.recon.clone()), &floats(&f["recon"]), 1e-4);
    assert_close("kl", &ones(t.kl.clone()), &floats(&f["kl"]), 1e-4);
    let loss = (t.recon + t.kl).mean();
    assert_close(
        "loss",
        &ones(loss.clone()),
        &[f["loss"].as_f64().unwrap() as f32],
        1e-4,
    );

    let grads = loss.backward();
    let g = &f["grads"];
    let mut checked = 0;
    for (name, layer) in [
        ("enc_mu", &model.enc_mu),
        ("enc_logvar", &model.enc_logvar),
        ("dec_init", &model.dec_init),
        ("dec_out", &model.dec_out),
    ] {
        let (w, b) = linear_grads(layer, &grads);
        assert_close(
            &format!("∂{name}.weight"),
            &w,
            &floats(&g[format!("{name}.weight")]),
            1e-4,
        );
        assert_close(
            &format!("∂{name}.bias"),
            &b,
            &floats(&g[format!("{name}.bias")]),
            1e-4,
        );
        checked += 2;
    }
    for (name, gru) in [("encoder", &model.encoder), ("decoder", &model.decoder)] {
        let [w_ih, b_ih, w_hh, b_hh] = gru_grads(gru, &grads);
        for (part, got) in [
            ("weight_ih_l0", w_ih),
            ("bias_ih_l0", b_ih),
            ("weight_hh_l0", w_hh),
            ("bias_hh_l0", b_hh),
        ] {
            let key = format!("{name}.{part}");
            assert_close(&format!("∂{key}"), &got, &floats(&g[&key]), 1e-4);
            checked += 1;
        }
    }
    let sigma = ones(model.log_sigma_x.val().grad(&grads).unwrap());
    assert_close("∂log_sigma_x", &sigma, &floats(&g["log_sigma_x"]), 1e-4);
    checked += 1;
    assert_eq!(
        checked,
        g.as_object().unwrap().len(),
        "every gradient compared"
    );

    // Decoding given codes over a length other than the windows' (the GRU runs on any length),
    // through the host-level call the bindings use.
    let valid = model.valid();
    let decoded = block_on(decode_codes(&valid, &floats(&f["codes"]), 2, 5)).unwrap();
    assert_close("decoded", &decoded, &floats(&f["decoded"]), 1e-4);
    let short = block_on(decode_codes(&valid, &[0.0; 5], 2, 5)).unwrap_err();
    assert!(
        short
            .to_string()
            .contains("z: expected 2 × 3 numbers, got 5"),
        "{short}"
    );
}

#[test]
fn weights_round_trip_with_pytorch_names() {
    let (bytes, _) = fixture();
    let device = device();
    let model = read_vrae(&bytes, &device).unwrap();
    let written = block_on(write_vrae(&model, Dtype::F32, &[])).unwrap();
    // Every tensor comes back under PyTorch's name with PyTorch's values.
    let ours = tensors(&written);
    let theirs = tensors(&bytes);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (name, tensor) in &theirs {
        assert_eq!(ours[name].shape, tensor.shape, "{name}");
        assert_close(name, &ours[name].values, &tensor.values, 0.0);
    }
    let again = read_vrae(&written, &device).unwrap();
    let x: Vec<f32> = (0..3 * 9).map(|i| (i as f32 * 0.37).sin()).collect();
    let a = block_on(score_windows(&model, &x, 3, 9)).unwrap();
    let b = block_on(score_windows(&again, &x, 3, 9)).unwrap();
    assert_eq!(a, b);

    // Refusals, each before any model is built.
    let vae = std::fs::read(repo_path("web/assets/vae-latent2.safetensors")).unwrap();
    let err = read_vrae(&vae, &device).unwrap_err().to_string();
    assert!(err.contains("enc_mu.weight is missing"), "{err}");
    assert!(read_vrae(&bytes[..bytes.len() - 4], &device).is_err());
    let err = block_on(score_windows(&model, &[f32::NAN; 9], 1, 9))
        .unwrap_err()
        .to_string();
    assert!(err.contains("windows: value 0 is NaN"), "{err}");
    let err = block_on(score_windows(&model, &[0.0; 8], 1, 9))
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected 1 × 9 numbers, got 8"), "{err}");
    let err = block_on(score_windows(&model, &[], 0, 5000))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a window must hold 1 to 1024 samples"),
        "{err}"
    );
}

fn shipped_series() -> Series {
    Series::from_bytes(&std::fs::read(repo_path("web/assets/series.bin")).unwrap()).unwrap()
}

#[test]
fn the_series_file_and_the_figures() {
    let series = shipped_series();
    assert_eq!((series.len(), series.train_end()), (7501, 1200));
    let anomalous: Vec<usize> = (0..series.len())
        .filter(|&i| series.labels()[i] == 1)
        .collect();
    assert_eq!((anomalous[0], *anomalous.last().unwrap()), (4187, 4198));
    assert_eq!(series.train_starts().len(), 1200 - WINDOW + 1);
    let (mean, sd) = series.scale();
    let s = series.standardised();
    let train = &s[..series.train_end()];
    let m = train.iter().sum::<f32>() / train.len() as f32;
    assert!(
        m.abs() < 1e-4 && sd > 0.0 && mean.is_finite(),
        "{m} {mean} {sd}"
    );

    // Damaged files are refused with a reason.
    let bytes = std::fs::read(repo_path("web/assets/series.bin")).unwrap();
    for (damaged, why) in [
        (bytes[..bytes.len() - 1].to_vec(), "bytes for 7501 samples"),
        (b"VAED\0\0\0\0\0\0\0\0".to_vec(), "missing the VAES header"),
        (
            [&b"VAES"[..], &u32::MAX.to_le_bytes(), &[0; 4]].concat(),
            "at most 1048576 are accepted",
        ),
    ] {
        let err = Series::from_bytes(&damaged).unwrap_err().to_string();
        assert!(err.contains(why), "{err}");
    }
    let mut labelled = bytes.clone();
    let n = labelled.len();
    labelled[n - 7501 + 10] = 1; // a label inside the training part
    let err = Series::from_bytes(&labelled).unwrap_err().to_string();
    assert!(
        err.contains("training part holds labelled anomalies"),
        "{err}"
    );

    // ROC AUC: perfect, reversed, ties, and chance.
    let yes = [false, false, true, true];
    assert_eq!(roc_auc(&[0.1, 0.2, 0.3, 0.4], &yes), Some(1.0));
    assert_eq!(roc_auc(&[0.4, 0.3, 0.2, 0.1], &yes), Some(0.0));
    assert_eq!(roc_auc(&[1.0, 1.0, 1.0, 1.0], &yes), Some(0.5));
    assert_eq!(roc_auc(&[0.1, 0.3, 0.2, 0.4], &yes), Some(0.75));
    assert_eq!(roc_auc(&[0.1, 0.2], &[false, false]), None);
    assert_eq!(percentile(&[4.0, 1.0, 3.0, 2.0], 50.0), Some(2.5));
    assert_eq!(percentile(&[4.0, 1.0, 3.0, 2.0], 100.0), Some(4.0));
}

/// The shipped weights (trained by `train-series`, the README's command) tell the labelled
/// anomaly from normal beats on the held-out part.
#[test]
fn shipped_weights_find_the_anomaly() {
    let device = device();
    let bytes = std::fs::read(repo_path("web/assets/vrae-bleeding.safetensors")).unwrap();
    let model = read_vrae(&bytes, &device).unwrap();
    let f = block_on(anomaly_figures(&model, &shipped_series(), 4)).unwrap();
    eprintln!(
        "shipped: AUC {:.4}, anomalous median {:.1}, normal p99 {:.1}",
        f.auc, f.anomalous_median, f.normal_p99
    );
    assert!(f.auc > 0.95, "ROC AUC {}", f.auc);
    assert!(
        f.anomalous_median > f.normal_p99,
        "the median anomalous window ({}) must score above 99% of normal windows ({})",
        f.anomalous_median,
        f.normal_p99
    );
}

/// Training from scratch on the normal part lowers the held-out −ELBO and raises the ROC AUC of
/// the anomaly score above what the untrained model gives.
///
/// The model starts from burn's generator seeded with 1, so a run is the same run on every
/// machine (it is: 1 or 2 threads give the same figures). The bounds hold for every seed tried,
/// not only this one: over seeds 1–8 the AUC after 400 steps ran 0.69–0.95 (untrained 0.56–0.63)
/// and the −ELBO fell by ≥ 100 nats. Unseeded, this test once failed CI at AUC 0.777 against a
/// bound of 0.8 that only the lucky seeds clear.
#[test]
fn training_learns_normal_beats() {
    // ~22 epochs of the 18 steps of 64 windows, at the fast end of the learning rates.
    const STEPS: usize = 400;
    let model = common::seeded_init(1, |device| VraeConfig::new().init(device));
    let series = shipped_series();
    let before = block_on(anomaly_figures(&model, &series, 16)).unwrap();
    let mut session = VraeSession::new(model, series.clone(), 1).unwrap();
    let start = block_on(session.evaluate(16)).unwrap();
    for _ in 0..STEPS {
        block_on(session.step(64, 3e-3)).unwrap();
    }
    let end = block_on(session.evaluate(16)).unwrap();
    let after = block_on(anomaly_figures(&session.model(), &series, 16)).unwrap();
    eprintln!(
        "{STEPS} steps: held-out −ELBO {:.1} → {:.1}, AUC {:.3} → {:.3}",
        start.neg_elbo, end.neg_elbo, before.auc, after.auc
    );
    assert!(end.neg_elbo < start.neg_elbo - 60.0, "{start:?} → {end:?}");
    assert!(
        after.auc > 0.65 && after.auc > before.auc + 0.1,
        "{} → {}",
        before.auc,
        after.auc
    );
}
