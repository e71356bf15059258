//! The "json-envelope" dialect as the embedded endpoint speaks it: the envelope's JSON bodies
//! and the RFC 3339 timestamps they carry. Its code table is the wire's
//! ([`crate::wire::EnvelopeCodes`]).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::describe::{ARCHITECTURE, IMAGE_TYPE, ROOT_DEVICE, WORLD_CREATION_DATE, state_text};
use super::xml::{self, Described};

/// The envelope's success body for a copy.
pub fn success(image_id: &str, created_at: &str) -> String {
    json!({"success": true, "data": {"id": image_id, "created_at": created_at}}).to_string()
}

/// The envelope's DescribeImages body: the fields of the XML answer under snake_case names.
pub fn describe_images<'a>(images: impl IntoIterator<Item = Described<'a>>) -> String {
    let images: Vec<serde_json::Value> = images
        .into_iter()
        .map(|d| {
            let i = d.image;
            json!({
                "id": i.image_id,
                "state": state_text(i.state),
                "owner_id": d.owner,
                "name": i.name,
                "description": i.description,
                "creation_date": d.copy.as_ref().map_or(WORLD_CREATION_DATE, |c| &*c.created),
                "public": false,
                "architecture": ARCHITECTURE,
                "image_type": IMAGE_TYPE,
                "root_device_type": "ebs",
                "root_device_name": ROOT_DEVICE,
                "encrypted": i.encrypted,
                "snapshot_id": xml::snapshot_id(i),
                "tags": i.tags,
                "source_image_id": d.copy.as_ref().map(|c| &c.source_image_id),
                "source_image_region": d.copy.as_ref().map(|c| &c.source_region),
            })
        })
        .collect();
    json!({"success": true, "data": {"images": images}}).to_string()
}

/// The envelope's error body.
pub fn error(code: &str, message: &str) -> String {
    json!({"success": false, "error": {"code": code, "message": message}}).to_string()
}

/// `time` as RFC 3339 UTC with whole seconds, e.g. `2026-11-24T09:05:00Z`. Times before the
/// epoch are clamped to it.
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // u64 seconds / 86400 always fits i64.
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Year, month, day of a count of days since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = yoe + era * 400 + i64::from(m <= 2);
    // Both are in range by construction.
    (y, u32::try_from(m).unwrap_or(1), u32::try_from(d).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64) -> String {
        rfc3339(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(at(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(at(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339(UNIX_EPOCH - Duration::from_secs(5)), "1970-01-01T00:00:00Z");
    }
}
