//! Gradient-boosted regression trees for squared error, written for this crate.
//!
//! Histogram training: every feature is cut into at most 64 quantile bins once, each tree grows
//! depth-first, a node's histogram of gradient sums per bin gives every candidate split, and
//! the larger child's histogram is the parent's minus the smaller's. Rows and features are
//! subsampled per tree (stochastic boosting). A split keeps its threshold as a raw value, so a
//! fitted model predicts from raw features alone and serialises as plain arrays.

use serde::{Deserialize, Serialize};

use super::rng::Rng;

const MAX_BINS: usize = 64;
const LEAF: u16 = u16::MAX;

/// Training knobs.
#[derive(Clone, Debug, PartialEq)]
pub struct GbtParams {
    pub trees: usize,
    pub depth: usize,
    pub learning_rate: f64,
    pub min_leaf: usize,
    pub lambda: f64,
    pub subsample: f64,
    pub colsample: f64,
    pub seed: u64,
}

impl Default for GbtParams {
    fn default() -> Self {
        GbtParams {
            trees: 200,
            depth: 5,
            learning_rate: 0.05,
            min_leaf: 20,
            lambda: 1.0,
            subsample: 0.7,
            colsample: 0.5,
            seed: 1,
        }
    }
}

/// One regression tree as parallel arrays; node 0 is the root, `feature == LEAF` marks a leaf.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Tree {
    pub feature: Vec<u16>,
    pub threshold: Vec<f32>,
    pub left: Vec<u32>,
    pub right: Vec<u32>,
    pub value: Vec<f32>,
}

impl Tree {
    fn push_leaf(&mut self, value: f64) -> u32 {
        self.feature.push(LEAF);
        self.threshold.push(0.0);
        self.left.push(0);
        self.right.push(0);
        self.value.push(value as f32);
        (self.feature.len() - 1) as u32
    }

    pub fn predict(&self, x: &[f32]) -> f64 {
        let mut n = 0usize;
        loop {
            let f = self.feature[n];
            if f == LEAF {
                return f64::from(self.value[n]);
            }
            n = if x[usize::from(f)] <= self.threshold[n] { self.left[n] } else { self.right[n] } as usize;
        }
    }

    /// Checks the arrays describe a tree whose walk from the root ends in a leaf.
    pub fn check(&self, features: usize) -> bool {
        let n = self.feature.len();
        let same = [self.threshold.len(), self.left.len(), self.right.len(), self.value.len()].iter().all(|&l| l == n);
        same && n > 0
            && (0..n).all(|i| {
                self.feature[i] == LEAF
                    || (usize::from(self.feature[i]) < features
                        && (self.left[i] as usize) > i
                        && (self.left[i] as usize) < n
                        && (self.right[i] as usize) > i
                        && (self.right[i] as usize) < n)
            })
    }
}

/// A boosted ensemble: `base` plus the sum of the trees.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Gbt {
    pub base: f64,
    pub trees: Vec<Tree>,
}

impl Gbt {
    pub fn predict(&self, x: &[f32]) -> f64 {
        self.base + self.trees.iter().map(|t| t.predict(x)).sum::<f64>()
    }

    /// Fits on `x` (row-major, `features` values per row) and targets `y`.
    pub fn fit(x: &[f32], features: usize, y: &[f64], p: &GbtParams) -> Gbt {
        let n = y.len();
        let data = Binned::new(x, features, n);
        let base = y.iter().sum::<f64>() / n.max(1) as f64;
        let mut model = Gbt { base, trees: Vec::with_capacity(p.trees) };
        let mut pred = vec![base; n];
        let mut grad = vec![0.0; n];
        let mut rng = Rng::new(p.seed);
        let mut rows: Vec<u32> = Vec::with_capacity(n);
        for _ in 0..p.trees {
            for i in 0..n {
                grad[i] = y[i] - pred[i];
            }
            rows.clear();
            rows.extend((0..n as u32).filter(|_| rng.unit() < p.subsample));
            let mut active: Vec<usize> = (0..features).filter(|_| rng.unit() < p.colsample).collect();
            if active.is_empty() {
                active.push(rng.below(features));
            }
            let mut grower = Grower { data: &data, grad: &grad, p, active: &active, tree: Tree::default() };
            let hist = grower.histogram(&rows);
            grower.grow(&mut rows, hist, 0);
            let tree = grower.tree;
            for (i, pr) in pred.iter_mut().enumerate() {
                *pr += tree.predict(&x[i * features..(i + 1) * features]);
            }
            model.trees.push(tree);
        }
        model
    }
}

/// Features cut into bins, column-major, with each bin's upper edge as a raw value.
struct Binned {
    n: usize,
    bins: Vec<u8>,
    /// `edges[f][b]`: values ≤ edge fall in bins ≤ b.
    edges: Vec<Vec<f32>>,
    offsets: Vec<usize>,
    total: usize,
}

impl Binned {
    fn new(x: &[f32], features: usize, n: usize) -> Binned {
        let mut bins = vec![0u8; features * n];
        let mut edges = Vec::with_capacity(features);
        let mut offsets = Vec::with_capacity(features);
        let mut total = 0;
        let mut col: Vec<f32> = Vec::with_capacity(n);
        for f in 0..features {
            col.clear();
            col.extend((0..n).map(|i| x[i * features + f]));
            let mut sorted = col.clone();
            sorted.sort_by(f32::total_cmp);
            let mut e: Vec<f32> = (1..MAX_BINS).map(|k| sorted[(k * n / MAX_BINS).min(n.saturating_sub(1))]).collect();
            e.dedup();
            if e.last().is_some_and(|&l| sorted.last().is_some_and(|&m| l >= m)) {
                e.pop();
            }
            for (i, v) in col.iter().enumerate() {
                bins[f * n + i] = e.partition_point(|edge| edge < v) as u8;
            }
            offsets.push(total);
            total += e.len() + 1;
            edges.push(e);
        }
        Binned { n, bins, edges, offsets, total }
    }
}

struct Grower<'a> {
    data: &'a Binned,
    grad: &'a [f64],
    p: &'a GbtParams,
    active: &'a [usize],
    tree: Tree,
}

/// Per-bin gradient sums and counts of one node, over all features (inactive ones stay 0).
struct Hist {
    g: Vec<f64>,
    c: Vec<u32>,
}

struct Split {
    feature: usize,
    bin: usize,
    gain: f64,
}

impl Grower<'_> {
    fn histogram(&self, rows: &[u32]) -> Hist {
        let d = self.data;
        let mut h = Hist { g: vec![0.0; d.total], c: vec![0; d.total] };
        for &f in self.active {
            let col = &d.bins[f * d.n..(f + 1) * d.n];
            let off = d.offsets[f];
            let (g, c) = (&mut h.g[off..], &mut h.c[off..]);
            for &r in rows {
                let b = usize::from(col[r as usize]);
                g[b] += self.grad[r as usize];
                c[b] += 1;
            }
        }
        h
    }

    fn best_split(&self, h: &Hist, count: usize, sum: f64) -> Option<Split> {
        let lambda = self.p.lambda;
        let parent = sum * sum / (count as f64 + lambda);
        let mut best: Option<Split> = None;
        for &f in self.active {
            let off = self.data.offsets[f];
            let nb = self.data.edges[f].len() + 1;
            let (mut gl, mut cl) = (0.0, 0usize);
            for b in 0..nb - 1 {
                gl += h.g[off + b];
                cl += h.c[off + b] as usize;
                let cr = count - cl;
                if cl < self.p.min_leaf {
                    continue;
                }
                if cr < self.p.min_leaf {
                    break;
                }
                let gr = sum - gl;
                let gain = gl * gl / (cl as f64 + lambda) + gr * gr / (cr as f64 + lambda) - parent;
                if gain > best.as_ref().map_or(1e-9, |s| s.gain) {
                    best = Some(Split { feature: f, bin: b, gain });
                }
            }
        }
        best
    }

    /// Grows the subtree over `rows` (whose histogram is `h`) and returns its node index.
    fn grow(&mut self, rows: &mut [u32], h: Hist, depth: usize) -> u32 {
        let count = rows.len();
        let sum: f64 = rows.iter().map(|&r| self.grad[r as usize]).sum();
        let leaf = self.p.learning_rate * sum / (count as f64 + self.p.lambda);
        if depth >= self.p.depth || count < 2 * self.p.min_leaf {
            return self.tree.push_leaf(leaf);
        }
        let Some(split) = self.best_split(&h, count, sum) else {
            return self.tree.push_leaf(leaf);
        };
        let col = &self.data.bins[split.feature * self.data.n..(split.feature + 1) * self.data.n];
        // In-place partition: rows going left first.
        let mut mid = 0;
        for i in 0..rows.len() {
            if usize::from(col[rows[i] as usize]) <= split.bin {
                rows.swap(i, mid);
                mid += 1;
            }
        }
        let node = self.tree.push_leaf(0.0) as usize;
        self.tree.feature[node] = split.feature as u16;
        self.tree.threshold[node] = self.data.edges[split.feature][split.bin];
        let (lrows, rrows) = rows.split_at_mut(mid);
        let (lh, rh) = if lrows.len() <= rrows.len() {
            let small = self.histogram(lrows);
            let big = subtract(h, &small);
            (small, big)
        } else {
            let small = self.histogram(rrows);
            let big = subtract(h, &small);
            (big, small)
        };
        let l = self.grow(lrows, lh, depth + 1);
        let r = self.grow(rrows, rh, depth + 1);
        self.tree.left[node] = l;
        self.tree.right[node] = r;
        node as u32
    }
}

fn subtract(mut parent: Hist, child: &Hist) -> Hist {
    for (p, c) in parent.g.iter_mut().zip(&child.g) {
        *p -= c;
    }
    for (p, c) in parent.c.iter_mut().zip(&child.c) {
        *p -= c;
    }
    parent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_step_and_an_interaction() {
        let mut rng = Rng::new(7);
        let n = 2000;
        let mut x = Vec::with_capacity(n * 3);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let (a, b, c) = (rng.unit() as f32, rng.unit() as f32, rng.unit() as f32);
            x.extend([a, b, c]);
            y.push(if a > 0.5 { 10.0 } else { 0.0 } + if b > 0.3 && c < 0.6 { 5.0 } else { 0.0 });
        }
        let p = GbtParams { trees: 200, depth: 3, learning_rate: 0.1, colsample: 1.0, ..GbtParams::default() };
        let m = Gbt::fit(&x, 3, &y, &p);
        let err: f64 = (0..n).map(|i| (m.predict(&x[i * 3..i * 3 + 3]) - y[i]).powi(2)).sum::<f64>() / n as f64;
        // Bins are quantiles, so rows within one bin of a step edge may land on its wrong side.
        assert!(err < 1.0, "mse {err}");
        assert!(m.trees.iter().all(|t| t.check(3)));
        assert!((m.predict(&[0.9, 0.5, 0.1]) - 15.0).abs() < 1.0);
    }
}
