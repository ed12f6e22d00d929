//! Native benchmark of the core operations the page times in the browser (bench/run.mjs), on every
//! CPU backend this build holds: `cargo bench -p vae-core --features ndarray` compares burn-flex
//! with burn-ndarray. The model is the benchmark's 784-400-20 VAE; the data the shipped digits.

use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use vae_core::VaeConfig;
use vae_core::backend::CpuBackend;
use vae_core::data::Digits;
use vae_core::inference::{decode, encode};
use vae_core::training::{TrainConfig, Trainer};

const BATCH: usize = 128;

fn digits() -> Digits {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/assets/digits.bin.gz");
    Digits::read_gz(&path).expect("the shipped digits")
}

fn core_ops(c: &mut Criterion) {
    let digits = digits();
    let train = digits.train_indices();
    let x = digits.image(digits.test_indices()[0]);
    let z: Vec<f32> = (0..16 * 20)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();

    let mut group = c.benchmark_group("train step (784-400-20, batch 128)");
    group.throughput(Throughput::Elements(BATCH as u64));
    for backend in CpuBackend::available() {
        let device = backend.device().expect("listed backends exist");
        let mut trainer = Trainer::new(VaeConfig::new().init(&device), 1);
        let mut start = 0;
        group.bench_function(BenchmarkId::from_parameter(backend.name()), |b| {
            b.iter(|| {
                let indices = &train[start..start + BATCH];
                start = (start + BATCH) % (train.len() - BATCH);
                pollster::block_on(trainer.step_on(&digits, indices, &TrainConfig::new()))
                    .expect("a finite step")
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("inference (784-400-20)");
    for backend in CpuBackend::available() {
        let device = backend.device().expect("listed backends exist");
        let model = VaeConfig::new().init(&device);
        group.bench_function(
            BenchmarkId::new("encode+decode one digit", backend.name()),
            |b| {
                b.iter(|| {
                    let mu = pollster::block_on(encode(&model, &x, 1, None))
                        .expect("encode")
                        .mu;
                    pollster::block_on(decode(&model, &mu, 1, None)).expect("decode")
                })
            },
        );
        group.bench_function(
            BenchmarkId::new("decode 16 points (walk frame)", backend.name()),
            |b| b.iter(|| pollster::block_on(decode(&model, &z, 16, None)).expect("decode")),
        );
    }
    group.finish();
}

criterion_group!(benches, core_ops);
criterion_main!(benches);
