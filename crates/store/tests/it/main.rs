//! Store conformance suite: every test runs on SQLite and on PostgreSQL (`TEST_DATABASE_URL`),
//! with the same assertions, so the two engines cannot drift apart in behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod billing;
mod cases;
mod cases_it;
mod crm;
mod kpis;
mod logistics;
mod pilots;
mod reminders;
mod standards;
mod training;
mod warranty;
mod workshop;

/// Generates `sqlite::<case>` and `postgres::<case>` tests for each case in `cases`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = aftersales_store::testing::sqlite().await.unwrap();
                    crate::$name(&db.store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = aftersales_store::testing::postgres().await {
                        crate::$name(&db.store).await;
                    }
                }
            )*
        }
    };
}

use billing::*;
use cases::*;
use cases_it::*;
use crm::*;
use kpis::*;
use logistics::*;
use pilots::*;
use reminders::*;
use standards::*;
use training::*;
use warranty::*;
use workshop::*;

conformance!(
    kpis_are_computed_from_what_happened,
    kpi_rollups_equal_the_facts_and_follow_every_change,
    pilots_are_evaluated_against_their_control_group,
    training_gaps_enforcement_and_xapi,
    dealer_standards_audit_and_actions,
    logistics_day_is_planned_locked_driven_and_never_overwritten,
    warranty_coverage_is_decided_per_vehicle,
    warranty_claims_pass_the_network,
    goodwill_follows_the_policy_and_the_authority,
    campaigns_count_their_completion,
    warranty_terms_are_kept_by_the_brand,
    fitted_parts_keep_their_own_warranty,
    goodwill_asked_on_a_case_lands_on_its_repair_order,
    claim_analysis_reads_the_history,
    audit_of_service_points,
    migrations_are_idempotent,
    unknown_stored_values_fail_loudly,
    safety_cases_get_no_remote_fix,
    impossible_dates_are_refused,
    scopes_follow_the_organisation_tree,
    login_sessions_and_expiry,
    callers_follow_every_change_at_once,
    failed_logins_are_rate_limited_and_audited,
    sign_in_slows_the_guesser_not_the_user,
    disabled_users_cannot_sign_in,
    api_tokens_resolve_until_revoked_or_expired,
    api_tokens_end_with_the_account_or_on_request,
    administrators_create_users_only_in_their_reach,
    roles_granted_and_revoked_are_audited,
    stale_versions_are_refused,
    audit_log_is_append_only,
    audit_log_is_scoped,
    organisations_are_created_under_managed_parents,
    user_lists_page_by_cursor,
    a_claim_that_wrote_is_never_run_twice,
    cli_operations,
    customers_are_validated_and_shared_within_the_market,
    vehicles_are_decoded_owned_and_read,
    consents_decide_what_may_be_sent,
    search_finds_by_every_handle_within_reach,
    timeline_and_gdpr_export_and_erasure,
    sla_timers_run_on_the_business_calendar,
    escalation_rules_and_the_managers_queue,
    follow_up_tasks,
    email_and_web_intake,
    reminders_are_sent_once_and_campaigns_on_their_day,
    triage_suggests_learns_and_counts,
    working_procedures_route_and_hand_off,
    the_sla_sweep_works_without_anyone_looking,
    availability_follows_bays_shifts_and_competence,
    a_lisboa_day_books_like_trondheim,
    a_moved_eta_is_told_to_the_customer,
    appointments_move_and_lists_page_on_both_engines,
    fifty_parallel_bookings_of_the_last_slot_make_one,
    repair_order_from_booking_to_survey,
    outbox_respects_rules_consent_and_quiet_hours,
    approvals_competence_and_consent_hold_to_the_end,
    norwegian_repair_order_invoiced_paid_and_credited,
    concurrent_issuing_is_gapless_with_an_unbroken_chain,
    portuguese_rules_hold,
    concurrent_payments_and_credits_never_exceed_the_invoice,
    legal_entities_are_validated_and_versioned,
);

#[tokio::test]
async fn sqlite_online_backup_is_a_consistent_copy() {
    cases::sqlite_backup().await;
}
