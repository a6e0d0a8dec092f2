//! A `multipart/form-data` body with text fields and one file: what media uploads send.

use bytes::{BufMut, Bytes, BytesMut};

/// The body for `fields` and a file (`name`, `filename`, `content_type`, `data`), and its
/// boundary for the `Content-Type` header. The boundary is random, so it cannot collide
/// with the file's bytes in practice.
pub(crate) fn form(fields: &[(&str, &str)], file: (&str, &str, &str, &[u8])) -> (String, Bytes) {
    let (name, filename, content_type, data) = file;
    let boundary = format!("switchboard-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let mut body = BytesMut::with_capacity(data.len() + 256 + fields.len() * 96);
    for (key, value) in fields {
        body.put_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.put_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.put_slice(data);
    body.put_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (boundary, body.freeze())
}
