//! Latent-space helpers the views use: prior draws, walks, arithmetic, per-dimension KL and the
//! map's projection.

use vae_core::VaeConfig;
use vae_core::inference::MAX_ROWS;
use wasm_bindgen::prelude::*;

use crate::args;
use crate::marshal::js_error;

/// `n` draws from N(0, 1), reproducible from `seed`: latent points from the prior.
#[wasm_bindgen(js_name = standardNormal)]
pub fn standard_normal(
    #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
) -> Result<Vec<f32>, JsError> {
    let n = args::count("n", &n, 1, 1 << 24)?; // 64 MB of floats
    let seed = args::seed("seed", &seed)?;
    Ok(vae_core::rng::Rng::new(seed).normals(n))
}

/// An animated walk through latent space; the page decodes `advance`'s point each frame.
#[wasm_bindgen(js_name = LatentWalk)]
pub struct JsLatentWalk {
    walk: vae_core::walk::LatentWalk,
}

#[wasm_bindgen(js_class = LatentWalk)]
impl JsLatentWalk {
    /// `path`: "circle" (radius 1.5 in the plane of `plane`'s two directions — e.g. a
    /// projection's `axes`, 2×latentDim values — or else of the first two dimensions, the other
    /// directions holding one prior draw), "random" (a smooth wander near the prior) or "between"
    /// (a spherical morph back and forth from `from` to `to`, latentDim values each).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "\"circle\" | \"random\" | \"between\"")]
        path: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] latent: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
        from: Option<Vec<f32>>,
        to: Option<Vec<f32>>,
        plane: Option<Vec<f32>>,
    ) -> Result<JsLatentWalk, JsError> {
        use vae_core::walk::{LatentWalk, WalkPath};
        let path = path
            .as_string()
            .ok_or_else(|| args::invalid("walk path must be a string"))?;
        let latent = args::count("latent", &latent, 1, VaeConfig::MAX_WIDTH)?;
        let seed = args::seed("seed", &seed)?;
        let plane = match plane {
            Some(plane) if plane.len() == 2 * latent => {
                let (u, v) = plane.split_at(latent);
                Some([u.to_vec(), v.to_vec()])
            }
            Some(plane) => {
                return Err(args::invalid(format!(
                    "walk: plane must be 2 × {latent} numbers, got {}",
                    plane.len()
                )));
            }
            None => None,
        };
        let path = WalkPath::parse(&path, from, to, plane).map_err(js_error)?;
        Ok(Self {
            walk: LatentWalk::new(path, latent, seed).map_err(js_error)?,
        })
    }

    /// Moves on by `seconds × speed` and returns the new point (latentDim values).
    pub fn advance(&mut self, seconds: f64, speed: f64) -> Result<Vec<f32>, JsError> {
        Ok(self
            .walk
            .advance(seconds, speed)
            .map_err(js_error)?
            .to_vec())
    }

    /// The current point.
    #[wasm_bindgen(getter)]
    pub fn z(&self) -> Vec<f32> {
        self.walk.z().to_vec()
    }
}

/// Latent arithmetic z(a) − z(b) + z(c), each latentDim values.
#[wasm_bindgen(js_name = latentArithmetic)]
pub fn latent_arithmetic(a: Vec<f32>, b: Vec<f32>, c: Vec<f32>) -> Result<Vec<f32>, JsError> {
    vae_core::latent::arithmetic(&a, &b, &c).map_err(js_error)
}

/// Mean KL(q(z|x) ‖ N(0, 1)) of each latent dimension over `n` digits, from their `mu` and
/// `logvar` (n×dim each): `dim` values in nats. Near-zero dimensions are switched off.
#[wasm_bindgen(js_name = klPerDimension)]
pub fn kl_per_dimension(
    mu: Vec<f32>,
    logvar: Vec<f32>,
    #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] dim: JsValue,
) -> Result<Vec<f32>, JsError> {
    let (n, dim) = rows_and_width(&n, &dim)?;
    vae_core::latent::mean_kl_per_dimension(&mu, &logvar, n, dim).map_err(js_error)
}

/// `n` rows of `dim` latent values: n from 1 to MAX_ROWS, dim from 1 to the widest latent space.
fn rows_and_width(n: &JsValue, dim: &JsValue) -> Result<(usize, usize), JsError> {
    Ok((
        args::count("n", n, 1, MAX_ROWS)?,
        args::count("dim", dim, 1, VaeConfig::MAX_WIDTH)?,
    ))
}

/// A flat view of a latent space for the map: the identity for 2-D, else the plane of the first
/// two principal components of the points it is built from.
#[wasm_bindgen(js_name = Projection)]
pub struct JsProjection {
    projection: vae_core::latent::Projection,
    /// The points it was made from and their map coordinates, for `liftNear`.
    points: Vec<f32>,
    coords: Vec<f32>,
}

#[wasm_bindgen(js_class = Projection)]
impl JsProjection {
    /// From `n` latent points (`points`: n×dim), e.g. the test digits' μ.
    #[wasm_bindgen(constructor)]
    pub fn new(
        points: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] dim: JsValue,
    ) -> Result<JsProjection, JsError> {
        let (n, dim) = rows_and_width(&n, &dim)?;
        let projection = vae_core::latent::Projection::pca(&points, n, dim).map_err(js_error)?;
        let coords = projection.project(&points, n).map_err(js_error)?;
        Ok(Self {
            projection,
            points,
            coords,
        })
    }

    /// Map coordinates (n×2) of `n` latent points.
    pub fn project(
        &self,
        points: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
    ) -> Result<Vec<f32>, JsError> {
        let n = args::count("n", &n, 1, MAX_ROWS)?;
        self.projection.project(&points, n).map_err(js_error)
    }

    /// The latent point (dim values) at map coordinates (x, y), the directions off the map at
    /// the points' mean.
    pub fn lift(&self, x: f32, y: f32) -> Result<Vec<f32>, JsError> {
        self.projection.lift(x, y).map_err(js_error)
    }

    /// The latent point (dim values) under map coordinates (x, y): on the map at (x, y), off it
    /// as the points drawn nearest there (a kernel-weighted mean), so it decodes what the map
    /// shows under the cursor. The same as `lift` in 2-D.
    #[wasm_bindgen(js_name = liftNear)]
    pub fn lift_near(&self, x: f32, y: f32) -> Result<Vec<f32>, JsError> {
        let n = self.coords.len() / 2;
        self.projection
            .lift_near(x, y, &self.points, &self.coords, n)
            .map_err(js_error)
    }

    /// The map's two axes in latent space, 2×dim values (orthonormal; the identity in 2-D).
    #[wasm_bindgen(getter)]
    pub fn axes(&self) -> Vec<f32> {
        self.projection.axes.concat()
    }

    /// Share of the variance along each map axis: `[first, second]`.
    #[wasm_bindgen(getter)]
    pub fn explained(&self) -> Vec<f32> {
        self.projection.explained.to_vec()
    }

    #[wasm_bindgen(getter)]
    pub fn dim(&self) -> usize {
        self.projection.dim()
    }
}

/// The share (0 to 1) of 2-D points (`coords`: x, y pairs) inside the prior's 95% circle
/// (radius √(−2 ln 0.05) ≈ 2.45).
#[wasm_bindgen(js_name = shareInsidePriorCircle)]
pub fn share_inside_prior_circle(coords: Vec<f32>) -> Result<f64, JsError> {
    vae_core::latent::share_inside_prior_circle(&coords).map_err(js_error)
}
