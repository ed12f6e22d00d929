//! Animated walks through latent space: the point a walk is at after each frame. The page decodes
//! each point; the walks are deterministic given their seed and the frame times.

use crate::error::{Result, VaeError};
use crate::rng::Rng;

/// Which path a walk follows.
#[derive(Debug, Clone, PartialEq)]
pub enum WalkPath {
    /// Around the circle of radius `radius` in the plane of the first two dimensions.
    Circle { radius: f32 },
    /// Back and forth between two points (a morph), easing at the ends.
    Between { from: Vec<f32>, to: Vec<f32> },
    /// A smooth random wander that stays near the prior: each dimension is a sum of three sines of
    /// random frequency and phase, with unit variance over time, so it roams where the decoder has
    /// seen data without the jitter of a Brownian path.
    Random,
}

/// A walk in a `latent`-dimensional space.
#[derive(Debug, Clone)]
pub struct LatentWalk {
    path: WalkPath,
    latent: usize,
    /// Seconds walked (at speed 1).
    time: f64,
    z: Vec<f32>,
    /// For the random wander: (angular frequency, phase) of each sine, three per dimension.
    sines: Vec<(f64, f64)>,
}

/// Sines per dimension of the random wander; amplitude √(2/3) each gives unit variance.
const SINES: usize = 3;

/// Seconds for one loop of a periodic path (or one random-walk correlation time) at speed 1.
const PERIOD: f64 = 6.0;

impl LatentWalk {
    pub fn new(path: WalkPath, latent: usize, seed: u64) -> Result<Self> {
        if latent == 0 {
            return Err(VaeError::InvalidInput(
                "a walk needs at least one latent dimension".into(),
            ));
        }
        if let WalkPath::Between { from, to } = &path {
            for (name, point) in [("from", from), ("to", to)] {
                if point.len() != latent || point.iter().any(|v| !v.is_finite()) {
                    return Err(VaeError::InvalidInput(format!(
                        "walk: {name} must be {latent} finite numbers"
                    )));
                }
            }
        }
        if let WalkPath::Circle { radius } = path
            && !(radius.is_finite() && radius > 0.0)
        {
            return Err(VaeError::InvalidInput(format!(
                "walk: radius must be positive, got {radius}"
            )));
        }
        let mut rng = Rng::new(seed);
        let base = std::f64::consts::TAU / PERIOD;
        let sines = (0..latent * SINES)
            .map(|_| {
                (
                    base * (0.5 + rng.uniform()),
                    std::f64::consts::TAU * rng.uniform(),
                )
            })
            .collect();
        let mut walk = Self {
            path,
            latent,
            time: 0.0,
            z: vec![0.0; latent],
            sines,
        };
        walk.z = walk.point();
        Ok(walk)
    }

    /// The current point.
    pub fn z(&self) -> &[f32] {
        &self.z
    }

    /// Moves the walk on by `seconds × speed` and returns the new point.
    pub fn advance(&mut self, seconds: f64, speed: f64) -> Result<&[f32]> {
        let dt = seconds * speed;
        if !(dt.is_finite() && (0.0..=10.0 * PERIOD).contains(&dt)) {
            return Err(VaeError::InvalidInput(format!(
                "walk: step of {seconds} s at speed {speed} is out of range"
            )));
        }
        self.time += dt;
        self.z = self.point();
        Ok(&self.z)
    }

    fn point(&self) -> Vec<f32> {
        let angle = (self.time / PERIOD).fract() * std::f64::consts::TAU;
        match &self.path {
            WalkPath::Circle { radius } => {
                let mut z = vec![0.0; self.latent];
                z[0] = radius * angle.cos() as f32;
                if self.latent > 1 {
                    z[1] = radius * angle.sin() as f32;
                }
                z
            }
            WalkPath::Between { from, to } => {
                // 0 → 1 → 0 over one period, easing in and out.
                let w = (0.5 - 0.5 * angle.cos()) as f32;
                from.iter().zip(to).map(|(a, b)| a + (b - a) * w).collect()
            }
            WalkPath::Random => {
                let amplitude = (2.0 / SINES as f64).sqrt();
                self.sines
                    .chunks(SINES)
                    .map(|dim| {
                        dim.iter()
                            .map(|(w, p)| amplitude * (w * self.time + p).sin())
                            .sum::<f64>() as f32
                    })
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circle_and_morph_follow_their_paths() {
        let mut circle = LatentWalk::new(WalkPath::Circle { radius: 2.0 }, 3, 1).unwrap();
        assert_eq!(circle.z(), &[2.0, 0.0, 0.0]);
        let z = circle.advance(PERIOD / 4.0, 1.0).unwrap().to_vec();
        assert!(
            (z[0]).abs() < 1e-5 && (z[1] - 2.0).abs() < 1e-5 && z[2] == 0.0,
            "{z:?}"
        );

        let mut morph = LatentWalk::new(
            WalkPath::Between {
                from: vec![0.0, 0.0],
                to: vec![4.0, -2.0],
            },
            2,
            1,
        )
        .unwrap();
        let half = morph.advance(PERIOD / 2.0, 1.0).unwrap().to_vec();
        assert!(
            (half[0] - 4.0).abs() < 1e-5 && (half[1] + 2.0).abs() < 1e-5,
            "{half:?}"
        );
        let back = morph.advance(PERIOD / 4.0, 2.0).unwrap().to_vec();
        assert!(back.iter().all(|v| v.abs() < 1e-5), "{back:?}");
    }

    #[test]
    fn random_walk_keeps_the_prior_and_moves_smoothly() {
        let mut walk = LatentWalk::new(WalkPath::Random, 2, 3).unwrap();
        let (mut sum_sq, mut max_step, n) = (0.0f64, 0.0f32, 20_000);
        let mut last = walk.z().to_vec();
        for _ in 0..n {
            let z = walk.advance(1.0 / 60.0, 1.0).unwrap().to_vec();
            sum_sq += z.iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
            max_step = max_step.max(
                z.iter()
                    .zip(&last)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max),
            );
            last = z;
        }
        let variance = sum_sq / (2 * n) as f64;
        assert!(
            (variance - 1.0).abs() < 0.3,
            "stationary variance {variance}"
        );
        assert!(max_step < 0.5, "a 60 fps frame jumped by {max_step}");
    }

    #[test]
    fn bad_walks_are_refused() {
        assert!(LatentWalk::new(WalkPath::Circle { radius: f32::NAN }, 2, 1).is_err());
        assert!(
            LatentWalk::new(
                WalkPath::Between {
                    from: vec![0.0],
                    to: vec![1.0, 2.0]
                },
                2,
                1
            )
            .is_err()
        );
        let mut walk = LatentWalk::new(WalkPath::Random, 2, 1).unwrap();
        assert!(walk.advance(f64::INFINITY, 1.0).is_err());
        assert!(walk.advance(0.1, -1.0).is_err());
    }
}
