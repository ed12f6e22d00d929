//! Animated walks through latent space: the point a walk is at after each frame. The page decodes
//! each point; the walks are deterministic given their seed and the frame times.
//!
//! Every path stays where the prior N(0, I) puts its mass. In d dimensions that is a thin shell of
//! radius ≈ √d, not the origin: at d = 20 a point with 18 coordinates at 0 is less likely than 3 in
//! 10 million prior draws, and the straight line between two prior draws dips to ~0.7 of their norm
//! halfway. So the circle keeps one prior draw in the directions off its plane, and the morph
//! interpolates direction and length separately.

use crate::error::{Result, VaeError};
use crate::rng::Rng;

/// Which path a walk follows.
#[derive(Debug, Clone, PartialEq)]
pub enum WalkPath {
    /// Around a circle of radius `radius` in the plane of two directions: `plane` (e.g. the map's
    /// axes; made orthonormal here) or else the first two dimensions. The other directions hold
    /// one fixed draw from the prior, so the walk stays on the prior's shell.
    Circle {
        radius: f32,
        plane: Option<[Vec<f32>; 2]>,
    },
    /// Back and forth between two points (a morph), easing at the ends. Spherical: the direction
    /// turns along the great circle between the ends and the length moves linearly between theirs.
    Between { from: Vec<f32>, to: Vec<f32> },
    /// A smooth random wander that stays near the prior: each dimension is a sum of three sines of
    /// random frequency and phase, with unit variance over time, so it roams where the decoder has
    /// seen data without the jitter of a Brownian path.
    Random,
}

impl WalkPath {
    /// The path a name asks for: "circle" (radius 1.5, in `plane` if given), "random", or
    /// "between" (which needs `from` and `to`).
    pub fn parse(
        name: &str,
        from: Option<Vec<f32>>,
        to: Option<Vec<f32>>,
        plane: Option<[Vec<f32>; 2]>,
    ) -> Result<Self> {
        match (name, from, to) {
            ("circle", _, _) => Ok(WalkPath::Circle {
                radius: CIRCLE_RADIUS,
                plane,
            }),
            ("random", _, _) => Ok(WalkPath::Random),
            ("between", Some(from), Some(to)) => Ok(WalkPath::Between { from, to }),
            ("between", _, _) => Err(VaeError::InvalidInput(
                "a \"between\" walk needs from and to".into(),
            )),
            (other, _, _) => Err(VaeError::InvalidInput(format!(
                "walk path must be \"circle\", \"random\" or \"between\", got \"{other}\""
            ))),
        }
    }
}

/// The circle's radius in its plane: in a 2-D space the ring holding 2/3 of the prior.
pub const CIRCLE_RADIUS: f32 = 1.5;

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
    /// For the circle: its orthonormal plane and the prior draw off that plane.
    circle: Option<Circle>,
}

#[derive(Debug, Clone)]
struct Circle {
    u: Vec<f64>,
    v: Vec<f64>,
    offset: Vec<f64>,
}

/// Sines per dimension of the random wander; amplitude √(2/3) each gives unit variance.
const SINES: usize = 3;

/// Seconds for one loop of a periodic path (or one random-walk correlation time) at speed 1.
const PERIOD: f64 = 6.0;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `a` less its component along the unit vector `u`.
fn reject(a: &mut [f64], u: &[f64]) {
    let along = dot(a, u);
    a.iter_mut().zip(u).for_each(|(x, y)| *x -= along * y);
}

fn unit(mut a: Vec<f64>, what: &str) -> Result<Vec<f64>> {
    let norm = dot(&a, &a).sqrt();
    if norm.is_nan() || norm <= 1e-6 {
        return Err(VaeError::InvalidInput(format!(
            "walk: the circle's {what} direction is zero or lies along the other"
        )));
    }
    a.iter_mut().for_each(|x| *x /= norm);
    Ok(a)
}

impl Circle {
    fn new(latent: usize, plane: Option<&[Vec<f32>; 2]>, rng: &mut Rng) -> Result<Self> {
        let axis = |k: usize| -> Vec<f64> { (0..latent).map(|j| (j == k) as u8 as f64).collect() };
        let (u, v) = match plane {
            Some([u, v]) => {
                for (name, d) in [("first", u), ("second", v)] {
                    if d.len() != latent || d.iter().any(|x| !x.is_finite()) {
                        return Err(VaeError::InvalidInput(format!(
                            "walk: the circle's {name} direction must be {latent} finite numbers"
                        )));
                    }
                }
                let u = unit(u.iter().map(|&x| x as f64).collect(), "first")?;
                let mut v: Vec<f64> = v.iter().map(|&x| x as f64).collect();
                reject(&mut v, &u);
                (u, unit(v, "second")?)
            }
            None if latent >= 2 => (axis(0), axis(1)),
            None => (axis(0), vec![0.0; latent]),
        };
        let mut offset: Vec<f64> = rng.normals(latent).iter().map(|&x| x as f64).collect();
        reject(&mut offset, &u);
        if latent >= 2 {
            reject(&mut offset, &v);
        }
        Ok(Self { u, v, offset })
    }
}

/// Spherical interpolation with the length moving linearly: at `w` the direction is `w` of the
/// way along the great circle from `a`'s to `b`'s, and the length (1 − w)|a| + w|b|. Straight
/// interpolation where a direction is undefined (an end at the origin, or opposite ends).
fn slerp(a: &[f32], b: &[f32], w: f64) -> Vec<f32> {
    let a: Vec<f64> = a.iter().map(|&x| x as f64).collect();
    let b: Vec<f64> = b.iter().map(|&x| x as f64).collect();
    let (na, nb) = (dot(&a, &a).sqrt(), dot(&b, &b).sqrt());
    let straight = || {
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x + (y - x) * w) as f32)
            .collect()
    };
    if na < 1e-6 || nb < 1e-6 {
        return straight();
    }
    let cos = (dot(&a, &b) / (na * nb)).clamp(-1.0, 1.0);
    let angle = cos.acos();
    if angle < 1e-4 || std::f64::consts::PI - angle < 1e-3 {
        return straight();
    }
    let (wa, wb) = (
        ((1.0 - w) * angle).sin() / angle.sin() / na,
        (w * angle).sin() / angle.sin() / nb,
    );
    let length = (1.0 - w) * na + w * nb;
    a.iter()
        .zip(&b)
        .map(|(x, y)| ((wa * x + wb * y) * length) as f32)
        .collect()
}

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
        let mut rng = Rng::new(seed);
        let circle = match &path {
            WalkPath::Circle { radius, plane } => {
                if !(radius.is_finite() && *radius > 0.0) {
                    return Err(VaeError::InvalidInput(format!(
                        "walk: radius must be positive, got {radius}"
                    )));
                }
                Some(Circle::new(latent, plane.as_ref(), &mut rng)?)
            }
            _ => None,
        };
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
            circle,
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
            WalkPath::Circle { radius, .. } => {
                let c = self.circle.as_ref().expect("a circle walk has its plane");
                let (x, y) = (*radius as f64 * angle.cos(), *radius as f64 * angle.sin());
                (0..self.latent)
                    .map(|j| (c.offset[j] + x * c.u[j] + y * c.v[j]) as f32)
                    .collect()
            }
            WalkPath::Between { from, to } => {
                // 0 → 1 → 0 over one period, easing in and out.
                slerp(from, to, 0.5 - 0.5 * angle.cos())
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
        let circle = || WalkPath::Circle {
            radius: 2.0,
            plane: None,
        };
        let mut flat = LatentWalk::new(circle(), 2, 1).unwrap();
        assert_eq!(flat.z(), &[2.0, 0.0]);
        let z = flat.advance(PERIOD / 4.0, 1.0).unwrap().to_vec();
        assert!(z[0].abs() < 1e-5 && (z[1] - 2.0).abs() < 1e-5, "{z:?}");
        // In 3-D the third coordinate holds a fixed prior draw while the first two circle.
        let mut round = LatentWalk::new(circle(), 3, 1).unwrap();
        let start = round.z().to_vec();
        assert_eq!(&start[..2], &[2.0, 0.0]);
        let z = round.advance(PERIOD / 4.0, 1.0).unwrap().to_vec();
        assert!(z[0].abs() < 1e-5 && (z[1] - 2.0).abs() < 1e-5 && z[2] == start[2] && z[2] != 0.0);

        let mut morph = LatentWalk::new(
            WalkPath::Between {
                from: vec![0.0, 0.0],
                to: vec![4.0, -2.0],
            },
            2,
            1,
        )
        .unwrap();
        // From the origin the direction is undefined: straight, reaching `to` halfway round.
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

    /// |z| of points of a `latent`-D walk over one period.
    fn norms(mut walk: LatentWalk) -> Vec<f32> {
        (0..60)
            .map(|_| {
                let z = walk.advance(PERIOD / 60.0, 1.0).unwrap();
                z.iter().map(|v| v * v).sum::<f32>().sqrt()
            })
            .collect()
    }

    #[test]
    fn in_twenty_dimensions_the_walks_stay_on_the_prior_shell() {
        // The central 98% of |z| under N(0, I₂₀): √χ²₂₀ between 2.94 and 6.07.
        let inside = |n: &f32| (2.94..=6.07).contains(n);
        let mut rng = Rng::new(11);
        let (a, b) = (rng.normals(20), rng.normals(20));
        let ends = |z: &[f32]| z.iter().map(|v| v * v).sum::<f32>().sqrt();
        let between = WalkPath::Between {
            from: a.clone(),
            to: b.clone(),
        };
        let morph = norms(LatentWalk::new(between, 20, 1).unwrap());
        let (lo, hi) = (ends(&a).min(ends(&b)), ends(&a).max(ends(&b)));
        assert!(
            morph.iter().all(|n| (lo - 1e-3..=hi + 1e-3).contains(n)),
            "the morph's length stays between its ends' ({lo}, {hi}): {morph:?}"
        );
        // A straight line would have dipped: its midpoint's length.
        let mid: Vec<f32> = a.iter().zip(&b).map(|(x, y)| 0.5 * (x + y)).collect();
        println!(
            "20-D morph: ends {lo:.2}, {hi:.2}; straight midpoint {:.2}",
            ends(&mid)
        );

        // The circle, in a plane given by two non-orthogonal directions, with every point on the
        // shell and its projection on the plane a circle of radius 1.5.
        let u: Vec<f32> = (0..20).map(|j| ((j * 7 % 5) as f32) - 2.0).collect();
        let v: Vec<f32> = (0..20).map(|j| ((j * 3 % 7) as f32) - 3.0).collect();
        let path = WalkPath::parse("circle", None, None, Some([u.clone(), v.clone()])).unwrap();
        let mut walk = LatentWalk::new(path, 20, 4).unwrap();
        let circle = walk.circle.clone().unwrap();
        for _ in 0..60 {
            let z: Vec<f64> = walk
                .advance(0.1, 1.0)
                .unwrap()
                .iter()
                .map(|&x| x as f64)
                .collect();
            let norm = dot(&z, &z).sqrt() as f32;
            assert!(inside(&norm), "|z| = {norm}");
            let (x, y) = (dot(&z, &circle.u), dot(&z, &circle.v));
            assert!(((x * x + y * y).sqrt() - 1.5).abs() < 1e-4);
        }
        let off: Vec<f64> = u.iter().map(|&x| x as f64).collect();
        assert!((dot(&circle.u, &off) / dot(&off, &off).sqrt() - 1.0).abs() < 1e-9);
        assert!(dot(&circle.u, &circle.v).abs() < 1e-9);
    }

    #[test]
    fn bad_walks_are_refused() {
        let circle = |radius, plane| WalkPath::Circle { radius, plane };
        assert!(LatentWalk::new(circle(f32::NAN, None), 2, 1).is_err());
        let flat = Some([vec![1.0, 0.0, 0.0], vec![2.0, 0.0, 0.0]]);
        assert!(LatentWalk::new(circle(1.5, flat), 3, 1).is_err());
        let short = Some([vec![1.0, 0.0], vec![0.0, 1.0]]);
        assert!(LatentWalk::new(circle(1.5, short), 3, 1).is_err());
        assert!(WalkPath::parse("spiral", None, None, None).is_err());
        assert!(WalkPath::parse("between", Some(vec![0.0]), None, None).is_err());
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
