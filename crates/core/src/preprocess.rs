//! Turning a drawing into an MNIST-like digit. MNIST's digits were scaled to fit a 20×20 box
//! (keeping their aspect ratio, anti-aliased) and then placed in the 28×28 field so that their
//! centre of mass sits at the centre. Doing the same to a drawing lets a digit drawn big, small
//! or off-centre still look like the data the model learned from.

use crate::error::{Result, VaeError};
use crate::model::PIXELS;

/// Side of the box a digit is scaled to fit.
const BOX: f32 = 20.0;
/// Side of the field.
const SIDE: usize = 28;
/// Grey level below which a pixel does not count towards the digit's extent.
const INK: f32 = 0.05;

/// The largest drawing side accepted, in pixels.
pub const MAX_SIDE: usize = 4096;

/// Preprocesses a `width × height` grey image (row-major, values in [0, 1], ink = 1) into 784
/// grey values. An image without ink gives all zeros.
pub fn to_mnist(grey: &[f32], width: usize, height: usize) -> Result<Vec<f32>> {
    if width == 0
        || height == 0
        || width > MAX_SIDE
        || height > MAX_SIDE
        || grey.len() != width * height
    {
        return Err(VaeError::InvalidInput(format!(
            "image: expected width × height values (1 to {MAX_SIDE} a side), got {} for {width} × {height}",
            grey.len()
        )));
    }
    if let Some(i) = grey.iter().position(|v| !v.is_finite()) {
        return Err(VaeError::InvalidInput(format!(
            "image: value {i} is not a finite number"
        )));
    }
    let Some((x0, y0, x1, y1)) = ink_box(grey, width, height) else {
        return Ok(vec![0.0; PIXELS]);
    };
    let (bw, bh) = (x1 - x0, y1 - y0);
    let scale = BOX / bw.max(bh) as f32;
    let (ow, oh) = (
        ((bw as f32 * scale).round() as usize).max(1),
        ((bh as f32 * scale).round() as usize).max(1),
    );
    let small = resample(grey, width, (x0, y0, bw, bh), ow, oh);

    // Centre of mass of the scaled digit, then the integer shift that puts it at (14, 14).
    let (mut mass, mut cx, mut cy) = (0.0f32, 0.0f32, 0.0f32);
    for y in 0..oh {
        for x in 0..ow {
            let v = small[y * ow + x];
            mass += v;
            cx += v * (x as f32 + 0.5);
            cy += v * (y as f32 + 0.5);
        }
    }
    let (cx, cy) = if mass > 0.0 {
        (cx / mass, cy / mass)
    } else {
        (ow as f32 / 2.0, oh as f32 / 2.0)
    };
    let dx = (SIDE as f32 / 2.0 - cx).round() as isize;
    let dy = (SIDE as f32 / 2.0 - cy).round() as isize;
    let mut out = vec![0.0f32; PIXELS];
    for y in 0..oh {
        for x in 0..ow {
            let (tx, ty) = (x as isize + dx, y as isize + dy);
            if (0..SIDE as isize).contains(&tx) && (0..SIDE as isize).contains(&ty) {
                out[ty as usize * SIDE + tx as usize] = small[y * ow + x].clamp(0.0, 1.0);
            }
        }
    }
    Ok(out)
}

/// Like [`to_mnist`], from a canvas's RGBA bytes whose alpha channel is the ink (the drawing
/// pad's `getImageData`), so the page hands over its pixels without a per-pixel loop in JS.
pub fn rgba_to_mnist(rgba: &[u8], width: usize, height: usize) -> Result<Vec<f32>> {
    if width.checked_mul(height).and_then(|n| n.checked_mul(4)) != Some(rgba.len()) {
        return Err(VaeError::InvalidInput(format!(
            "image: expected width × height × 4 RGBA bytes, got {} for {width} × {height}",
            rgba.len()
        )));
    }
    let grey: Vec<f32> = rgba
        .chunks_exact(4)
        .map(|px| px[3] as f32 / 255.0)
        .collect();
    to_mnist(&grey, width, height)
}

/// The smallest box `[x0, x1) × [y0, y1)` holding every inked pixel.
fn ink_box(grey: &[f32], width: usize, height: usize) -> Option<(usize, usize, usize, usize)> {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..height {
        for x in 0..width {
            if grey[y * width + x] > INK {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x + 1);
                y1 = y1.max(y + 1);
            }
        }
    }
    (x0 != usize::MAX).then_some((x0, y0, x1, y1))
}

/// For each output cell along one axis: the source cells it covers and by how much.
fn coverage(source: usize, target: usize) -> Vec<Vec<(usize, f32)>> {
    let step = source as f32 / target as f32;
    (0..target)
        .map(|i| {
            let (start, end) = (i as f32 * step, (i + 1) as f32 * step);
            let mut cells = Vec::new();
            let mut s = start.floor() as usize;
            while (s as f32) < end && s < source {
                let overlap = end.min(s as f32 + 1.0) - start.max(s as f32);
                if overlap > 0.0 {
                    cells.push((s, overlap / step));
                }
                s += 1;
            }
            cells
        })
        .collect()
}

/// Area-average resampling of a crop: each output pixel is the mean of the source area it covers,
/// which anti-aliases a large drawing shrunk to 20 pixels.
fn resample(
    grey: &[f32],
    width: usize,
    crop: (usize, usize, usize, usize),
    ow: usize,
    oh: usize,
) -> Vec<f32> {
    let (x0, y0, bw, bh) = crop;
    let (cols, rows) = (coverage(bw, ow), coverage(bh, oh));
    let mut out = vec![0.0f32; ow * oh];
    for (oy, row_cells) in rows.iter().enumerate() {
        for (ox, col_cells) in cols.iter().enumerate() {
            let mut sum = 0.0;
            for &(sy, wy) in row_cells {
                let line = &grey[(y0 + sy) * width + x0..];
                for &(sx, wx) in col_cells {
                    sum += line[sx] * wx * wy;
                }
            }
            out[oy * ow + ox] = sum;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(
        width: usize,
        height: usize,
        x: std::ops::Range<usize>,
        y: std::ops::Range<usize>,
    ) -> Vec<f32> {
        let mut img = vec![0.0; width * height];
        for yy in y {
            for xx in x.clone() {
                img[yy * width + xx] = 1.0;
            }
        }
        img
    }

    fn extent(digit: &[f32]) -> (usize, usize, usize, usize) {
        ink_box(digit, 28, 28).unwrap()
    }

    #[test]
    fn a_big_off_centre_stroke_is_fitted_and_centred() {
        // A bar 40 wide and 200 tall near the left edge of a 280×280 pad.
        let digit = to_mnist(&square(280, 280, 10..50, 60..260), 280, 280).unwrap();
        let (x0, y0, x1, y1) = extent(&digit);
        assert_eq!(y1 - y0, 20, "the long side fills the 20-pixel box");
        assert_eq!(x1 - x0, 4);
        // Centred: the mass sits at the middle of the field.
        let mass: f32 = digit.iter().sum();
        let cx: f32 = digit
            .iter()
            .enumerate()
            .map(|(i, v)| v * ((i % 28) as f32 + 0.5))
            .sum::<f32>()
            / mass;
        let cy: f32 = digit
            .iter()
            .enumerate()
            .map(|(i, v)| v * ((i / 28) as f32 + 0.5))
            .sum::<f32>()
            / mass;
        assert!(
            (cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 0.5,
            "centre of mass ({cx}, {cy})"
        );
        // Area averaging conserves ink: 40×200 source pixels shrink by (20/200)².
        assert!((mass - 80.0).abs() < 1.0, "mass {mass}");
    }

    #[test]
    fn small_and_large_drawings_of_one_shape_agree() {
        let big = to_mnist(&square(280, 280, 100..180, 20..260), 280, 280).unwrap();
        let small = to_mnist(&square(56, 56, 20..36, 4..52), 56, 56).unwrap();
        let diff: f32 = big.iter().zip(&small).map(|(a, b)| (a - b).abs()).sum();
        assert!(diff < 1.0, "difference {diff}");
    }

    #[test]
    fn rgba_alpha_is_the_ink() {
        let grey = square(56, 56, 20..36, 4..52);
        let rgba: Vec<u8> = grey
            .iter()
            .flat_map(|&v| [0, 0, 0, (v * 255.0) as u8])
            .collect();
        assert_eq!(
            rgba_to_mnist(&rgba, 56, 56).unwrap(),
            to_mnist(&grey, 56, 56).unwrap()
        );
        assert!(rgba_to_mnist(&rgba[..10], 56, 56).is_err());
    }

    #[test]
    fn empty_and_bad_images() {
        assert_eq!(to_mnist(&vec![0.0; 100], 10, 10).unwrap(), vec![0.0; 784]);
        assert!(to_mnist(&[0.0; 99], 10, 10).is_err());
        assert!(to_mnist(&[f32::NAN; 4], 2, 2).is_err());
        assert!(to_mnist(&[], 0, 0).is_err());
    }
}
