//! Parity with PyTorch: fixtures made by `fixtures/make_parity_fixture.py` (pytorch/examples
//! `vae/main.py`'s model and loss) load through our safetensors reader and give the same μ, log σ²,
//! reconstruction, −ELBO and gradients within 1e-4, for the Bernoulli likelihood and for the
//! Gaussian one with a learnable σ_x.

use crate::common;

use burn::module::Module;
use common::{assert_close, block_on, device, floats, repo_path};
use serde_json::Value;
use vae_core::ModelKind;
use vae_core::inference::{
    decode, encode, one_hot, read, read1, reconstruct, score_at_mean, upload,
};
use vae_core::loss::{Likelihood, loss};
use vae_core::weights::read_safetensors;

fn check(name: &str, kind: ModelKind, likelihood: Likelihood) {
    let dir = repo_path("crates/core/tests/fixtures");
    let bytes = std::fs::read(dir.join(format!("{name}.safetensors"))).unwrap();
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap())
            .unwrap();
    let file = read_safetensors(&bytes).unwrap();
    assert_eq!(file.config.kind, kind);
    assert_eq!(fixture["likelihood"].as_str(), Some(likelihood.name()));
    assert_eq!((file.config.hidden, file.config.latent), (16, 3));

    let device = device();
    let model = file.to_model(&device);
    let x = floats(&fixture["x"]);
    let labels: Option<Vec<u8>> = fixture["labels"]
        .as_array()
        .map(|l| l.iter().map(|v| v.as_u64().unwrap() as u8).collect());
    let labels = labels.as_deref();

    let encoded = block_on(encode(&model, &x, 4, labels)).unwrap();
    assert_close("mu", &encoded.mu, &floats(&fixture["mu"]), 1e-4);
    assert_close(
        "logvar",
        &encoded.logvar.unwrap(),
        &floats(&fixture["logvar"]),
        1e-4,
    );
    let recon = block_on(decode(&model, &encoded.mu, 4, labels)).unwrap();
    assert_close("reconstruction", &recon, &floats(&fixture["recon"]), 1e-4);
    // The fixture's "neg_elbo" is PyTorch's reconstruction at z = μ plus KL.
    let score = block_on(score_at_mean(&model, &x, 4, labels, likelihood)).unwrap();
    assert_close("z = μ score", &score, &floats(&fixture["neg_elbo"]), 1e-4);

    let all = block_on(reconstruct(&model, &x, 4, labels, likelihood)).unwrap();
    assert_close(
        "reconstruct: mu",
        &all.encoded.mu,
        &floats(&fixture["mu"]),
        1e-4,
    );
    assert_close(
        "reconstruct: images",
        &all.images,
        &floats(&fixture["recon"]),
        1e-4,
    );
    assert_close(
        "reconstruct: z = μ score",
        &all.score_at_mean,
        &floats(&fixture["neg_elbo"]),
        1e-4,
    );

    // Gradients of the batch-mean −ELBO at PyTorch's ε.
    let tracked = model.train();
    let eps = upload(&floats(&fixture["eps"]), 4, 3, &device);
    let hot = labels.map(|l| one_hot(l, 4, &device).unwrap());
    let output = tracked.forward(upload(&x, 4, 784, &device), hot, Some(eps));
    let terms = loss(&output, upload(&x, 4, 784, &device), likelihood, 1.0);
    let total = block_on(read1(terms.total.clone())).unwrap()[0];
    assert_close(
        "loss",
        &[total],
        &[fixture["loss"].as_f64().unwrap() as f32],
        1e-4,
    );
    let grads = terms.total.backward();
    let layers = [
        ("fc1", &tracked.fc1),
        ("fc21", &tracked.fc21),
        ("fc22", tracked.fc22.as_ref().unwrap()),
        ("fc3", &tracked.fc3),
        ("fc4", &tracked.fc4),
    ];
    for (layer_name, layer) in layers {
        let weight = block_on(read(layer.weight.val().grad(&grads).unwrap().transpose())).unwrap();
        assert_close(
            &format!("∂{layer_name}.weight"),
            &weight,
            &floats(&fixture["grads"][format!("{layer_name}.weight")]),
            1e-4,
        );
        let bias = block_on(read1(
            layer.bias.as_ref().unwrap().val().grad(&grads).unwrap(),
        ))
        .unwrap();
        assert_close(
            &format!("∂{layer_name}.bias"),
            &bias,
            &floats(&fixture["grads"][format!("{layer_name}.bias")]),
            1e-4,
        );
    }
    if likelihood == Likelihood::Gaussian {
        let sigma = block_on(read1(tracked.log_sigma_x.val().grad(&grads).unwrap())).unwrap();
        assert_close(
            "∂log_sigma_x",
            &sigma,
            &floats(&fixture["grads"]["log_sigma_x"]),
            1e-4,
        );
    } else {
        assert!(fixture["grads"].get("log_sigma_x").is_none());
    }
}

#[test]
fn pytorch_vae_matches() {
    check("parity_vae", ModelKind::Vae, Likelihood::Bernoulli);
}

#[test]
fn pytorch_conditional_vae_matches() {
    check("parity_cvae", ModelKind::Conditional, Likelihood::Bernoulli);
}

/// The Gaussian likelihood with σ_x = 0.3 as a learnable parameter: its −log N keeps the
/// (D/2)·ln(2πσ_x²) term, and ∂/∂ ln σ_x matches too.
#[test]
fn pytorch_gaussian_vae_matches() {
    check("parity_vae_gaussian", ModelKind::Vae, Likelihood::Gaussian);
}
