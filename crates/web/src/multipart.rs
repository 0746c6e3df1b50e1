//! `multipart/form-data` bodies (RFC 7578), as the browser sends a form with files: the hand-over
//! photos a driver takes on the phone. The whole body is in memory (its size is bounded before it
//! is read); parts are found by their boundary.

use memchr::memmem;

/// One field of a form: text or a file.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

/// The boundary of a `multipart/form-data` content type, when it is one.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

/// The parts of a body, or None when it is not well formed.
pub fn parse(boundary: &str, body: &[u8]) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}");
    let next = format!("\r\n--{boundary}");
    let start = memmem::find(body, delimiter.as_bytes())?;
    let mut rest = &body[start + delimiter.len()..];
    let mut parts = Vec::new();
    let finder = memmem::Finder::new(next.as_bytes());
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = memmem::find(rest, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&rest[..head_end]).ok()?;
        let content = &rest[head_end + 4..];
        let end = finder.find(content)?;
        let (mut name, mut filename) = (None, None);
        for line in head.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if !key.trim().eq_ignore_ascii_case("content-disposition") {
                continue;
            }
            for param in value.split(';').skip(1) {
                let Some((k, v)) = param.split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"').to_string();
                match k.trim() {
                    "name" => name = Some(v),
                    "filename" => filename = Some(v),
                    _ => {}
                }
            }
        }
        parts.push(Part {
            name: name?,
            filename,
            data: content[..end].to_vec(),
        });
        rest = &content[end + next.len()..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_with_text_and_files_reads_back_part_by_part() {
        let b = "----x7";
        assert_eq!(
            boundary("multipart/form-data; boundary=\"----x7\"").as_deref(),
            Some(b)
        );
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        let mut body = Vec::new();
        body.extend(
            b"------x7\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc\r\n",
        );
        body.extend(b"------x7\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n");
        body.extend([0xFF, 0xD8, 0xFF, b'\r', b'\n', b'-', 0]);
        body.extend(b"\r\n------x7\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nscratch\r\nleft door\r\n------x7--\r\n");
        let parts = parse(b, &body).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].name, "csrf_token");
        assert_eq!(parts[0].data, b"abc");
        assert_eq!(parts[1].filename.as_deref(), Some("a.jpg"));
        assert_eq!(parts[1].data, [0xFF, 0xD8, 0xFF, b'\r', b'\n', b'-', 0]);
        assert_eq!(parts[2].data, b"scratch\r\nleft door");
        assert!(parse(b, b"------x7\r\nno end").is_none());
    }
}
