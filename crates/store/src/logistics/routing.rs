//! Driving times from a routing service: any server with an OSRM-compatible table API
//! (`GET /table/v1/driving/{lon,lat;...}?annotations=duration,distance`), switched on by
//! configuration. Answers are cached per pair of places for a day, so a re-plan asks only for what
//! is new; a service that is down, slow or answers nonsense makes the day plan with the built-in
//! model (the caller logs it), never fail.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aftersales_domain::logistics::Place;

/// Seconds and km from each place to each other, row by row.
pub type Matrices = (Vec<Vec<f64>>, Vec<Vec<f64>>);

/// Where the planner gets road driving times; the store holds at most one.
pub trait RoutingTable: Send + Sync + std::fmt::Debug {
    fn table<'a>(
        &'a self,
        places: &'a [Place],
    ) -> Pin<Box<dyn Future<Output = Result<Matrices, String>> + Send + 'a>>;
}

/// How long a cached pair is trusted (road works, new roads).
const CACHE_FOR: Duration = Duration::from_secs(24 * 3600);

type Key = (i64, i64, i64, i64);

fn key(a: &Place, b: &Place) -> Key {
    let e6 = |v: f64| (v * 1e6).round() as i64;
    (e6(a.lat), e6(a.lon), e6(b.lat), e6(b.lon))
}

/// An OSRM-compatible table service with a per-pair cache.
#[derive(Debug)]
pub struct OsrmTable {
    base: String,
    client: reqwest::Client,
    cache: Mutex<HashMap<Key, (f64, f64, Instant)>>,
}

impl OsrmTable {
    /// `base` is the service's address (`http://osrm:5000`); `timeout` bounds each request.
    pub fn new(base: &str, timeout: Duration) -> Result<OsrmTable, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| format!("routing client: {e}"))?;
        Ok(OsrmTable {
            base: base.trim_end_matches('/').to_string(),
            client,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn cached(&self, places: &[Place]) -> Option<Matrices> {
        let cache = self.cache.lock().ok()?;
        let now = Instant::now();
        let mut secs = vec![vec![0.0; places.len()]; places.len()];
        let mut km = secs.clone();
        for (i, a) in places.iter().enumerate() {
            for (j, b) in places.iter().enumerate() {
                if i == j {
                    continue;
                }
                let (s, k, at) = cache.get(&key(a, b))?;
                if now.duration_since(*at) > CACHE_FOR {
                    return None;
                }
                secs[i][j] = *s;
                km[i][j] = *k;
            }
        }
        Some((secs, km))
    }

    async fn fetch(&self, places: &[Place]) -> Result<Matrices, String> {
        let coords: Vec<String> = places
            .iter()
            .map(|p| format!("{:.6},{:.6}", p.lon, p.lat))
            .collect();
        let url = format!(
            "{}/table/v1/driving/{}?annotations=duration,distance",
            self.base,
            coords.join(";")
        );
        let res = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("routing service unreachable: {e}"))?;
        if !res.status().is_success() {
            return Err(format!("routing service answered {}", res.status()));
        }
        let body: serde_json::Value = res
            .json()
            .await
            .map_err(|e| format!("routing service sent no JSON: {e}"))?;
        if body["code"] != "Ok" {
            return Err(format!("routing service said {}", body["code"]));
        }
        let n = places.len();
        let grid = |name: &str, scale: f64| -> Result<Vec<Vec<f64>>, String> {
            let rows = body[name]
                .as_array()
                .filter(|r| r.len() == n)
                .ok_or_else(|| format!("routing service sent no {name} for {n} places"))?;
            rows.iter()
                .map(|row| {
                    let row = row
                        .as_array()
                        .filter(|r| r.len() == n)
                        .ok_or_else(|| format!("routing service sent a short {name} row"))?;
                    row.iter()
                        .map(|v| {
                            v.as_f64()
                                .filter(|x| x.is_finite() && *x >= 0.0)
                                .map(|x| x * scale)
                                .ok_or_else(|| {
                                    format!("routing service has no road for a pair ({name})")
                                })
                        })
                        .collect()
                })
                .collect()
        };
        let secs = grid("durations", 1.0)?;
        let km = grid("distances", 0.001)?;
        if let Ok(mut cache) = self.cache.lock() {
            let now = Instant::now();
            for (i, a) in places.iter().enumerate() {
                for (j, b) in places.iter().enumerate() {
                    cache.insert(key(a, b), (secs[i][j], km[i][j], now));
                }
            }
        }
        Ok((secs, km))
    }
}

impl RoutingTable for OsrmTable {
    fn table<'a>(
        &'a self,
        places: &'a [Place],
    ) -> Pin<Box<dyn Future<Output = Result<Matrices, String>> + Send + 'a>> {
        Box::pin(async move {
            match self.cached(places) {
                Some(m) => Ok(m),
                None => self.fetch(places).await,
            }
        })
    }
}
