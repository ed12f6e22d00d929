//! vae-core's integration tests, in one test binary: each file below was a binary of its own, and
//! every one of them linked burn's generic code again (one binary builds in a fraction of the
//! time, and its tests share the cores instead of running one binary after another). Tests that
//! draw initial weights go through `common::seeded_init`, which holds the device's generator while
//! it draws, so tests of different files running in parallel stay reproducible.

mod common;

mod aae;
mod bounds;
mod hvae;
mod map;
mod math;
mod parity;
mod session;
mod training;
mod vrae;
mod weights;
