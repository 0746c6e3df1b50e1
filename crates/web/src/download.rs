//! File answers shared by the API and the pages (a PDF shown inline or downloaded, a stored image,
//! a stored file as an attachment).

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

/// A stored image (a hand-over photo): its type as read from its bytes, never sniffed again by the
/// browser, asked again each time it is shown (an erased photo or a revoked reader leaves no copy).
pub fn image_response(content_type: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "private, no-cache".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// A stored file handed back as a download under its own name (evidence, a training
/// certificate): its stored type, never sniffed, asked again each time.
pub fn attachment_response(name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "private, no-cache".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
