//! The red flags found per service point and claim: the risk ranking and a point's flagged claims.

use super::*;

impl Warranty<'_> {
    /// The rules' findings over the service points in reach for the period ending `on`: the
    /// auditing organisation, its rules, each service point's standing (highest score first) and
    /// how to pick claims by flag. `funnels`: also compare the service points with their peers
    /// (the score needs it, a claim's flags do not). `only`: the standing of that service point
    /// alone (the others still count for shared addresses and the funnels).
    pub(super) async fn findings(
        self,
        scope: &Scope,
        on: Date,
        months: u32,
        funnels: bool,
        only: Option<&str>,
    ) -> Result<(String, Vec<(RuleSetting, bool)>, Vec<PointRisk>, Judging), StoreError> {
        let (org, _) = self.auditing_org(scope).await?;
        self.refresh_facts().await?;
        let rules = self.rules_at(&org).await?;
        let enabled: Vec<RuleSetting> = rules.iter().map(|r| r.0).filter(|r| r.enabled).collect();
        let orgs = scope.orgs_with(Permission::WarrantyAudit);
        let from = period_start(on, months);
        let n = orgs.len();
        let period = format!(
            "f.point_id IN ({}) AND f.opened_on > ${} AND f.opened_on <= ${}{}",
            placeholders(1, n),
            n + 1,
            n + 2,
            if only.is_some() {
                format!(" AND f.point_id = ${}", n + 3)
            } else {
                String::new()
            }
        );
        let mut judging = Judging {
            rules: enabled.clone(),
            orgs: orgs.clone(),
            from,
            on,
            by_address: self.facts_as("g", Read::ByAddress),
            high_no_trouble: Vec::new(),
        };
        // The counts reuse the query's own reach and period ($1 …) for the shared addresses.
        let exprs = judging.exprs(1);
        let sums: String = exprs
            .iter()
            .map(|(_, e)| format!(", CAST(SUM(CASE WHEN {e} THEN 1 ELSE 0 END) AS BIGINT)"))
            .collect();
        let sql = format!(
            "SELECT f.point_id, COUNT(*), CAST(SUM(f.analysed) AS BIGINT), CAST(SUM(f.no_trouble) AS BIGINT){sums} \
             FROM {} WHERE {period} GROUP BY f.point_id",
            self.facts_as("f", Read::Table)
        );
        let mut q = sqlx::query(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        q = q.bind(from.to_string()).bind(on.to_string());
        if let Some(p) = only {
            q = q.bind(p);
        }
        let mut counted = Vec::new();
        for row in q.fetch_all(&self.store.pool).await? {
            let point: String = row.try_get(0)?;
            let claims: i64 = row.try_get(1)?;
            let analysed: i64 = row.try_get(2)?;
            let bad: i64 = row.try_get(3)?;
            let mut hits = std::collections::BTreeMap::new();
            for (i, (flag, _)) in exprs.iter().enumerate() {
                let hit: i64 = row.try_get(4 + i)?;
                if hit > 0 {
                    hits.insert(*flag, usize::try_from(hit).unwrap_or(0));
                }
            }
            let (analysed, bad) = (
                usize::try_from(analysed).unwrap_or(0),
                usize::try_from(bad).unwrap_or(0),
            );
            if let Some(r) = enabled.iter().find(|r| r.flag == RedFlag::NoTroubleFound) {
                if rules::no_trouble_high(r, analysed, bad) {
                    judging.high_no_trouble.push(point.clone());
                    if bad > 0 {
                        hits.insert(RedFlag::NoTroubleFound, bad);
                    }
                }
            }
            counted.push((
                point,
                usize::try_from(claims).unwrap_or(0),
                hits,
                (analysed, bad),
            ));
        }
        let mut outliers: HashMap<String, Vec<String>> = HashMap::new();
        if funnels {
            for (measure, f) in self.peer_funnels(scope, on, months).await? {
                let Ok(f) = f else { continue };
                let name = measure.as_str();
                for ((id, _), p) in f.points.iter().zip(&f.funnel.points) {
                    if p.position_998 == aftersales_domain::analysis::funnel::Position::Above {
                        outliers.entry(id.clone()).or_default().push(name.into());
                    }
                }
            }
        }
        let mut points: Vec<PointRisk> = counted
            .into_iter()
            .map(|(point, claims, hits, returned)| {
                let outlier_on = outliers.get(&point).cloned().unwrap_or_default();
                rules::point_risk(&point, claims, hits, returned, outlier_on, &enabled)
            })
            .collect();
        points.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.point.cmp(&b.point)));
        Ok((org, rules, points, judging))
    }

    /// A service point's claims in the period ending `on` with their flags (as a mask over the
    /// returned rules): those `pick` names, oldest first, or the newest `limit` of them; each row
    /// says how many there are in all.
    pub(super) async fn point_claims(
        self,
        judging: &Judging,
        point: &str,
        from: Date,
        on: Date,
        pick: Pick,
        limit: Option<i64>,
    ) -> Result<(Vec<FlagRow>, Vec<RedFlag>), StoreError> {
        let (mask, bits) = judging.mask(point, 4);
        let extra = match pick {
            Pick::Paid => "x.paid_minor > 0".to_string(),
            Pick::Flagged(None) => "x.mask <> 0".to_string(),
            Pick::Flagged(Some(flag)) => match bits.iter().position(|b| *b == flag) {
                Some(i) => format!("(x.mask & {}) <> 0", 1_i64 << i),
                None => "1 = 0".to_string(),
            },
        };
        let order = match limit {
            Some(n) => format!("ORDER BY x.opened_on DESC, x.number LIMIT {}", n.max(0)),
            None => "ORDER BY x.opened_on, x.claim_id".to_string(),
        };
        let sql = format!(
            "SELECT x.*, COUNT(*) OVER () FROM (SELECT f.claim_id, f.number, f.vin, f.opened_on, f.status, f.paid_minor, \
             f.currency, {mask} AS mask FROM claim_facts f WHERE f.point_id = $1 AND f.opened_on > $2 AND f.opened_on <= $3) x \
             WHERE {extra} {order}"
        );
        let q = sqlx::query_as::<_, FlagRow>(&sql)
            .bind(point)
            .bind(from.to_string())
            .bind(on.to_string());
        Ok((judging.bind(q).fetch_all(&self.store.pool).await?, bits))
    }

    /// The service points in reach ranked by risk over the `months` months up to `on`.
    pub async fn risk(
        self,
        scope: &Scope,
        on: Date,
        months: u32,
    ) -> Result<RiskOverview, StoreError> {
        let (_, rules, points, _) = self.findings(scope, on, months, true, None).await?;
        let ids: Vec<&str> = points.iter().map(|p| p.point.as_str()).collect();
        let names = self.names(&ids, "organisations", "name").await?;
        let open: Vec<(String, String, String)> = if ids.is_empty() {
            Vec::new()
        } else {
            let sql = format!(
                "SELECT service_point_id, id, number FROM claim_audits WHERE status = 'open' \
                 AND service_point_id IN ({}) ORDER BY created_at",
                placeholders(1, ids.len())
            );
            let mut q = sqlx::query_as::<_, (String, String, String)>(&sql);
            for id in &ids {
                q = q.bind(*id);
            }
            q.fetch_all(&self.store.pool).await?
        };
        Ok(RiskOverview {
            from: first_day(on, months).to_string(),
            to: on.to_string(),
            rules: Self::rule_rows(&rules),
            points: points
                .iter()
                .map(|p| PointRiskRow {
                    service_point: Ref {
                        id: p.point.clone(),
                        label: names.get(&p.point).cloned().unwrap_or_default(),
                    },
                    claims: p.claims as i64,
                    hits: p
                        .hits
                        .iter()
                        .map(|(flag, n)| FlagCount {
                            flag: *flag,
                            claims: *n as i64,
                        })
                        .collect(),
                    no_trouble_pct: p.no_trouble_share.map(|s| s * 100.0),
                    outlier_on: p.outlier_on.clone(),
                    score: p.score,
                    open_audit: open.iter().find(|(sp, ..)| sp == &p.point).map(
                        |(_, id, number)| Ref {
                            id: id.clone(),
                            label: number.clone(),
                        },
                    ),
                })
                .collect(),
        })
    }

    /// The claims of a service point a rule hits (every flagged claim without a rule), newest
    /// first, at most `limit` of them; with how many there are in all.
    pub async fn flagged_claims(
        self,
        scope: &Scope,
        on: Date,
        months: u32,
        point: &str,
        flag: Option<RedFlag>,
        limit: Option<i64>,
    ) -> Result<(i64, Vec<FlaggedClaim>), StoreError> {
        if !scope.permits(point, Permission::WarrantyAudit) {
            return Err(StoreError::NotFound);
        }
        let (_, _, _, judging) = self.findings(scope, on, months, false, Some(point)).await?;
        let from = period_start(on, months);
        let (rows, bits) = self
            .point_claims(
                &judging,
                point,
                from,
                on,
                Pick::Flagged(flag),
                Some(limit.unwrap_or(i64::MAX)),
            )
            .await?;
        let total = rows.first().map_or(0, |r| r.8);
        let out = rows
            .into_iter()
            .filter_map(
                |(id, number, vin, opened_on, status, paid, currency, mask, _)| {
                    Some(FlaggedClaim {
                        id,
                        number,
                        vin,
                        opened_on,
                        status: ClaimStatus::parse("status", &status).ok()?,
                        flags: flags_of(mask, &bits),
                        paid: Money::new(paid, &currency),
                    })
                },
            )
            .collect();
        Ok((total, out))
    }
}
