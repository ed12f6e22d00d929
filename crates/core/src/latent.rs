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

impl Projection {
    /// The two principal components of `n` points of `dim` values (power iteration with
    /// deflation on the covariance, from a fixed start, so the same points give the same map).
    pub fn pca(points: &[f32], n: usize, dim: usize) -> Result<Self> {
        check_rows("points", points, n, dim)?;
        if dim < 2 {
            return Err(VaeError::InvalidInput(
                "a 2-D map needs at least two latent dimensions".into(),
            ));
        }
        if dim == 2 {
            return Ok(Self {
                mean: vec![0.0; 2],
                axes: [vec![1.0, 0.0], vec![0.0, 1.0]],
                explained: [1.0, 1.0],
            });
        }
        let rows = || points.chunks_exact(dim);
        let mean: Vec<f64> = (0..dim)
            .map(|j| rows().map(|r| r[j] as f64).sum::<f64>() / n as f64)
            .collect();
        let mut cov = vec![0.0f64; dim * dim];
        for row in rows() {
            let centred: Vec<f64> = row.iter().zip(&mean).map(|(&v, m)| v as f64 - m).collect();
            for (i, ci) in centred.iter().enumerate() {
                for (j, cj) in centred.iter().enumerate() {
                    cov[i * dim + j] += ci * cj / n as f64;
                }
            }
        }
        let total: f64 = (0..dim).map(|i| cov[i * dim + i]).sum();
        let first = principal_axis(&cov, dim);
        let first_var = rayleigh(&cov, dim, &first);
        // Deflate: remove the first component's variance, then find the next.
        for i in 0..dim {
            for j in 0..dim {
                cov[i * dim + j] -= first_var * first[i] * first[j];
            }
        }
        let second = principal_axis(&cov, dim);
        let second_var = rayleigh(&cov, dim, &second);
        let share = |v: f64| if total > 0.0 { (v / total) as f32 } else { 0.0 };
        Ok(Self {
            mean: mean.iter().map(|&m| m as f32).collect(),
            axes: [to_f32(&first), to_f32(&second)],
            explained: [share(first_var), share(second_var)],
        })
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

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

fn multiply(matrix: &[f64], dim: usize, v: &[f64]) -> Vec<f64> {
    (0..dim)
        .map(|i| (0..dim).map(|j| matrix[i * dim + j] * v[j]).sum())
        .collect()
}

fn rayleigh(matrix: &[f64], dim: usize, v: &[f64]) -> f64 {
    multiply(matrix, dim, v)
        .iter()
        .zip(v)
        .map(|(a, b)| a * b)
        .sum()
}

/// The unit eigenvector of the largest eigenvalue of a symmetric positive semi-definite matrix,
/// its sign fixed so that its largest component is positive.
fn principal_axis(matrix: &[f64], dim: usize) -> Vec<f64> {
    let mut v: Vec<f64> = (0..dim).map(|i| 1.0 + 0.01 * i as f64).collect();
    for _ in 0..500 {
        let next = multiply(matrix, dim, &v);
        let norm = next.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm < 1e-30 {
            break;
        }
        let next: Vec<f64> = next.iter().map(|x| x / norm).collect();
        let change: f64 = next.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
        v = next;
        if change < 1e-12 {
            break;
        }
    }
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-30);
    let biggest = v
        .iter()
        .copied()
        .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
    let sign = if biggest < 0.0 { -1.0 } else { 1.0 };
    v.iter().map(|x| sign * x / norm).collect()
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
