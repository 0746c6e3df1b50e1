//! The audit sample proposal: how many claims of a service point to inspect, and which,
//! weighted by risk, reproducibly from a seed passed in (domain code reads no randomness).
//!
//! - Size (attribute discovery sampling): the smallest n with which a sample finds at least one
//!   bad claim with probability `confidence` when at least a share `min_bad_rate` of the claims
//!   is bad, n = ⌈ln(1 − C)/ln(1 − p)⌉ (binomial, i.e. a large population), capped by the
//!   population. 95 % and 5 %: 59 claims.
//! - Selection: weighted sampling without replacement by Efraimidis–Spirakis keys: each claim
//!   draws u in (0, 1) and gets key u^(1/w) (compared as ln(u)/w), the n largest keys are taken.
//!   A claim's chance to be in the sample grows with its risk weight; every weight must be
//!   above 0, so every claim keeps some chance (give low-risk claims a base weight).
//! - Randomness: splitmix64 from the seed, one draw per claim in input order, so the same seed
//!   and the same claims in the same order give the same sample; ties go to the earlier claim.

use serde::Serialize;

/// A claim that may be sampled, with its risk weight (> 0).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskItem<K> {
    /// The claim's id.
    pub id: K,
    /// Its risk weight; > 0.
    pub weight: f64,
}

/// A claim chosen for the audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selected<K> {
    /// The claim's id.
    pub id: K,
    /// Its risk weight.
    pub weight: f64,
    /// Its position in the input.
    pub index: usize,
    /// 1 for the highest key: the order to inspect in if the audit stops early.
    pub priority: usize,
}

/// A proposed audit sample with the rule that sized it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditSample<K> {
    /// Claims to choose from.
    pub population: usize,
    /// Probability of finding at least one bad claim.
    pub confidence: f64,
    /// The smallest share of bad claims the sample is sized to detect.
    pub min_bad_rate: f64,
    /// The size the rule asks for before the cap by the population.
    pub required: u64,
    /// The claims to inspect, in priority order.
    pub selected: Vec<Selected<K>>,
    /// The seed the selection was drawn from (kept with the audit to reproduce it).
    pub seed: u64,
}

/// Why no sample can be proposed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SampleError {
    /// The confidence is not strictly between 0 and 1.
    #[error("the confidence must lie strictly between 0 and 1")]
    InvalidConfidence,
    /// The bad rate is not strictly between 0 and 1.
    #[error("the bad rate to detect must lie strictly between 0 and 1")]
    InvalidRate,
    /// A weight is zero, negative or not finite.
    #[error("claim {index}: the risk weight must be a finite number above 0")]
    InvalidWeight {
        /// Position of the claim in the input.
        index: usize,
    },
}

/// Sample size for discovery sampling, n = ⌈ln(1 − confidence)/ln(1 − min_bad_rate)⌉, before any
/// cap by the population.
pub fn required_size(confidence: f64, min_bad_rate: f64) -> Result<u64, SampleError> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(SampleError::InvalidConfidence);
    }
    if !(min_bad_rate > 0.0 && min_bad_rate < 1.0) {
        return Err(SampleError::InvalidRate);
    }
    let n = ((-confidence).ln_1p() / (-min_bad_rate).ln_1p()).ceil();
    // Guard the float: a ratio that is an integer up to rounding must not gain one.
    let below = n - 1.0;
    let n = if below >= 1.0 && (1.0 - min_bad_rate).powf(below) <= 1.0 - confidence {
        below
    } else {
        n
    };
    Ok(n.max(1.0) as u64)
}

/// Proposes the audit sample: the size from [`required_size`] capped by the number of claims,
/// chosen by [`weighted_sample`].
pub fn propose<K: Clone>(
    items: &[RiskItem<K>],
    confidence: f64,
    min_bad_rate: f64,
    seed: u64,
) -> Result<AuditSample<K>, SampleError> {
    let required = required_size(confidence, min_bad_rate)?;
    let size = usize::try_from(required)
        .unwrap_or(usize::MAX)
        .min(items.len());
    Ok(AuditSample {
        population: items.len(),
        confidence,
        min_bad_rate,
        required,
        selected: weighted_sample(items, size, seed)?,
        seed,
    })
}

/// Chooses `size` items (all of them if fewer) without replacement, weighted by risk, with
/// Efraimidis–Spirakis keys from the seed; in priority order (highest key first).
pub fn weighted_sample<K: Clone>(
    items: &[RiskItem<K>],
    size: usize,
    seed: u64,
) -> Result<Vec<Selected<K>>, SampleError> {
    if let Some(index) = items
        .iter()
        .position(|i| !(i.weight.is_finite() && i.weight > 0.0))
    {
        return Err(SampleError::InvalidWeight { index });
    }
    let mut rng = SplitMix64::new(seed);
    let mut keyed: Vec<(f64, usize)> = items
        .iter()
        .enumerate()
        .map(|(index, item)| (rng.next_open01().ln() / item.weight, index))
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    Ok(keyed
        .iter()
        .take(size)
        .enumerate()
        .filter_map(|(rank, (_, index))| {
            items.get(*index).map(|item| Selected {
                id: item.id.clone(),
                weight: item.weight,
                index: *index,
                priority: rank + 1,
            })
        })
        .collect())
}

/// splitmix64 (Steele, Lea, Flood 2014; the seeding generator of xoshiro): small, fast, and
/// good enough to draw sampling keys. Not for anything secret.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw in the open interval (0, 1): the top 53 bits, offset by half a step.
    pub fn next_open01(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(required_size(0.95, 0.05), Ok(59));
        assert_eq!(required_size(0.95, 0.01), Ok(299));
        assert_eq!(required_size(0.90, 0.10), Ok(22));
        // ln(0.1)/ln(0.9)... exact powers: 1 − 0.5² = 0.75 needs exactly 2.
        assert_eq!(required_size(0.75, 0.5), Ok(2));
        assert_eq!(
            required_size(1.0, 0.05),
            Err(SampleError::InvalidConfidence)
        );
        assert_eq!(required_size(0.95, 0.0), Err(SampleError::InvalidRate));
    }

    #[test]
    fn splitmix_reference_values() {
        // First outputs for seed 1234567 of Vigna's splitmix64.c (checked with a transcription).
        let mut r = SplitMix64::new(1_234_567);
        assert_eq!(r.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(r.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(r.next_u64(), 9_817_491_932_198_370_423);
        let x = SplitMix64::new(0).next_open01();
        assert!(x > 0.0 && x < 1.0);
    }

    fn items(weights: &[f64]) -> Vec<RiskItem<usize>> {
        weights
            .iter()
            .enumerate()
            .map(|(id, weight)| RiskItem {
                id,
                weight: *weight,
            })
            .collect()
    }

    #[test]
    fn deterministic_and_capped() {
        let it = items(&[1.0; 30]);
        let a = propose(&it, 0.95, 0.05, 7).unwrap();
        assert_eq!((a.required, a.selected.len(), a.population), (59, 30, 30));
        let b = weighted_sample(&it, 10, 7).unwrap();
        assert_eq!(b, weighted_sample(&it, 10, 7).unwrap());
        assert_ne!(b, weighted_sample(&it, 10, 8).unwrap());
        let mut ids: Vec<usize> = b.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 10);
        assert_eq!(
            b.iter().map(|s| s.priority).collect::<Vec<_>>(),
            (1..=10).collect::<Vec<_>>()
        );
        assert!(weighted_sample(&it, 0, 7).unwrap().is_empty());
        assert!(propose::<usize>(&[], 0.95, 0.05, 1)
            .unwrap()
            .selected
            .is_empty());
    }

    #[test]
    fn rejects_bad_weights() {
        assert_eq!(
            weighted_sample(&items(&[1.0, 0.0]), 1, 1),
            Err(SampleError::InvalidWeight { index: 1 })
        );
        assert_eq!(
            weighted_sample(&items(&[f64::NAN]), 1, 1),
            Err(SampleError::InvalidWeight { index: 0 })
        );
    }

    #[test]
    fn risk_raises_the_chance() {
        // One claim of weight 20 among 99 of weight 1, samples of 5 over 2,000 seeds: its
        // inclusion frequency is far above the 5 % a uniform draw gives.
        let mut w = vec![1.0; 100];
        w[42] = 20.0;
        let it = items(&w);
        let hits = (0..2000u64)
            .filter(|seed| {
                weighted_sample(&it, 5, *seed)
                    .unwrap()
                    .iter()
                    .any(|s| s.id == 42)
            })
            .count();
        assert!(hits > 1000, "{hits}");
    }

    proptest::proptest! {
        /// A sample holds min(size, population) distinct claims, whatever the weights and seed.
        #[test]
        fn sample_is_distinct_and_sized(
            weights in proptest::collection::vec(1e-6f64..1e6, 0..80),
            size in 0usize..100,
            seed in proptest::num::u64::ANY,
        ) {
            let it = items(&weights);
            let s = weighted_sample(&it, size, seed).unwrap();
            proptest::prop_assert_eq!(s.len(), size.min(weights.len()));
            let mut seen: Vec<usize> = s.iter().map(|x| x.index).collect();
            seen.sort_unstable();
            seen.dedup();
            proptest::prop_assert_eq!(seen.len(), s.len());
        }
    }
}
