//! Point-wise detection counts and the SKAB leaderboard figures computed from them.
//!
//! SKAB's outlier-detection leaderboard pools the counts of every file, then reports
//! F1 = 2TP / (2TP + FP + FN), the false alarm rate FAR = FP / (FP + TN) and the missed alarm
//! rate MAR = FN / (FN + TP). A ratio with an empty denominator is 0.

use std::ops::AddAssign;

/// Point-wise confusion counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
    pub tn: u64,
}

impl Counts {
    /// Counts `predicted` against `actual`, point by point (they must have the same length;
    /// extra points of the longer one are ignored).
    pub fn from_points(predicted: &[bool], actual: &[bool]) -> Self {
        let mut c = Self::default();
        for (&p, &a) in predicted.iter().zip(actual) {
            c.add(p, a);
        }
        c
    }

    pub fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }

    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    /// False alarm rate: the share of normal points flagged.
    pub fn far(&self) -> f64 {
        ratio(self.fp, self.fp + self.tn)
    }

    /// Missed alarm rate: the share of anomalous points not flagged.
    pub fn mar(&self) -> f64 {
        ratio(self.fn_, self.fn_ + self.tp)
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
        self.tn += o.tn;
    }
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 { 0.0 } else { num as f64 / den as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn counts_each_case_once() {
        let p = [true, true, false, false, true];
        let a = [true, false, true, false, true];
        assert_eq!(Counts::from_points(&p, &a), Counts { tp: 2, fp: 1, fn_: 1, tn: 1 });
    }

    #[test]
    fn figures_of_a_hand_made_case() {
        // 10 points: 4 anomalous, detector finds 3 of them and raises 2 false alarms.
        let a = [false, false, false, false, false, false, true, true, true, true];
        let p = [false, true, false, false, true, false, false, true, true, true];
        let c = Counts::from_points(&p, &a);
        assert_eq!(c, Counts { tp: 3, fp: 2, fn_: 1, tn: 4 });
        assert!(close(c.f1(), 6.0 / 9.0));
        assert!(close(c.far(), 2.0 / 6.0));
        assert!(close(c.mar(), 1.0 / 4.0));
    }

    #[test]
    fn perfect_and_silent_detectors() {
        let a = [false, true, true, false];
        let perfect = Counts::from_points(&a, &a);
        assert!(close(perfect.f1(), 1.0) && close(perfect.far(), 0.0) && close(perfect.mar(), 0.0));
        let silent = Counts::from_points(&[false; 4], &a);
        assert!(close(silent.f1(), 0.0) && close(silent.far(), 0.0) && close(silent.mar(), 1.0));
        let always = Counts::from_points(&[true; 4], &a);
        assert!(close(always.f1(), 2.0 / 3.0) && close(always.far(), 1.0) && close(always.mar(), 0.0));
    }

    #[test]
    fn empty_denominators_are_zero() {
        let c = Counts::default();
        assert_eq!((c.f1(), c.far(), c.mar()), (0.0, 0.0, 0.0));
    }

    #[test]
    fn pooling_adds_counts_not_ratios() {
        // File A: perfect on 2 points; file B: all 8 normal points flagged.
        let mut pooled = Counts::from_points(&[true, false], &[true, false]);
        pooled += Counts::from_points(&[true; 8], &[false; 8]);
        assert_eq!(pooled, Counts { tp: 1, fp: 8, fn_: 0, tn: 1 });
        assert!(close(pooled.far(), 8.0 / 9.0));
        assert!(close(pooled.f1(), 2.0 / 10.0));
    }
}
