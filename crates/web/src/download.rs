//! File answers shared by the API and the pages (a PDF shown inline or downloaded).

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// A PDF answer: shown in the browser, or downloaded with `download`.
pub fn pdf_response(name: &str, bytes: Vec<u8>, download: bool) -> Response {
    let disposition = if download { "attachment" } else { "inline" };
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
