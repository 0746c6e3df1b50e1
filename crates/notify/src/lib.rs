//! Delivery of the outbox.
