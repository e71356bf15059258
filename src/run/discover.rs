//! `--discover`: builds a world from the endpoint's own `DescribeImages` answer.

use crate::run::Target;
use crate::run::ec2::{Ec2Client, error_chain};
use crate::world::World;

/// Why the endpoint's images could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// The request failed.
    #[error("DescribeImages on {endpoint}: {detail}")]
    Request {
        /// The endpoint asked.
        endpoint: String,
        /// What went wrong.
        detail: String,
    },
    /// Some ids were not in the answer.
    #[error("DescribeImages on {endpoint} did not return {missing}")]
    Missing {
        /// The endpoint asked.
        endpoint: String,
        /// The ids not found, comma-separated.
        missing: String,
    },
}

/// Asks the endpoint for `ids` and returns a world of the target's Region holding them.
pub async fn discover(target: &Target, account: &str, ids: &[String]) -> Result<World, DiscoverError> {
    let err = |detail: String| DiscoverError::Request { endpoint: target.endpoint.clone(), detail };
    let client =
        Ec2Client::new(target).map_err(|e| err(format!("cannot build the HTTP client: {}", error_chain(&e))))?;
    let asked: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut images = client.describe_images(&target.region, &asked).await.map_err(|e| err(e.detail))?;
    // A discovered image is named by its own id: a corpus made with --discover maps to it.
    for i in &mut images {
        i.role.get_or_insert_with(|| i.image_id.clone());
    }
    let missing: Vec<&str> =
        ids.iter().filter(|id| !images.iter().any(|i| &i.image_id == *id)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(DiscoverError::Missing { endpoint: target.endpoint.clone(), missing: missing.join(", ") });
    }
    Ok(World::new(&target.region, account, images))
}
