//! The latent-20 map decodes what is under the cursor: a point picked at a test digit's place on
//! the map decodes to an image that explains that digit nearly as well as the digit's own code.

use crate::common;

use common::{block_on, device, repo_path};
use vae_core::data::Digits;
use vae_core::inference::{decode, encode, read1, upload};
use vae_core::latent::Projection;
use vae_core::loss::{Likelihood, reconstruction};
use vae_core::model::PIXELS;
use vae_core::weights::read_safetensors;

#[test]
fn a_point_picked_on_a_test_digit_decodes_close_to_that_digit() {
    let dev = device();
    let model =
        read_safetensors(&std::fs::read(repo_path("web/assets/vae-latent20.safetensors")).unwrap())
            .unwrap()
            .to_model(&dev);
    let digits = Digits::read_gz(&repo_path("web/assets/digits.bin.gz")).unwrap();
    let test = digits.test_indices();
    let (pixels, _) = digits.batch(&test);
    let n = test.len();
    let mu = block_on(encode(&model, &pixels, n, None)).unwrap().mu;
    let projection = Projection::pca(&mu, n, 20).unwrap();
    let coords = projection.project(&mu, n).unwrap();

    // −log p(x_i|z) of the first `picked` digits for one z each.
    let picked = 200;
    let recon_of = |z: &[f32]| -> Vec<f32> {
        let x = upload(&pixels[..picked * PIXELS], picked, PIXELS, &dev);
        let logits = model.decode_logits(upload(z, picked, 20, &dev), None);
        let log_sigma = model.log_sigma_x.val(); // not used by the Bernoulli likelihood
        block_on(read1(reconstruction(
            logits,
            x,
            Likelihood::Bernoulli,
            log_sigma,
        )))
        .unwrap()
    };
    let own = recon_of(&mu[..picked * 20]);
    let (mut near, mut at_mean) = (Vec::new(), Vec::new());
    // A click lands a little off the dot: 0.03 map units (the dots are ~0.1 wide) in a direction
    // that turns with i.
    for i in 0..picked {
        let turn = i as f32 * 2.4;
        let (x, y) = (
            coords[2 * i] + 0.03 * turn.cos(),
            coords[2 * i + 1] + 0.03 * turn.sin(),
        );
        near.extend(projection.lift_near(x, y, &mu, &coords, n).unwrap());
        at_mean.extend(projection.lift(x, y).unwrap());
        // Either way the picked point lands where it was picked.
        let back = projection.project(&near[i * 20..], 1).unwrap();
        assert!((back[0] - x).abs() < 1e-4 && (back[1] - y).abs() < 1e-4);
    }
    // Is the decoded image the same digit? The label of the test digit nearest to it in pixels.
    let (_, labels) = digits.batch(&test);
    let same_digit = |z: &[f32]| -> f64 {
        let images = block_on(decode(&model, z, picked, None)).unwrap();
        let hits = images
            .chunks_exact(PIXELS)
            .enumerate()
            .filter(|(i, image)| {
                let nearest = pixels
                    .chunks_exact(PIXELS)
                    .enumerate()
                    .filter(|(j, _)| j != i)
                    .map(|(j, x)| {
                        let d: f32 = x.iter().zip(*image).map(|(a, b)| (a - b) * (a - b)).sum();
                        (d, j)
                    })
                    .min_by(|a, b| a.0.total_cmp(&b.0))
                    .unwrap()
                    .1;
                labels[nearest] == labels[*i]
            })
            .count();
        hits as f64 / picked as f64
    };
    let same_own = same_digit(&mu[..picked * 20]);
    let (same_near, same_at_mean) = (same_digit(&near), same_digit(&at_mean));
    println!(
        "decoded image nearest to a test digit of the picked digit's class: own μ {:.0}%, lifted by \
         nearby codes {:.0}%, other directions at the mean {:.0}%",
        100.0 * same_own,
        100.0 * same_near,
        100.0 * same_at_mean
    );
    assert!(
        same_near > same_at_mean + 0.1,
        "{same_near} vs {same_at_mean}"
    );

    assert!(
        projection
            .lift_near(0.0, 0.0, &mu[..40], &coords, n)
            .is_err()
    );

    let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
    let (own, near, at_mean) = (
        mean(&own),
        mean(&recon_of(&near)),
        mean(&recon_of(&at_mean)),
    );
    println!(
        "{picked} test digits, −log p(x|z) in nats: own μ {own:.1}; picked on the map and lifted by the \
         nearby codes {near:.1} ({:.2}×); other directions at the mean {at_mean:.1} ({:.2}×)",
        near / own,
        at_mean / own
    );
    assert!(
        near < 1.6 * own,
        "lifted by nearby codes: {near} against {own}"
    );
    assert!(near < 0.75 * at_mean, "{near} vs {at_mean}");
}
