//! Media: upload, look up, download and delete files on the Cloud API.
//!
//! Uploaded media lives 30 days; media URLs expire after 5 minutes and need the access
//! token to download.

use bytes::Bytes;
use serde::Deserialize;

use crate::error::{Problem, Result, ValidationError};
use crate::http::transport::BodyStream;
use crate::model::message::MediaKind;

const MB: u64 = 1024 * 1024;

/// The media kind WhatsApp files a MIME type under, and the largest size it accepts.
///
/// ```
/// use switchboard::MediaKind;
/// use switchboard::whatsapp::media::limits_for;
///
/// assert_eq!(limits_for("image/jpeg"), Some((MediaKind::Image, 5 * 1024 * 1024)));
/// assert_eq!(limits_for("audio/ogg; codecs=opus").map(|l| l.0), Some(MediaKind::Audio));
/// assert_eq!(limits_for("image/gif"), None);
/// ```
pub fn limits_for(mime_type: &str) -> Option<(MediaKind, u64)> {
    let essence = mime_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let kind = match essence.as_str() {
        "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" => MediaKind::Audio,
        "text/plain"
        | "application/pdf"
        | "application/vnd.ms-excel"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/msword"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.ms-powerpoint"
        | "application/vnd.openxmlformats-officedocument.presentationml.presentation" => MediaKind::Document,
        "image/jpeg" | "image/png" => MediaKind::Image,
        "image/webp" => MediaKind::Sticker,
        "video/mp4" | "video/3gpp" => MediaKind::Video,
        _ => return None,
    };
    let max = match kind {
        MediaKind::Audio | MediaKind::Video => 16 * MB,
        MediaKind::Document => 100 * MB,
        MediaKind::Image => 5 * MB,
        // Animated stickers may be 500 KB, static ones 100 KB; the file alone does not say
        // which without decoding it, so the larger limit applies here.
        MediaKind::Sticker => 500 * 1024,
    };
    Some((kind, max))
}

/// A file to upload.
///
/// ```
/// use switchboard::whatsapp::MediaUpload;
///
/// let upload = MediaUpload::new(vec![0u8; 1024], "image/png", "chart.png");
/// assert!(upload.validate().is_ok());
/// assert!(MediaUpload::new(vec![0u8; 10], "image/gif", "a.gif").validate().is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct MediaUpload {
    data: Bytes,
    mime_type: String,
    filename: String,
}

impl std::fmt::Debug for MediaUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaUpload")
            .field("bytes", &self.data.len())
            .field("mime_type", &self.mime_type)
            .field("filename", &self.filename)
            .finish()
    }
}

impl MediaUpload {
    /// The file's content, MIME type and name.
    pub fn new(data: impl Into<Bytes>, mime_type: impl Into<String>, filename: impl Into<String>) -> Self {
        Self {
            data: data.into(),
            mime_type: mime_type.into(),
            filename: filename.into(),
        }
    }

    /// Checks the MIME type is one WhatsApp accepts and the size is within its limit.
    pub fn validate(&self) -> Result<MediaKind, ValidationError> {
        let Some((kind, max)) = limits_for(&self.mime_type) else {
            return Err(ValidationError::new(
                "type",
                Problem::Invalid("unsupported MIME type for WhatsApp media".into()),
            ));
        };
        if self.data.is_empty() {
            return Err(ValidationError::new("file", Problem::Empty));
        }
        let actual = self.data.len() as u64;
        if actual > max {
            return Err(ValidationError::new("file", Problem::TooLarge { max, actual }));
        }
        if self.filename.is_empty() || self.filename.contains(['"', '\r', '\n']) {
            return Err(ValidationError::new(
                "filename",
                Problem::Invalid("must be non-empty without quotes or line breaks".into()),
            ));
        }
        Ok(kind)
    }

    /// The multipart/form-data body and its boundary.
    pub(crate) fn to_multipart(&self) -> (String, Bytes) {
        crate::http::multipart::form(
            &[("messaging_product", "whatsapp"), ("type", &self.mime_type)],
            ("file", &self.filename, &self.mime_type, &self.data),
        )
    }
}

/// What Meta knows about an uploaded or received media file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct MediaInfo {
    /// The media id.
    pub id: String,
    /// A download URL, valid for 5 minutes; download it with [`Client::download_media`](super::Client::download_media).
    pub url: String,
    /// The MIME type.
    #[serde(default)]
    pub mime_type: Option<String>,
    /// SHA-256 of the file, to check a download.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Size in bytes (Meta sends it as a string).
    #[serde(default, deserialize_with = "crate::http::loose::opt_u64")]
    pub file_size: Option<u64>,
}

/// A download in progress: headers are in, the body streams.
#[derive(Debug)]
pub struct MediaDownload {
    /// The `Content-Type` Meta sent.
    pub content_type: Option<String>,
    /// The `Content-Length` Meta sent, if any.
    pub content_length: Option<u64>,
    body: BodyStream,
}

impl MediaDownload {
    pub(crate) fn new(response: http::Response<BodyStream>) -> Self {
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok());
        let content_type = header(http::header::CONTENT_TYPE).map(str::to_owned);
        let content_length = header(http::header::CONTENT_LENGTH).and_then(|v| v.parse().ok());
        Self {
            content_type,
            content_length,
            body: response.into_body(),
        }
    }

    /// The next chunk of the file, or `None` at the end.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes>> {
        self.body.next_chunk().await
    }

    /// The body as a stream of chunks.
    pub fn into_stream(self) -> BodyStream {
        self.body
    }

    /// Reads the whole file into memory, refusing more than `max_bytes`.
    pub async fn bytes(self, max_bytes: u64) -> Result<Bytes> {
        self.body.collect(max_bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_limits_per_kind() {
        let big_image = MediaUpload::new(vec![1u8; (5 * MB + 1) as usize], "image/jpeg", "a.jpg");
        assert_eq!(
            big_image.validate().unwrap_err().problem,
            Problem::TooLarge {
                max: 5 * MB,
                actual: 5 * MB + 1
            }
        );
        let doc = MediaUpload::new(vec![1u8; (6 * MB) as usize], "application/pdf", "a.pdf");
        assert_eq!(doc.validate(), Ok(MediaKind::Document));
        assert_eq!(limits_for("IMAGE/WEBP"), Some((MediaKind::Sticker, 500 * 1024)));
        assert!(
            MediaUpload::new(Vec::new(), "image/png", "a.png")
                .validate()
                .is_err()
        );
        assert!(
            MediaUpload::new(vec![1], "image/png", "a\".png")
                .validate()
                .is_err()
        );
    }

    #[test]
    fn multipart_body_has_the_three_fields() {
        let (boundary, body) = MediaUpload::new(&b"PNGDATA"[..], "image/png", "x.png").to_multipart();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.contains("name=\"messaging_product\"\r\n\r\nwhatsapp\r\n"));
        assert!(text.contains("name=\"type\"\r\n\r\nimage/png\r\n"));
        assert!(
            text.contains("name=\"file\"; filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\nPNGDATA\r\n")
        );
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    }

    #[test]
    fn media_info_accepts_string_or_number_sizes() {
        let info: MediaInfo = serde_json::from_str(
            r#"{"messaging_product":"whatsapp","url":"https://x/y","mime_type":"image/jpeg","sha256":"h","file_size":"303833","id":"1"}"#,
        )
        .unwrap();
        assert_eq!(info.file_size, Some(303_833));
        let info: MediaInfo = serde_json::from_str(r#"{"url":"u","id":"1","file_size":7}"#).unwrap();
        assert_eq!(info.file_size, Some(7));
    }
}
