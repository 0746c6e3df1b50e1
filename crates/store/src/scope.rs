//! The caller's reach: which organisations they may read or change, derived from their roles.
//! A `Scope` can only be built by the store from a signed-in user (see `auth`), so every scoped
//! query is bounded by what that user's memberships grant.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aftersales_domain::org::{Permission, Role};

use crate::db::Store;
use crate::error::StoreError;

#[derive(Debug, Clone)]
pub struct Scope {
    user_id: String,
    /// Every organisation the user reaches, with the roles in force there (granted there or above).
    roles: Arc<BTreeMap<String, BTreeSet<Role>>>,
    /// Organisations above the user's memberships, with the roles held below them. Shared records
    /// owned there (the market's customers and vehicles) are visible to the people below.
    above: Arc<BTreeMap<String, BTreeSet<Role>>>,
}

impl Scope {
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// Organisations where the caller holds `p`.
    pub fn orgs_with(&self, p: Permission) -> Vec<String> {
        self.roles
            .iter()
            .filter(|(_, roles)| roles.iter().any(|r| r.grants(p)))
            .map(|(id, _)| id.clone())
            .collect()
    }

    pub fn permits(&self, org_id: &str, p: Permission) -> bool {
        self.roles
            .get(org_id)
            .is_some_and(|roles| roles.iter().any(|r| r.grants(p)))
    }

    pub fn roles_at(&self, org_id: &str) -> Option<&BTreeSet<Role>> {
        self.roles.get(org_id)
    }

    /// All roles the caller holds anywhere.
    pub fn all_roles(&self) -> BTreeSet<Role> {
        self.roles.values().flatten().copied().collect()
    }

    /// Owners of shared records (customers, vehicles) the caller may see or change with `p`:
    /// the organisations in reach, and those above them (a market's CRM serves its service points).
    pub fn record_owners_with(&self, p: Permission) -> Vec<String> {
        let mut out = self.orgs_with(p);
        out.extend(
            self.above
                .iter()
                .filter(|(id, roles)| {
                    !self.roles.contains_key(*id) && roles.iter().any(|r| r.grants(p))
                })
                .map(|(id, _)| id.clone()),
        );
        out
    }

    pub fn permits_record(&self, owner_org: &str, p: Permission) -> bool {
        self.permits(owner_org, p)
            || self
                .above
                .get(owner_org)
                .is_some_and(|roles| roles.iter().any(|r| r.grants(p)))
    }

    /// Like `require`, for shared records owned at `owner_org`.
    pub fn require_record(&self, owner_org: &str, p: Permission) -> Result<(), StoreError> {
        if self.permits_record(owner_org, p) {
            Ok(())
        } else if self.permits_record(owner_org, Permission::CrmRead) {
            Err(StoreError::Forbidden(format!(
                "your roles here do not allow {}",
                p.describe()
            )))
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// Refuses a caller who holds `p` nowhere (a list across all their organisations): the
    /// reason is named, instead of an empty list that hides it.
    pub fn require_somewhere(&self, p: Permission) -> Result<(), StoreError> {
        if self.roles.values().flatten().any(|r| r.grants(p)) {
            Ok(())
        } else {
            Err(StoreError::Forbidden(format!(
                "your roles do not allow {}",
                p.describe()
            )))
        }
    }

    pub fn require(&self, org_id: &str, p: Permission) -> Result<(), StoreError> {
        if self.permits(org_id, p) {
            Ok(())
        } else if self.permits(org_id, Permission::OrgRead) {
            Err(StoreError::Forbidden(format!(
                "your roles here do not allow {}",
                p.describe()
            )))
        } else {
            Err(StoreError::NotFound)
        }
    }
}

impl Store {
    /// Derives the scope of a user from their memberships and the organisation tree.
    pub(crate) async fn scope_of(&self, user_id: &str) -> Result<Scope, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "WITH RECURSIVE reach(id, role) AS ( \
                SELECT organisation_id, role FROM memberships WHERE user_id = $1 \
                UNION \
                SELECT o.id, reach.role FROM organisations o JOIN reach ON o.parent_id = reach.id \
             ) SELECT id, role FROM reach",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        let mut roles: BTreeMap<String, BTreeSet<Role>> = BTreeMap::new();
        for (org, role) in rows {
            // An unknown role in the table (from a newer version) grants nothing here.
            if let Ok(role) = Role::parse("role", &role) {
                roles.entry(org).or_default().insert(role);
            }
        }
        let up: Vec<(String, String)> = sqlx::query_as(
            "WITH RECURSIVE up(id, role) AS ( \
                SELECT o.parent_id, m.role FROM memberships m JOIN organisations o ON o.id = m.organisation_id \
                 WHERE m.user_id = $1 AND o.parent_id IS NOT NULL \
                UNION \
                SELECT o.parent_id, up.role FROM organisations o JOIN up ON o.id = up.id WHERE o.parent_id IS NOT NULL \
             ) SELECT id, role FROM up",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        let mut above: BTreeMap<String, BTreeSet<Role>> = BTreeMap::new();
        for (org, role) in up {
            if let Ok(role) = Role::parse("role", &role) {
                above.entry(org).or_default().insert(role);
            }
        }
        Ok(Scope {
            user_id: user_id.to_string(),
            roles: Arc::new(roles),
            above: Arc::new(above),
        })
    }
}
