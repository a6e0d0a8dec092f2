//! DM media upload through the v2 chunked endpoints (initialize, append, finalize, and
//! status polling while X processes a video).

use serde::Deserialize;

use crate::error::{Problem, ValidationError};

/// The media categories a DM attachment may have: media uploaded for posts cannot be
/// attached to a DM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaCategory {
    /// An image (JPEG, PNG, WebP), up to 5 MB.
    DmImage,
    /// An animated GIF, up to 15 MB.
    DmGif,
    /// A video (MP4, QuickTime), up to 512 MB.
    DmVideo,
}

impl MediaCategory {
    /// X's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DmImage => "dm_image",
            Self::DmGif => "dm_gif",
            Self::DmVideo => "dm_video",
        }
    }

    /// The largest file X accepts in this category, in bytes.
    pub fn max_bytes(self) -> u64 {
        match self {
            Self::DmImage => 5 * 1024 * 1024,
            Self::DmGif => 15 * 1024 * 1024,
            Self::DmVideo => 512 * 1024 * 1024,
        }
    }

    /// The MIME types allowed in this category.
    pub fn media_types(self) -> &'static [&'static str] {
        match self {
            Self::DmImage => &["image/jpeg", "image/png", "image/webp"],
            Self::DmGif => &["image/gif"],
            Self::DmVideo => &["video/mp4", "video/quicktime"],
        }
    }

    /// The category for a MIME type, if it can be a DM attachment.
    pub fn for_media_type(media_type: &str) -> Option<Self> {
        [Self::DmImage, Self::DmGif, Self::DmVideo]
            .into_iter()
            .find(|c| c.media_types().contains(&media_type))
    }

    /// Checks a file of this type and size against the category, before anything is sent.
    pub fn check(self, media_type: &str, size: u64) -> Result<(), ValidationError> {
        if !self.media_types().contains(&media_type) {
            return Err(ValidationError::new(
                "media_type",
                Problem::Invalid(
                    format!("{} accepts {}", self.as_str(), self.media_types().join(", ")).into(),
                ),
            ));
        }
        if size == 0 {
            return Err(ValidationError::new("media", Problem::Empty));
        }
        if size > self.max_bytes() {
            return Err(ValidationError::new(
                "media",
                Problem::TooLarge {
                    max: self.max_bytes(),
                    actual: size,
                },
            ));
        }
        Ok(())
    }
}

/// Uploaded media, ready to attach for 24 hours.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct UploadedMedia {
    /// The media id to attach ([`NewMessage::media`](super::NewMessage::media)).
    pub id: String,
    /// The media key (`3_…`), as events refer to it.
    #[serde(default)]
    pub media_key: Option<String>,
    /// Seconds until the upload expires.
    #[serde(default)]
    pub expires_after_secs: Option<u64>,
    /// X's processing of a video, when it is still going on or failed.
    #[serde(default)]
    pub processing_info: Option<ProcessingInfo>,
}

/// X's processing of an upload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ProcessingInfo {
    /// `pending`, `in_progress`, `succeeded` or `failed`.
    pub state: String,
    /// When to ask again, in seconds.
    #[serde(default)]
    pub check_after_secs: Option<u64>,
    /// Progress, 0 to 100.
    #[serde(default)]
    pub progress_percent: Option<u8>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<serde_json::Value>,
}

impl ProcessingInfo {
    /// Whether X is still working on it.
    pub fn is_pending(&self) -> bool {
        matches!(self.state.as_str(), "pending" | "in_progress")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_check_type_and_size() {
        assert!(MediaCategory::DmImage.check("image/png", 1000).is_ok());
        assert!(MediaCategory::DmImage.check("image/gif", 1000).is_err());
        assert!(
            MediaCategory::DmImage
                .check("image/png", 6 * 1024 * 1024)
                .is_err()
        );
        assert!(MediaCategory::DmGif.check("image/gif", 14 * 1024 * 1024).is_ok());
        assert!(MediaCategory::DmVideo.check("video/mp4", 0).is_err());
        assert_eq!(
            MediaCategory::for_media_type("video/quicktime"),
            Some(MediaCategory::DmVideo)
        );
        assert_eq!(MediaCategory::for_media_type("application/pdf"), None);
    }
}
