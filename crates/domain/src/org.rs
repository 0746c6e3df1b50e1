//! The operating model: organisation kinds, roles, and what each role may do.
//! Brands and markets are data (see the store); the kinds and roles here are the vocabulary.

use serde::{Deserialize, Serialize};

use crate::validation::{FieldError, Rule};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum OrgKind {
    BrandHq,
    MarketEntity,
    Importer,
    ServicePoint,
    CustomerCareCentre,
}

impl OrgKind {
    pub const ALL: [OrgKind; 5] = [
        OrgKind::BrandHq,
        OrgKind::MarketEntity,
        OrgKind::Importer,
        OrgKind::ServicePoint,
        OrgKind::CustomerCareCentre,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::BrandHq => "brand-hq",
            OrgKind::MarketEntity => "market-entity",
            OrgKind::Importer => "importer",
            OrgKind::ServicePoint => "service-point",
            OrgKind::CustomerCareCentre => "customer-care-centre",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<OrgKind, FieldError> {
        OrgKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    Rule::OneOf,
                    format!(
                        "{field} must be one of {}",
                        OrgKind::ALL.map(|k| k.as_str()).join(", ")
                    ),
                )
            })
    }

    /// Which kinds may sit directly under this one. A brand HQ is always a root.
    pub fn may_have_child(self, child: OrgKind) -> bool {
        use OrgKind::*;
        match self {
            BrandHq => matches!(child, MarketEntity | CustomerCareCentre | ServicePoint),
            MarketEntity => matches!(child, Importer | ServicePoint | CustomerCareCentre),
            Importer => matches!(child, ServicePoint | CustomerCareCentre),
            ServicePoint | CustomerCareCentre => false,
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    ServiceAdvisor,
    ServiceManager,
    Technician,
    ValetDriver,
    MarketCsManager,
    ImporterStaff,
    HqAnalyst,
    /// Decides warranty claims and goodwill for a brand (at its HQ), a market or an importer.
    WarrantyAdministrator,
    Administrator,
}

impl Permission {
    /// What the permission allows, in words for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Permission::OrgRead => "seeing this organisation",
            Permission::OrgManage => {
                "changing organisations here, which needs the administrator role"
            }
            Permission::UserManage => "managing people here, which needs the administrator role",
            Permission::AuditRead => "reading the security log, which needs the administrator role",
            Permission::CrmRead => {
                "seeing customers, vehicles and cases here, which valet drivers and HQ analysts may not"
            }
            Permission::CrmWrite => {
                "changing customers and vehicles, which valet drivers and HQ analysts may not"
            }
            Permission::KnowledgeManage => {
                "writing the knowledge base, which needs a service manager, market manager or administrator"
            }
            Permission::WorkshopWrite => {
                "booking and working on repair orders, which needs a service advisor, service manager or technician"
            }
            Permission::WorkshopPlan => {
                "assigning jobs and seeing prices, which needs a service advisor or service manager"
            }
            Permission::WorkshopManage => {
                "setting up bays, technicians and catalogues, which needs a service manager, market manager, importer staff or administrator"
            }
            Permission::NotifyManage => {
                "changing customer messages and the outbox, which needs an administrator or market manager"
            }
            Permission::BillingRead => {
                "seeing invoices and payments here, which needs a service advisor, service manager, market manager, importer staff or administrator"
            }
            Permission::BillingWrite => {
                "invoicing, crediting and recording payments, which needs a service advisor or service manager"
            }
            Permission::BillingManage => {
                "setting up the legal entity and number series, which needs a service manager, market manager or administrator"
            }
            Permission::LogisticsRead => {
                "seeing pickups and deliveries, which needs a service advisor, service manager or valet driver"
            }
            Permission::LogisticsPlan => {
                "planning pickups and deliveries, which needs a service advisor or service manager"
            }
            Permission::LogisticsDrive => {
                "working a driver's run sheet, which needs a valet driver, service advisor or service manager"
            }
            Permission::LogisticsManage => {
                "setting up loaners, wash bays and drivers' shifts, which needs a service manager"
            }
            Permission::WarrantyRead => {
                "seeing warranty claims here, which valet drivers and technicians may not"
            }
            Permission::WarrantyClaim => {
                "making warranty claims, which needs a service advisor or service manager"
            }
            Permission::WarrantyReview => {
                "reviewing warranty claims, which needs importer staff, a market manager or a warranty administrator"
            }
            Permission::WarrantyDecide => {
                "deciding warranty claims for the brand, which needs a warranty administrator at its headquarters"
            }
            Permission::WarrantyAnalyse => {
                "analysing warranty claims, which needs a market manager, importer staff, an analyst or a warranty administrator"
            }
            Permission::WarrantyAudit => {
                "auditing service points' claims, which needs a market manager, importer staff or a warranty administrator"
            }
            Permission::StandardsRead => {
                "seeing dealer standards and audits, which needs a role in the service network"
            }
            Permission::StandardsManage => {
                "keeping the standards catalogue, which needs a market manager or an analyst at the brand"
            }
            Permission::StandardsAudit => {
                "planning and running audits of dealer standards, which needs a market manager, importer staff or an analyst"
            }
            Permission::StandardsSelfAssess => {
                "the service point's self-assessment and its corrective actions, which needs an advisor or a service manager there"
            }
            Permission::TrainingRead => {
                "seeing people's trainings and competence gaps, which needs a service manager, market manager, importer staff or an analyst"
            }
            Permission::TrainingManage => {
                "keeping courses, profiles, sessions and training records, which needs a service manager, market manager, importer staff or an analyst at the brand"
            }
            Permission::KpiRead => {
                "reading KPIs, which needs a service manager, market manager, importer staff, an analyst or a warranty administrator"
            }
            Permission::KpiManage => {
                "setting KPI targets and costs, which needs a service manager, market manager, importer staff or an analyst"
            }
        }
    }
}

/// What a caller may do. A role granted at an organisation grants its permissions there and in
/// every organisation below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// See the organisation, its place in the tree and its people.
    OrgRead,
    /// Create and change organisations below it.
    OrgManage,
    /// Create users, grant and revoke roles, disable accounts.
    UserManage,
    /// Read the security audit log.
    AuditRead,
    /// See customers, vehicles and their timelines.
    CrmRead,
    /// Create and change customers, vehicles, consents, notes, odometer readings.
    CrmWrite,
    /// Write the knowledge base of remote fixes.
    KnowledgeManage,
    /// Book appointments, work on repair orders, clock time.
    WorkshopWrite,
    /// Plan the workshop's work and its money: assign (and reassign) jobs, see and set prices.
    WorkshopPlan,
    /// Bays, technicians' shifts and certificates, labour operations, parts and stock.
    WorkshopManage,
    /// Notification rules, templates and the outbox's dead letters.
    NotifyManage,
    /// See invoices, credit notes, payments and open items.
    BillingRead,
    /// Issue invoices and credit notes, record payments.
    BillingWrite,
    /// The legal entity that invoices, its number series and payers.
    BillingManage,
    /// See the day's pickups and deliveries and its plan (drivers see their run sheet).
    LogisticsRead,
    /// Add pickups and deliveries, lock and move them, re-plan the day.
    LogisticsPlan,
    /// Work a run sheet: on the way, arrived, done with the hand-over readings.
    LogisticsDrive,
    /// The depot and travel model, loaners, wash bays, drivers' shifts.
    LogisticsManage,
    /// See warranty claims of the organisations reached (not the customer behind them).
    WarrantyRead,
    /// Make warranty claims from repair orders, answer them when sent back, appeal once.
    WarrantyClaim,
    /// Review a claim as the importer (or market) between the service point and the brand.
    WarrantyReview,
    /// Decide a claim for the brand.
    WarrantyDecide,
    /// Analyse claims over the vehicles reached: rates per 1,000, cost per unit, failure trends,
    /// early warnings, the service points' risk.
    WarrantyAnalyse,
    /// Set the red-flag rules, propose audits of service points and record what they found
    /// (chargebacks).
    WarrantyAudit,
    /// See the standards catalogue, audits of the service points reached, their corrective
    /// actions and the network view.
    StandardsRead,
    /// Publish a new version of a standards catalogue (import), at a brand or a market.
    StandardsManage,
    /// Plan audits, answer as the auditor, raise corrective actions and verify them.
    StandardsAudit,
    /// Answer the service point's self-assessment and work its corrective actions.
    StandardsSelfAssess,
    /// See the people reached: their training records, competence gaps, compliance.
    TrainingRead,
    /// Keep the training catalogue and competence profiles (at a brand or market), record
    /// trainings, run sessions, map e-learning completions (xAPI).
    TrainingManage,
    /// Read the KPIs of the organisations reached, drill down, export.
    KpiRead,
    /// Set KPI targets and a service point's costs per hour.
    KpiManage,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::ServiceAdvisor,
        Role::ServiceManager,
        Role::Technician,
        Role::ValetDriver,
        Role::MarketCsManager,
        Role::ImporterStaff,
        Role::HqAnalyst,
        Role::WarrantyAdministrator,
        Role::Administrator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::ServiceAdvisor => "service-advisor",
            Role::ServiceManager => "service-manager",
            Role::Technician => "technician",
            Role::ValetDriver => "valet-driver",
            Role::MarketCsManager => "market-cs-manager",
            Role::ImporterStaff => "importer-staff",
            Role::HqAnalyst => "hq-analyst",
            Role::WarrantyAdministrator => "warranty-administrator",
            Role::Administrator => "administrator",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Role, FieldError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    Rule::OneOf,
                    format!(
                        "{field} must be one of {}",
                        Role::ALL.map(|r| r.as_str()).join(", ")
                    ),
                )
            })
    }

    /// Whether this role can be held at an organisation of `kind`: a technician works at a service
    /// point or care centre, an importer's staff at an importer, and so on. Administrators fit anywhere.
    pub fn fits(self, kind: OrgKind) -> bool {
        use OrgKind::*;
        match self {
            Role::Administrator => true,
            Role::HqAnalyst => kind == BrandHq,
            Role::WarrantyAdministrator => matches!(kind, BrandHq | MarketEntity | Importer),
            Role::MarketCsManager => matches!(kind, MarketEntity | BrandHq),
            Role::ImporterStaff => kind == Importer,
            Role::ServiceAdvisor | Role::ServiceManager => {
                matches!(kind, ServicePoint | CustomerCareCentre)
            }
            Role::Technician | Role::ValetDriver => kind == ServicePoint,
        }
    }

    pub fn grants(self, p: Permission) -> bool {
        match p {
            Permission::OrgRead => true,
            // Personal data (customers, vehicles, cases) is for the roles whose work is with a
            // customer; analysts see aggregates and drivers their stops, not the customer file.
            Permission::CrmRead | Permission::CrmWrite => {
                !matches!(self, Role::ValetDriver | Role::HqAnalyst)
            }
            Permission::KnowledgeManage => matches!(
                self,
                Role::ServiceManager | Role::MarketCsManager | Role::Administrator
            ),
            Permission::OrgManage | Permission::UserManage | Permission::AuditRead => {
                self == Role::Administrator
            }
            Permission::WorkshopWrite => matches!(
                self,
                Role::ServiceAdvisor | Role::ServiceManager | Role::Technician
            ),
            Permission::WorkshopPlan => {
                matches!(self, Role::ServiceAdvisor | Role::ServiceManager)
            }
            Permission::WorkshopManage => matches!(
                self,
                Role::ServiceManager
                    | Role::MarketCsManager
                    | Role::ImporterStaff
                    | Role::Administrator
            ),
            Permission::NotifyManage => {
                matches!(self, Role::MarketCsManager | Role::Administrator)
            }
            Permission::BillingRead => matches!(
                self,
                Role::ServiceAdvisor
                    | Role::ServiceManager
                    | Role::MarketCsManager
                    | Role::ImporterStaff
                    | Role::Administrator
            ),
            Permission::BillingWrite => {
                matches!(self, Role::ServiceAdvisor | Role::ServiceManager)
            }
            Permission::BillingManage => matches!(
                self,
                Role::ServiceManager | Role::MarketCsManager | Role::Administrator
            ),
            Permission::LogisticsRead | Permission::LogisticsDrive => matches!(
                self,
                Role::ServiceAdvisor | Role::ServiceManager | Role::ValetDriver
            ),
            Permission::LogisticsPlan => {
                matches!(self, Role::ServiceAdvisor | Role::ServiceManager)
            }
            Permission::LogisticsManage => self == Role::ServiceManager,
            Permission::WarrantyRead => matches!(
                self,
                Role::ServiceAdvisor
                    | Role::ServiceManager
                    | Role::MarketCsManager
                    | Role::ImporterStaff
                    | Role::HqAnalyst
                    | Role::WarrantyAdministrator
            ),
            Permission::WarrantyClaim => {
                matches!(self, Role::ServiceAdvisor | Role::ServiceManager)
            }
            Permission::WarrantyReview => matches!(
                self,
                Role::MarketCsManager | Role::ImporterStaff | Role::WarrantyAdministrator
            ),
            Permission::WarrantyDecide => self == Role::WarrantyAdministrator,
            Permission::WarrantyAnalyse => matches!(
                self,
                Role::MarketCsManager
                    | Role::ImporterStaff
                    | Role::HqAnalyst
                    | Role::WarrantyAdministrator
            ),
            Permission::WarrantyAudit => matches!(
                self,
                Role::MarketCsManager | Role::ImporterStaff | Role::WarrantyAdministrator
            ),
            Permission::StandardsRead => matches!(
                self,
                Role::ServiceAdvisor
                    | Role::ServiceManager
                    | Role::MarketCsManager
                    | Role::ImporterStaff
                    | Role::HqAnalyst
            ),
            Permission::StandardsManage => {
                matches!(self, Role::MarketCsManager | Role::HqAnalyst)
            }
            Permission::StandardsAudit => matches!(
                self,
                Role::MarketCsManager | Role::ImporterStaff | Role::HqAnalyst
            ),
            Permission::StandardsSelfAssess => {
                matches!(self, Role::ServiceAdvisor | Role::ServiceManager)
            }
            Permission::TrainingRead => matches!(
                self,
                Role::ServiceManager
                    | Role::MarketCsManager
                    | Role::ImporterStaff
                    | Role::HqAnalyst
            ),
            Permission::TrainingManage => matches!(
                self,
                Role::ServiceManager
                    | Role::MarketCsManager
                    | Role::ImporterStaff
                    | Role::HqAnalyst
            ),
            Permission::KpiRead => matches!(
                self,
                Role::ServiceManager
                    | Role::MarketCsManager
                    | Role::ImporterStaff
                    | Role::HqAnalyst
                    | Role::WarrantyAdministrator
            ),
            Permission::KpiManage => matches!(
                self,
                Role::ServiceManager
                    | Role::MarketCsManager
                    | Role::ImporterStaff
                    | Role::HqAnalyst
            ),
        }
    }

    /// The capabilities this role works with, in the order its navigation shows them.
    pub fn capabilities(self) -> &'static [Capability] {
        use Capability::*;
        match self {
            Role::ServiceAdvisor => &[
                Inbox,
                Customers,
                Reminders,
                Workshop,
                Logistics,
                Billing,
                Warranty,
                Network,
                Organisations,
            ],
            Role::ServiceManager => &[
                Inbox,
                Customers,
                Reminders,
                Workshop,
                Logistics,
                Billing,
                Warranty,
                Network,
                Training,
                Kpis,
                Organisations,
            ],
            Role::Technician => &[Workshop, Training],
            Role::ValetDriver => &[Logistics],
            Role::MarketCsManager => &[
                Inbox,
                Reminders,
                Warranty,
                Network,
                Training,
                Kpis,
                Pilots,
                Messages,
                Organisations,
            ],
            Role::ImporterStaff => &[
                Workshop,
                Billing,
                Warranty,
                Network,
                Training,
                Kpis,
                Pilots,
                Organisations,
            ],
            Role::HqAnalyst => &[Kpis, Warranty, Network, Pilots, Organisations],
            Role::WarrantyAdministrator => &[Warranty, Kpis, Organisations],
            Role::Administrator => &[Organisations, Users, Messages, Audit],
        }
    }
}

/// The capabilities a person reaches with their roles, in menu order: those of every role held,
/// plus the organisation tree and the people in it, which every signed-in user may browse.
pub fn navigation(roles: impl IntoIterator<Item = Role>) -> Vec<Capability> {
    let mut caps: Vec<Capability> = roles
        .into_iter()
        .flat_map(|r| r.capabilities().iter().copied())
        .collect();
    caps.extend([Capability::Organisations, Capability::Users]);
    caps.sort();
    caps.dedup();
    caps
}

/// A part of the product, as it appears in navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    Inbox,
    Customers,
    /// Service reminders: who is due, campaigns.
    Reminders,
    Workshop,
    Logistics,
    Billing,
    Warranty,
    Network,
    Training,
    Kpis,
    Pilots,
    /// Customer messages: notification rules, templates, the outbox.
    Messages,
    Organisations,
    Users,
    Audit,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Inbox => "inbox",
            Capability::Customers => "customers",
            Capability::Reminders => "reminders",
            Capability::Workshop => "workshop",
            Capability::Logistics => "logistics",
            Capability::Billing => "billing",
            Capability::Warranty => "warranty",
            Capability::Network => "network",
            Capability::Training => "training",
            Capability::Kpis => "kpis",
            Capability::Pilots => "pilots",
            Capability::Messages => "messages",
            Capability::Organisations => "organisations",
            Capability::Users => "users",
            Capability::Audit => "audit",
        }
    }

    /// The UI path of a capability that is built; `None` for one still to come.
    pub fn path(self) -> Option<&'static str> {
        match self {
            Capability::Inbox => Some("/inbox"),
            Capability::Customers => Some("/customers"),
            Capability::Reminders => Some("/reminders"),
            Capability::Workshop => Some("/workshop"),
            Capability::Logistics => Some("/logistics"),
            Capability::Billing => Some("/billing"),
            Capability::Warranty => Some("/warranty"),
            Capability::Network => Some("/network"),
            Capability::Training => Some("/training"),
            Capability::Kpis => Some("/kpis"),
            Capability::Pilots => Some("/pilots"),
            Capability::Messages => Some("/messages"),
            Capability::Organisations => Some("/organisations"),
            Capability::Users => Some("/users"),
            Capability::Audit => Some("/audit"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_roles_round_trip() {
        for k in OrgKind::ALL {
            assert_eq!(OrgKind::parse("kind", k.as_str()), Ok(k));
        }
        for r in Role::ALL {
            assert_eq!(Role::parse("role", r.as_str()), Ok(r));
        }
        let e = Role::parse("role", "king").unwrap_err();
        assert_eq!((e.field.as_str(), e.rule), ("role", Rule::OneOf));
    }

    #[test]
    fn only_administrators_manage_users() {
        for r in Role::ALL {
            assert_eq!(r.grants(Permission::UserManage), r == Role::Administrator);
            assert!(r.grants(Permission::OrgRead));
        }
    }

    #[test]
    fn roles_fit_their_organisations() {
        assert!(Role::Technician.fits(OrgKind::ServicePoint));
        assert!(!Role::Technician.fits(OrgKind::Importer));
        assert!(Role::ImporterStaff.fits(OrgKind::Importer));
        assert!(Role::ServiceAdvisor.fits(OrgKind::CustomerCareCentre));
        assert!(!Role::MarketCsManager.fits(OrgKind::ServicePoint));
        assert!(OrgKind::ALL.iter().all(|k| Role::Administrator.fits(*k)));
    }

    #[test]
    fn tree_shape() {
        assert!(OrgKind::BrandHq.may_have_child(OrgKind::MarketEntity));
        assert!(OrgKind::Importer.may_have_child(OrgKind::ServicePoint));
        assert!(!OrgKind::ServicePoint.may_have_child(OrgKind::Importer));
        assert!(!OrgKind::MarketEntity.may_have_child(OrgKind::BrandHq));
    }
}
