//! The labelled time series the recurrent VAE learns from, its windows and the anomaly figures.
//!
//! The shipped series (`web/assets/series.bin`, packed by `scripts/make-series.py`) is
//! "135_UCR_Anomaly_InternalBleeding16" of the UCR Time Series Anomaly Archive (Wu & Keogh 2021),
//! as aeon 1.6.0 bundles it: 7,501 samples of one physiological signal whose beat lasts about 183
//! samples. Samples before `train_end` (1,200) are normal and are all the model may learn from;
//! the rest is held out and holds one labelled anomaly (samples 4,187–4,198).
//!
//! File layout (little endian): magic `b"VAES"`, `u32` count n, `u32` train_end, n `f32` values,
//! n label bytes (0 normal, 1 labelled anomaly).

use crate::error::{Result, VaeError};

const MAGIC: &[u8; 4] = b"VAES";

/// Samples per window: about a third of the shipped series' 183-sample beat, long enough to hold
/// the shape of a rise or a fall, short enough for a recurrent net to train in a tab.
pub const WINDOW: usize = 64;

/// The longest series accepted (the shipped one has 7,501 samples): a bound checked before
/// anything is allocated.
pub const MAX_SAMPLES: usize = 1 << 20;

/// The longest window a model is run on.
pub const MAX_WINDOW: usize = 1024;

/// A univariate series with a per-sample anomaly label and the end of its training part.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    values: Vec<f32>,
    labels: Vec<u8>,
    train_end: usize,
}

fn data_error(message: impl Into<String>) -> VaeError {
    VaeError::Data(message.into())
}

impl Series {
    /// Builds from values and labels, checking lengths, finiteness, labels and that both the
    /// training part and the rest hold at least one [`WINDOW`].
    pub fn new(values: Vec<f32>, labels: Vec<u8>, train_end: usize) -> Result<Self> {
        if values.len() != labels.len() {
            return Err(data_error(format!(
                "{} values for {} labels",
                values.len(),
                labels.len()
            )));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(data_error(format!("value {i} is {}", values[i])));
        }
        if let Some(i) = labels.iter().position(|&l| l > 1) {
            return Err(data_error(format!(
                "label {i} is {}; labels are 0 (normal) or 1 (anomaly)",
                labels[i]
            )));
        }
        if train_end < WINDOW || values.len() < train_end + WINDOW {
            return Err(data_error(format!(
                "a series of {} samples with its training part ending at {train_end}: both parts \
                 need at least {WINDOW} samples",
                values.len()
            )));
        }
        if labels[..train_end].contains(&1) {
            return Err(data_error("the training part holds labelled anomalies"));
        }
        Ok(Self {
            values,
            labels,
            train_end,
        })
    }

    /// Parses the packed file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 12 || &bytes[..4] != MAGIC {
            return Err(data_error("not a series file (missing the VAES header)"));
        }
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let (count, train_end) = (word(4) as usize, word(8) as usize);
        if count > MAX_SAMPLES {
            return Err(data_error(format!(
                "the file claims {count} samples; at most {MAX_SAMPLES} are accepted"
            )));
        }
        let expected = 12 + count * 5; // ≤ 12 + 5 · 2²⁰: no overflow
        if bytes.len() != expected {
            return Err(data_error(format!(
                "{} bytes for {count} samples; expected {expected}",
                bytes.len()
            )));
        }
        let values = bytes[12..12 + count * 4]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Self::new(values, bytes[12 + count * 4..].to_vec(), train_end)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The first held-out sample.
    pub fn train_end(&self) -> usize {
        self.train_end
    }

    pub fn values(&self) -> &[f32] {
        &self.values
    }

    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Mean and standard deviation of the training part: the model sees (x − mean) / sd.
    pub fn scale(&self) -> (f32, f32) {
        let part = &self.values[..self.train_end];
        let n = part.len() as f64;
        let mean = part.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = part.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        (mean as f32, var.sqrt().max(1e-6) as f32)
    }

    /// The whole series standardised by [`Series::scale`].
    pub fn standardised(&self) -> Vec<f32> {
        let (mean, sd) = self.scale();
        self.values.iter().map(|v| (v - mean) / sd).collect()
    }

    /// Starts of the training windows: every sample whose window ends inside the training part.
    pub fn train_starts(&self) -> Vec<usize> {
        (0..=self.train_end - WINDOW).collect()
    }

    /// Starts of the held-out windows, `stride` apart, each lying wholly after the training part.
    pub fn held_out_starts(&self, stride: usize) -> Vec<usize> {
        (self.train_end..=self.len() - WINDOW)
            .step_by(stride.max(1))
            .collect()
    }

    /// Whether the window starting at `start` overlaps a labelled anomaly.
    pub fn window_is_anomalous(&self, start: usize) -> bool {
        self.labels[start..start + WINDOW].contains(&1)
    }
}

/// The windows of `values` at `starts`, each [`WINDOW`] long, row after row: `[starts.len(),
/// WINDOW]`.
pub fn windows(values: &[f32], starts: &[usize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(starts.len() * WINDOW);
    for &s in starts {
        out.extend_from_slice(&values[s..s + WINDOW]);
    }
    out
}

/// The area under the ROC curve of `scores` for telling `positive` from the rest: the chance that
/// a positive scores above a negative, ties counting half (the Mann–Whitney statistic). `None`
/// when either class is empty.
pub fn roc_auc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), positive.len(), "one label per score");
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Average ranks (1-based) over runs of equal scores.
    let mut ranks = vec![0.0f64; scores.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    let p = positive.iter().filter(|&&b| b).count() as f64;
    let n = scores.len() as f64 - p;
    if p == 0.0 || n == 0.0 {
        return None;
    }
    let rank_sum: f64 = ranks
        .iter()
        .zip(positive)
        .filter(|(_, b)| **b)
        .map(|(r, _)| r)
        .sum();
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// The `q`-th percentile (0–100) of `values` by linear interpolation between order statistics,
/// as NumPy's default. `None` for no values.
pub fn percentile(values: &[f32], q: f64) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let at = q.clamp(0.0, 100.0) / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    let w = (at - lo as f64) as f32;
    Some(sorted[lo] * (1.0 - w) + sorted[hi] * w)
}
