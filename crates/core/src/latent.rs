//! Host-side views of latent codes the model has already produced: a 2-D projection for drawing
//! larger latent spaces flat (PCA), latent arithmetic, and the KL each dimension carries on average
//! (which shows dimensions switching off as β grows). Small dense loops: no tensors needed.

use crate::error::{Result, VaeError};
use crate::inference::check_rows;

/// A linear map from latent space to the plane of a map and back: `mean + x·axes[0] + y·axes[1]`.
/// For a 2-D latent space it is the identity, so the map shows z₁ and z₂ themselves.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub mean: Vec<f32>,
    pub axes: [Vec<f32>; 2],
    /// Share of the points' total variance along each axis (1 for a 2-D space's identity).
    pub explained: [f32; 2],
}

/// Most multiply-adds one [`Projection::pca`] may spend: ~0.2 s of WebAssembly, so building a map
/// never freezes the page, whatever the latent width (the covariance route cost n·dim², over 10¹⁰
/// for 1,000 points of a 4,096-wide space). Wide spaces get fewer refinement steps; the variance
/// shares reported are measured along the axes actually used, so the map's label stays exact.
pub const PCA_BUDGET: u64 = 200_000_000;
/// Refinement steps at most, for narrow spaces where the budget allows many.
const PCA_MAX_STEPS: usize = 300;
/// Refinement steps the budget must always leave room for: past `PCA_BUDGET / (2 + 5·this) / dim`
/// points, an evenly spaced subset of the points is used.
const PCA_MIN_STEPS: u64 = 4;

impl Projection {
    /// The plane of the two principal components of `n` points of `dim` values, by subspace
    /// iteration on the centred points themselves (the covariance matrix is never formed) from a
    /// fixed start, so the same points give the same map; at most [`PCA_BUDGET`] multiply-adds.
    pub fn pca(points: &[f32], n: usize, dim: usize) -> Result<Self> {
        Ok(Self::pca_counted(points, n, dim)?.0)
    }

    /// [`Self::pca`], and the multiply-adds it spent.
    pub fn pca_counted(points: &[f32], n: usize, dim: usize) -> Result<(Self, u64)> {
        check_rows("points", points, n, dim)?;
        if dim < 2 {
            return Err(VaeError::InvalidInput(
                "a 2-D map needs at least two latent dimensions".into(),
            ));
        }
        if dim == 2 {
            let identity = Self {
                mean: vec![0.0; 2],
                axes: [vec![1.0, 0.0], vec![0.0, 1.0]],
                explained: [1.0, 1.0],
            };
            return Ok((identity, 0));
        }
        let most_rows = (PCA_BUDGET / ((2 + 5 * PCA_MIN_STEPS) * dim as u64)).max(1) as usize;
        let data = Centred::new(points, dim, n.div_ceil(most_rows));
        let mut work = 2 * (data.n * dim) as u64; // the mean and the total variance
        let per_step = data.cost();
        let steps =
            (PCA_BUDGET.saturating_sub(work) / per_step).clamp(1, PCA_MAX_STEPS as u64) as usize;
        let mut basis = orthonormal([
            (0..dim).map(|i| 1.0 + 0.01 * i as f64).collect(),
            (0..dim)
                .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 } * (1.0 + 0.02 * i as f64))
                .collect(),
        ]);
        for _ in 0..steps.saturating_sub(1) {
            let next = orthonormal(data.covariance_times(&basis));
            work += per_step;
            let change: f64 = (0..2).map(|k| 1.0 - dot(&next[k], &basis[k]).abs()).sum();
            basis = next;
            if change < 1e-13 {
                break;
            }
        }
        // Rayleigh–Ritz: the best pair of axes within the plane found, ordered by variance.
        let images = data.covariance_times(&basis);
        work += per_step;
        let (a, b, c) = (
            dot(&basis[0], &images[0]),
            dot(&basis[0], &images[1]),
            dot(&basis[1], &images[1]),
        );
        let angle = 0.5 * (2.0 * b).atan2(a - c);
        let (cos, sin) = (angle.cos(), angle.sin());
        let axes = [
            combine(cos, &basis[0], sin, &basis[1]),
            combine(-sin, &basis[0], cos, &basis[1]),
        ];
        let variances = [
            a * cos * cos + 2.0 * b * sin * cos + c * sin * sin,
            a * sin * sin - 2.0 * b * sin * cos + c * cos * cos,
        ];
        let share = |v: f64| {
            if data.total > 0.0 {
                (v / data.total) as f32
            } else {
                0.0
            }
        };
        let projection = Self {
            mean: to_f32(&data.mean),
            axes: axes.map(|axis| to_f32(&with_positive_peak(axis))),
            explained: variances.map(share),
        };
        Ok((projection, work))
    }

    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Map coordinates of `n` points (`n × dim` values): `n × 2` values.
    pub fn project(&self, points: &[f32], n: usize) -> Result<Vec<f32>> {
        check_rows("points", points, n, self.dim())?;
        let mut out = Vec::with_capacity(2 * n);
        for row in points.chunks_exact(self.dim()) {
            for axis in &self.axes {
                out.push(
                    row.iter()
                        .zip(&self.mean)
                        .zip(axis)
                        .map(|((v, m), a)| (v - m) * a)
                        .sum(),
                );
            }
        }
        Ok(out)
    }

    /// The latent point at map coordinates (x, y).
    pub fn lift(&self, x: f32, y: f32) -> Result<Vec<f32>> {
        if !(x.is_finite() && y.is_finite()) {
            return Err(VaeError::InvalidInput(
                "map coordinates must be finite".into(),
            ));
        }
        Ok((0..self.dim())
            .map(|j| self.mean[j] + x * self.axes[0][j] + y * self.axes[1][j])
            .collect())
    }
}

impl Projection {
    /// A full latent point under map coordinates (x, y) of a space wider than the map. Fixing the
    /// directions off the map at the codes' mean (what [`Self::lift`] does) lands far from every
    /// code: at latent 20 the mean is near the origin, off the shell the codes lie on, and decodes
    /// a blur. Instead the point takes its off-map part from the codes drawn near (x, y): a
    /// Gaussian-kernel weighted mean of the `n` codes (`codes`, n × dim; `coords`, their n × 2 map
    /// coordinates) as wide as the distance to the nearest one, so a point on a code decodes that
    /// code and a point between codes blends the few nearest; its on-map part is (x, y) exactly.
    /// In 2-D this is (x, y) itself.
    pub fn lift_near(
        &self,
        x: f32,
        y: f32,
        codes: &[f32],
        coords: &[f32],
        n: usize,
    ) -> Result<Vec<f32>> {
        let exact = self.lift(x, y)?;
        let dim = self.dim();
        if dim == 2 {
            return Ok(exact);
        }
        check_rows("codes", codes, n, dim)?;
        check_rows("coords", coords, n, 2)?;
        let d2: Vec<f64> = coords
            .chunks_exact(2)
            .map(|c| ((c[0] - x) as f64).powi(2) + ((c[1] - y) as f64).powi(2))
            .collect();
        let nearest = d2.iter().copied().fold(f64::INFINITY, f64::min);
        let width2 = nearest.max(1e-6); // never narrower than a hair
        // Weights relative to the nearest code's, so far-off points do not underflow to 0 / 0.
        let weights: Vec<f64> = d2
            .iter()
            .map(|d| (-(d - nearest) / (2.0 * width2)).exp())
            .collect();
        let total: f64 = weights.iter().sum();
        let mut blend = vec![0.0f64; dim];
        for (code, w) in codes.chunks_exact(dim).zip(&weights) {
            for (b, &c) in blend.iter_mut().zip(code) {
                *b += w * c as f64 / total;
            }
        }
        // Keep the blend's off-map part; put its on-map part at (x, y).
        let blend: Vec<f32> = blend.iter().map(|&v| v as f32).collect();
        let at = self.project(&blend, 1)?;
        let on_map = self.lift(at[0], at[1])?;
        Ok((0..dim).map(|j| blend[j] - on_map[j] + exact[j]).collect())
    }
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `p·u + q·v`.
fn combine(p: f64, u: &[f64], q: f64, v: &[f64]) -> Vec<f64> {
    u.iter().zip(v).map(|(a, b)| p * a + q * b).collect()
}

/// Gram–Schmidt on two vectors (a vanishing one is replaced by a fixed unit vector).
fn orthonormal([u, v]: [Vec<f64>; 2]) -> [Vec<f64>; 2] {
    let unit = |mut w: Vec<f64>, fallback: usize| {
        let norm = dot(&w, &w).sqrt();
        if norm < 1e-30 {
            w.iter_mut()
                .enumerate()
                .for_each(|(i, x)| *x = f64::from(i == fallback));
        } else {
            w.iter_mut().for_each(|x| *x /= norm);
        }
        w
    };
    let u = unit(u, 0);
    let along = dot(&u, &v);
    let v = unit(combine(1.0, &v, -along, &u), 1);
    let along = dot(&u, &v); // the fallback may not be orthogonal to u
    let v = unit(combine(1.0, &v, -along, &u), 2);
    [u, v]
}

/// Its sign flipped, if need be, so that its largest component is positive.
fn with_positive_peak(v: Vec<f64>) -> Vec<f64> {
    let peak = v
        .iter()
        .copied()
        .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
    if peak < 0.0 {
        v.iter().map(|x| -x).collect()
    } else {
        v
    }
}

/// Every `stride`-th of some points of `dim` values, seen as centred on their mean, without
/// copying them.
struct Centred<'a> {
    points: &'a [f32],
    stride: usize,
    /// How many points are used.
    n: usize,
    dim: usize,
    mean: Vec<f64>,
    /// Total variance (the covariance's trace).
    total: f64,
}

impl<'a> Centred<'a> {
    fn new(points: &'a [f32], dim: usize, stride: usize) -> Self {
        let rows = || points.chunks_exact(dim).step_by(stride);
        let n = rows().count();
        let mut mean = vec![0.0f64; dim];
        for row in rows() {
            mean.iter_mut().zip(row).for_each(|(m, &x)| *m += x as f64);
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let total = rows()
            .map(|row| {
                row.iter()
                    .zip(&mean)
                    .map(|(&x, m)| (x as f64 - m).powi(2))
                    .sum::<f64>()
            })
            .sum::<f64>()
            / n as f64;
        Self {
            points,
            stride,
            n,
            dim,
            mean,
            total,
        }
    }

    /// Multiply-adds of one [`Self::covariance_times`].
    fn cost(&self) -> u64 {
        5 * (self.n * self.dim) as u64
    }

    /// The covariance matrix times each of two vectors: (1/n) Σ_r c_r (c_r · v), c_r = x_r − mean.
    fn covariance_times(&self, vs: &[Vec<f64>; 2]) -> [Vec<f64>; 2] {
        let mut out = [vec![0.0f64; self.dim], vec![0.0f64; self.dim]];
        let mut centred = vec![0.0f64; self.dim];
        for row in self.points.chunks_exact(self.dim).step_by(self.stride) {
            centred
                .iter_mut()
                .zip(row)
                .zip(&self.mean)
                .for_each(|((c, &x), m)| *c = x as f64 - m);
            for (v, o) in vs.iter().zip(out.iter_mut()) {
                let along = dot(&centred, v) / self.n as f64;
                o.iter_mut()
                    .zip(&centred)
                    .for_each(|(o, c)| *o += along * c);
            }
        }
        out
    }
}

/// Latent arithmetic z(a) − z(b) + z(c): "a is to b as ? is to c" in the decoder's terms.
pub fn arithmetic(a: &[f32], b: &[f32], c: &[f32]) -> Result<Vec<f32>> {
    check_rows("a", a, 1, a.len().max(1))?;
    check_rows("b", b, 1, a.len())?;
    check_rows("c", c, 1, a.len())?;
    Ok(a.iter()
        .zip(b)
        .zip(c)
        .map(|((a, b), c)| a - b + c)
        .collect())
}

/// Mean over `n` digits of each latent dimension's KL(N(μ, σ²) ‖ N(0, 1)) in nats, from the μ and
/// log σ² the encoder gave (`n × dim` each). Dimensions near 0 are unused by the model.
pub fn mean_kl_per_dimension(mu: &[f32], logvar: &[f32], n: usize, dim: usize) -> Result<Vec<f32>> {
    check_rows("mu", mu, n, dim)?;
    check_rows("logvar", logvar, n, dim)?;
    let mut sums = vec![0.0f64; dim];
    for (m, l) in mu.chunks_exact(dim).zip(logvar.chunks_exact(dim)) {
        for j in 0..dim {
            let (m, l) = (m[j] as f64, l[j] as f64);
            sums[j] += 0.5 * (l.exp() + m * m - 1.0 - l);
        }
    }
    Ok(sums.iter().map(|s| (s / n as f64) as f32).collect())
}

/// Radius of the circle that holds 95% of a 2-D standard normal's mass: r² is the χ²₂ quantile
/// −2·ln 0.05, so r = 2.4477.
pub fn prior_circle_radius_95() -> f64 {
    (-2.0 * 0.05f64.ln()).sqrt()
}

/// The share (0 to 1) of 2-D points (`coords`: x, y pairs) that fall inside the prior's 95% circle:
/// about 0.95 for codes that follow N(0, I), far less for an autoencoder's sprawl.
pub fn share_inside_prior_circle(coords: &[f32]) -> Result<f64> {
    if coords.is_empty() || !coords.len().is_multiple_of(2) {
        return Err(VaeError::InvalidInput(format!(
            "coords: expected x, y pairs, got {} numbers",
            coords.len()
        )));
    }
    crate::inference::check_finite("coords", coords)?;
    let r2 = prior_circle_radius_95().powi(2);
    let inside = coords
        .chunks_exact(2)
        .filter(|p| (p[0] as f64).powi(2) + (p[1] as f64).powi(2) < r2)
        .count();
    Ok(inside as f64 / (coords.len() / 2) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn pca_finds_the_planted_plane() {
        // Points spread 3 and 2 along two chosen orthonormal directions of a 5-D space, 0.05 elsewhere.
        let u = [0.6f32, 0.8, 0.0, 0.0, 0.0];
        let v = [0.0f32, 0.0, 0.0, 1.0, 0.0];
        let mut rng = Rng::new(4);
        let n = 2000;
        let mut points = Vec::new();
        for _ in 0..n {
            let (a, b) = (3.0 * rng.normal(), 2.0 * rng.normal());
            for j in 0..5 {
                points.push(1.0 + a * u[j] + b * v[j] + 0.05 * rng.normal());
            }
        }
        let p = Projection::pca(&points, n, 5).unwrap();
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
        assert!(dot(&p.axes[0], &u).abs() > 0.999, "{:?}", p.axes[0]);
        assert!(dot(&p.axes[1], &v).abs() > 0.999, "{:?}", p.axes[1]);
        assert!(dot(&p.axes[0], &p.axes[1]).abs() < 1e-3);
        assert!(
            (p.explained[0] - 9.0 / 13.0).abs() < 0.03,
            "{:?}",
            p.explained
        );
        assert!(p.mean.iter().all(|m| (m - 1.0).abs() < 0.2));
        // Lifting a projected point lands back on the plane through the mean.
        let xy = p.project(&points[..5], 1).unwrap();
        let back = p.lift(xy[0], xy[1]).unwrap();
        let again = p.project(&back, 1).unwrap();
        assert!((again[0] - xy[0]).abs() < 1e-4 && (again[1] - xy[1]).abs() < 1e-4);
    }

    /// 1,000 points of a 4,096-wide latent space (a file a person may upload): the map is built
    /// within the budget (the covariance route needed ~10¹⁰ multiply-adds: tens of seconds of a
    /// frozen page) and still finds a clear plane.
    #[test]
    fn pca_of_a_wide_space_stays_within_its_budget() {
        let (n, dim) = (1000, 4096);
        let mut rng = Rng::new(9);
        let mut points = Vec::with_capacity(n * dim);
        for _ in 0..n {
            let (a, b) = (3.0 * rng.normal(), 2.0 * rng.normal());
            let mut row: Vec<f32> = (0..dim).map(|_| 0.05 * rng.normal()).collect();
            row[10] += a;
            row[4000] += b;
            points.extend(row);
        }
        let (p, work) = Projection::pca_counted(&points, n, dim).unwrap();
        assert!(work <= PCA_BUDGET, "{work} multiply-adds");
        assert!(p.axes[0][10].abs() > 0.99, "{}", p.axes[0][10]);
        assert!(p.axes[1][4000].abs() > 0.99, "{}", p.axes[1][4000]);
        let total = 9.0 + 4.0 + dim as f32 * 0.0025;
        assert!(
            (p.explained[0] - 9.0 / total).abs() < 0.03,
            "{:?}",
            p.explained
        );
        assert_eq!(
            Projection::pca(&points, n, dim).unwrap(),
            p,
            "the same points give the same map"
        );
        // The most points the bindings accept, at the widest latent: still within the budget.
        let many = 16_384;
        let big: Vec<f32> = (0..many * dim)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
            .collect();
        let (_, work) = Projection::pca_counted(&big, many, dim).unwrap();
        assert!(work <= PCA_BUDGET, "{work} multiply-adds for {many} points");
    }

    #[test]
    fn two_dimensions_map_to_themselves() {
        let p = Projection::pca(&[1.0, 2.0, -3.0, 4.0], 2, 2).unwrap();
        assert_eq!(p.project(&[0.5, -1.5], 1).unwrap(), vec![0.5, -1.5]);
        assert_eq!(p.lift(0.25, 2.0).unwrap(), vec![0.25, 2.0]);
        assert!(Projection::pca(&[1.0, 2.0], 2, 1).is_err());
        assert!(p.project(&[1.0], 1).is_err());
    }

    #[test]
    fn arithmetic_and_kl() {
        assert_eq!(
            arithmetic(&[1.0, 2.0], &[0.5, 0.5], &[0.0, -1.0]).unwrap(),
            vec![0.5, 0.5]
        );
        assert!(arithmetic(&[1.0, 2.0], &[0.5], &[0.0, 1.0]).is_err());
        assert!(arithmetic(&[f32::NAN, 2.0], &[0.5, 0.0], &[0.0, 1.0]).is_err());
        // μ = 0, log σ² = 0 costs nothing; μ = 1 costs ½; log σ² = 1 costs ½(e − 2).
        let kl = mean_kl_per_dimension(&[0.0, 1.0, 0.0, 1.0], &[0.0, 0.0, 1.0, 0.0], 2, 2).unwrap();
        assert!(
            (kl[0] - 0.25 * (std::f32::consts::E - 2.0)).abs() < 1e-6,
            "{kl:?}"
        );
        assert!((kl[1] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn a_zero_wide_latent_space_is_refused_not_a_panic() {
        let error = mean_kl_per_dimension(&[], &[], 1, 0).unwrap_err();
        assert!(error.to_string().contains("width"), "{error}");
        assert!(Projection::pca(&[], 1, 0).is_err());
    }
}
