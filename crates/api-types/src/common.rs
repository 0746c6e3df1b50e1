//! Shapes every capability uses: a reference to another record.

/// Another record, by id, with the words to show for it (a name, a number).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Ref {
    pub id: String,
    pub label: String,
}
