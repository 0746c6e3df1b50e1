//! A KPI's page: its figure broken down by a dimension (from the roll-ups where they hold it,
//! else from the facts) and the newest items behind it, with the people's names.

use super::*;

impl Kpis<'_> {
    /// One KPI over the query's period: its figure against the target, the breakdown by `by`,
    /// and the newest `limit` items behind it.
    pub async fn report(
        self,
        scope: &Scope,
        k: Kpi,
        q: &KpiQuery,
        by: Dimension,
        limit: usize,
        now: OffsetDateTime,
    ) -> Result<KpiReport, StoreError> {
        if let Some(page) = k.computed_at() {
            return Err(StoreError::Invalid(
                aftersales_domain::FieldError::new(
                    "code",
                    aftersales_domain::Rule::NotAllowed,
                    format!("{} is computed on {page}", k.as_str()),
                )
                .into(),
            ));
        }
        if !k.dimensions().contains(&by) {
            return Err(StoreError::Invalid(
                aftersales_domain::FieldError::new(
                    "by",
                    aftersales_domain::Rule::OneOf,
                    format!(
                        "by must be one of {}",
                        k.dimensions()
                            .iter()
                            .map(|d| d.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .into(),
            ));
        }
        // A breakdown by organisation or month of an unfiltered view adds up the roll-ups; by
        // person, model or pay type, or filtered, it reads the facts of the period.
        let from_rollups = unfiltered(q)
            && rollups::rolled(k)
            && matches!(
                by,
                Dimension::ServicePoint | Dimension::Market | Dimension::Month
            );
        let loaded = if from_rollups {
            self.load(scope, q, &[], now).await?
        } else {
            self.load(scope, q, &[k], now).await?
        };
        let view = Self::view_org(&loaded.orgs, &loaded.reach, q);
        let within = |org: &str| view.as_deref().is_none_or(|o| loaded.orgs.is_under(org, o));
        let (value, breakdown, cs, facts_read) = if from_rollups {
            let both = self
                .rolled(&loaded, &[k], q.period, by == Dimension::Month, now)
                .await?
                .remove(&k)
                .unwrap_or_default();
            let value = loaded.value(k, q, &both, view.as_deref());
            let mut groups: BTreeMap<Option<String>, Vec<&Part>> = BTreeMap::new();
            for p in both.0.iter().filter(|p| within(&p.org)) {
                let key = match by {
                    Dimension::Market => loaded.orgs.dims(&p.org).market,
                    Dimension::Month => p.month.map(rollups::month_label),
                    _ => Some(p.org.clone()),
                };
                groups.entry(key).or_default().push(p);
            }
            let mut breakdown: Vec<(Option<String>, kpi::Figure)> = groups
                .into_iter()
                .map(|(key, ps)| (key, figure_of(k, ps)))
                .collect();
            breakdown.sort_by(|a, b| (a.0.is_none(), &a.0).cmp(&(b.0.is_none(), &b.0)));
            let (cs, facts_read) = self.newest(&loaded, k, q, &within, limit, now).await?;
            (value, breakdown, cs, facts_read)
        } else {
            let both = loaded.both(k, q, now);
            let value = loaded.value(k, q, &both, view.as_deref());
            let mut cs = loaded.contributions(k, q, q.period, now);
            cs.retain(|c| within(&c.dims.service_point));
            let breakdown = kpi::breakdown(k, &cs, by);
            (value, breakdown, cs, None)
        };
        let people = self.people(&cs).await?;
        let breakdown = breakdown
            .into_iter()
            .map(|(key, figure)| {
                let label = match (&key, by) {
                    (None, _) => String::new(),
                    (Some(id), Dimension::ServicePoint) => loaded.orgs.name(id),
                    (Some(id), Dimension::Market) => {
                        loaded.orgs.market_name(id).unwrap_or_else(|| id.clone())
                    }
                    (Some(id), Dimension::Advisor | Dimension::Technician) => {
                        people.get(id).cloned().unwrap_or_default()
                    }
                    (Some(v), _) => v.clone(),
                };
                let rag = match (&key, by) {
                    (Some(id), Dimension::ServicePoint) => loaded
                        .target(k, id, q.period)
                        .zip(figure.value)
                        .map(|(t, v)| rag_of(k, &t, v)),
                    _ => None,
                };
                BreakdownRow {
                    key,
                    label,
                    figure,
                    rag,
                }
            })
            .collect();
        let mut cs = cs;
        cs.sort_by(|a, b| {
            b.at.cmp(&a.at)
                .then_with(|| a.item.label.cmp(&b.item.label))
        });
        let items_total = if from_rollups {
            value.figure.items
        } else {
            cs.len()
        };
        let ros = &facts_read.as_ref().unwrap_or(&loaded.facts).ros;
        let split = |c: &Contribution| {
            if k != Kpi::Turnaround {
                return None;
            }
            ros.iter()
                .find(|r| r.id == c.item.id)
                .and_then(aftersales_domain::kpi::formulas::turnaround_split)
        };
        let items = cs
            .into_iter()
            .take(limit)
            .map(|c| KpiItem {
                active_hours: split(&c).map(|s| s.0),
                waiting_hours: split(&c).map(|s| s.1),
                href: href(c.item.kind, &c.item.id),
                at: c.at,
                service_point: Ref {
                    label: loaded.orgs.name(&c.dims.service_point),
                    id: c.dims.service_point,
                },
                numerator: c.num,
                denominator: c.den,
                currency: c.currency,
                item: c.item,
            })
            .collect();
        Ok(KpiReport {
            kpi: k,
            from: q.period.from,
            to: q.period.to,
            value,
            by,
            breakdown,
            items,
            items_total,
        })
    }

    /// The shares of `kpis` over `period` and the period before from the roll-ups (brought up
    /// to date first), at the organisations the view reads; by month with `by_month`.
    pub(super) async fn rolled(
        &self,
        loaded: &Loaded,
        kpis: &[Kpi],
        period: Period,
        by_month: bool,
        now: OffsetDateTime,
    ) -> Result<BTreeMap<Kpi, Both>, StoreError> {
        let mut out: BTreeMap<Kpi, Both> = kpis.iter().map(|k| (*k, Both::default())).collect();
        if kpis.is_empty() {
            return Ok(out);
        }
        let pool = &self.store.pool;
        rollups::refresh(pool, now).await?;
        let today = now.to_offset(time::UtcOffset::UTC).date();
        let current = rollups::read(pool, &loaded.reach, kpis, period, today, by_month).await?;
        let before =
            rollups::read(pool, &loaded.reach, kpis, period.previous(), today, false).await?;
        for r in current {
            if let Some(e) = out.get_mut(&r.kpi) {
                e.0.push(loaded.part_of(&r));
            }
        }
        for r in before {
            if let Some(e) = out.get_mut(&r.kpi) {
                e.1.push(loaded.part_of(&r));
            }
        }
        Ok(out)
    }

    /// The newest `limit` (or more) contributions behind a figure and the facts they came from:
    /// the facts of the period's last day, then of four times as many days, until there are
    /// enough or the whole period is read. Exact: a contribution counts on its own day.
    pub(super) async fn newest(
        &self,
        loaded: &Loaded,
        k: Kpi,
        q: &KpiQuery,
        within: &(dyn Fn(&str) -> bool + Sync),
        limit: usize,
        now: OffsetDateTime,
    ) -> Result<(Vec<Contribution>, Option<Facts>), StoreError> {
        let today = now.to_offset(time::UtcOffset::UTC).date();
        // Days whose 30 days are still running have nothing in them yet.
        let last = if rollups::waits(k) {
            q.period.to.min(
                today - time::Duration::days(aftersales_domain::kpi::formulas::RETURN_DAYS + 1),
            )
        } else {
            q.period.to
        };
        if last < q.period.from {
            return Ok((Vec::new(), None));
        }
        let mut span = 1;
        loop {
            let from = q.period.from.max(last - time::Duration::days(span - 1));
            let window = Period { from, to: last };
            let f = facts::load(
                &self.store.pool,
                &loaded.orgs,
                &loaded.reach,
                window,
                facts::Needs::of(&[k]),
            )
            .await?;
            let mut cs = facts::contributions(k, &f, window, now, &|o| loaded.costs_of(o));
            cs.retain(|c| within(&c.dims.service_point));
            if cs.len() >= limit || from == q.period.from {
                return Ok((cs, Some(f)));
            }
            span *= 4;
        }
    }

    /// Each KPI's figure per service point and month, for the pilots: `(kpi, point, month
    /// index)`. The caller has checked that the points are in reach.
    pub(crate) async fn monthly(
        self,
        points: &[String],
        kpis: &[Kpi],
        months: &[Period],
        now: OffsetDateTime,
    ) -> Result<Monthly, StoreError> {
        let mut out = Monthly::new();
        let (Some(first), Some(last)) = (months.first(), months.last()) else {
            return Ok(out);
        };
        let orgs = Orgs::load(&self.store.pool).await?;
        let window = Period {
            from: first.from,
            to: last.to,
        };
        let (rolled, from_facts): (Vec<Kpi>, Vec<Kpi>) =
            kpis.iter().partition(|k| rollups::rolled(**k));
        let mut facts = facts::load(
            &self.store.pool,
            &orgs,
            points,
            window,
            facts::Needs::of(&from_facts),
        )
        .await?;
        if from_facts.contains(&Kpi::Productivity) {
            for m in months {
                let t = facts::load_times(&self.store.pool, &orgs, points, *m, now).await?;
                facts.times.push((*m, t));
            }
        }
        let loaded = Loaded {
            orgs,
            reach: points.to_vec(),
            facts,
            costs: self.costs_map().await?,
            targets: Vec::new(),
        };
        for k in &from_facts {
            for (i, m) in months.iter().enumerate() {
                let cs = facts::contributions(*k, &loaded.facts, *m, now, &|o| loaded.costs_of(o));
                let mut by: BTreeMap<&str, Vec<&Contribution>> = BTreeMap::new();
                for c in &cs {
                    by.entry(c.dims.service_point.as_str()).or_default().push(c);
                }
                for (point, group) in by {
                    out.insert((*k, point.to_string(), i), kpi::figure(*k, group));
                }
            }
        }
        if !rolled.is_empty() {
            let pool = &self.store.pool;
            rollups::refresh(pool, now).await?;
            let today = now.to_offset(time::UtcOffset::UTC).date();
            let index: BTreeMap<i64, usize> = months
                .iter()
                .enumerate()
                .map(|(i, m)| (rollups::month_of(m.from), i))
                .collect();
            let mut groups: BTreeMap<(Kpi, String, usize), Vec<Part>> = BTreeMap::new();
            for r in rollups::read(pool, points, &rolled, window, today, true).await? {
                let Some(i) = r.month.and_then(|m| index.get(&m)) else {
                    continue;
                };
                groups
                    .entry((r.kpi, r.org.clone(), *i))
                    .or_default()
                    .push(loaded.part_of(&r));
            }
            for ((k, point, i), parts) in groups {
                out.insert((k, point, i), figure_of(k, &parts));
            }
        }
        Ok(out)
    }

    /// Names of the advisors and technicians in contributions.
    pub(super) async fn people(
        &self,
        cs: &[Contribution],
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let ids: BTreeSet<&str> = cs
            .iter()
            .flat_map(|c| [c.dims.advisor.as_deref(), c.dims.technician.as_deref()])
            .flatten()
            .collect();
        let mut out = BTreeMap::new();
        for chunk in ids.into_iter().collect::<Vec<_>>().chunks(500) {
            let sql = format!(
                "SELECT id, display_name FROM users WHERE id IN ({})",
                crate::db::placeholders(1, chunk.len())
            );
            let mut q = sqlx::query_as::<_, (String, String)>(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            out.extend(q.fetch_all(&self.store.pool).await?);
        }
        Ok(out)
    }
}
