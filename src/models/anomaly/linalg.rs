//! The little linear algebra the anomaly model needs, on small dense matrices stored row
//! major in a `Vec<f64>`: a symmetric eigen-decomposition (cyclic Jacobi) and a sample
//! covariance. The matrices are signals × signals (a handful to a few dozen), so plain
//! O(n³) sweeps are fast and exact enough; no external crate is needed.

/// Eigenvalues (descending) and unit eigenvectors of a symmetric `n × n` matrix `a`
/// (row major). Eigenvector `k` is `vectors[k * n..(k + 1) * n]`.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    // v holds eigenvectors as columns while rotating.
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * n + j].powi(2))
            .sum();
        let scale: f64 = (0..n).map(|i| m[i * n + i].powi(2)).sum::<f64>().max(f64::MIN_POSITIVE);
        if off <= scale * 1e-24 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq.abs() < f64::MIN_POSITIVE {
                    continue;
                }
                let theta = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let mkp = m[k * n + p];
                    let mkq = m[k * n + q];
                    m[k * n + p] = c * mkp - s * mkq;
                    m[k * n + q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let mpk = m[p * n + k];
                    let mqk = m[q * n + k];
                    m[p * n + k] = c * mpk - s * mqk;
                    m[q * n + k] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let vkp = v[k * n + p];
                    let vkq = v[k * n + q];
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m[j * n + j].total_cmp(&m[i * n + i]));
    let values = order.iter().map(|&i| m[i * n + i]).collect();
    let mut vectors = Vec::with_capacity(n * n);
    for &i in &order {
        vectors.extend((0..n).map(|k| v[k * n + i]));
    }
    (values, vectors)
}

/// Column means and the sample covariance (divided by `rows - 1`) of `rows × n` data.
pub fn mean_cov(data: &[Vec<f64>], n: usize) -> (Vec<f64>, Vec<f64>) {
    let rows = data.len().max(1) as f64;
    let mut mean = vec![0.0; n];
    for r in data {
        for (m, x) in mean.iter_mut().zip(r) {
            *m += x / rows;
        }
    }
    let mut cov = vec![0.0; n * n];
    for r in data {
        for i in 0..n {
            let di = r[i] - mean[i];
            for j in i..n {
                cov[i * n + j] += di * (r[j] - mean[j]);
            }
        }
    }
    let denom = (rows - 1.0).max(1.0);
    for i in 0..n {
        for j in i..n {
            cov[i * n + j] /= denom;
            cov[j * n + i] = cov[i * n + j];
        }
    }
    (mean, cov)
}
