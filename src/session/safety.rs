//! Whether real money is at stake: which hosts are AWS's own, and what a run may do there.

use crate::run::Safety;

/// Host suffixes of AWS's own endpoints, where requests cost money. One list, so that it can
/// be swapped for suffixes derived from the spec's partitions.
pub const AWS_HOST_SUFFIXES: &[&str] = &[".amazonaws.com", ".amazonaws.com.cn", ".api.aws"];

/// Whether a host is AWS's own (where requests cost money). Case and a trailing dot do not
/// matter.
pub fn is_aws_host(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    AWS_HOST_SUFFIXES.iter().any(|suffix| h.ends_with(suffix))
}

/// What a run against an endpoint may do: on AWS every request is a DryRun, except, with
/// `--live`, up to `max_creates` requests that create an image. `None` when `--live` is asked
/// for an endpoint that is not AWS's.
pub fn decide(aws: bool, live: bool, max_creates: Option<u64>) -> Option<Safety> {
    if live && !aws {
        return None;
    }
    Some(Safety { force_dry_run: aws, max_creates: if live { max_creates.unwrap_or(0) } else { 0 } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_hosts_are_recognised() {
        for host in [
            "ec2.us-east-1.amazonaws.com",
            "ec2.us-east-1.amazonaws.com.",
            "EC2.US-EAST-1.AMAZONAWS.COM",
            "ec2.cn-north-1.amazonaws.com.cn",
            "ec2.us-east-1.api.aws",
            "Ec2.Eu-West-1.Api.Aws.",
        ] {
            assert!(is_aws_host(host), "{host} is AWS's");
        }
    }

    #[test]
    fn other_hosts_are_not_aws() {
        for host in [
            "localhost",
            "127.0.0.1",
            "[::1]",
            "amazonaws.com.evil.example",
            "notamazonaws.com",
            "amazonaws.com",
            "api.aws.example",
            "ec2.us-east-1.amazonaws.co",
            "",
        ] {
            assert!(!is_aws_host(host), "{host} is not AWS's");
        }
    }

    #[test]
    fn aws_forces_dry_runs_and_spends_nothing_without_live() {
        let s = decide(true, false, None).unwrap();
        assert!(s.force_dry_run);
        assert_eq!(s.max_creates, 0);
        // --max-creates without --live grants nothing.
        assert_eq!(decide(true, false, Some(5)).unwrap().max_creates, 0);
    }

    #[test]
    fn live_on_aws_grants_the_budget() {
        let s = decide(true, true, Some(3)).unwrap();
        assert!(s.force_dry_run, "requests past the budget are still DryRuns");
        assert_eq!(s.max_creates, 3);
        assert_eq!(decide(true, true, None).unwrap().max_creates, 0);
    }

    #[test]
    fn live_on_an_emulator_is_refused() {
        assert!(decide(false, true, Some(3)).is_none());
    }

    #[test]
    fn emulators_get_no_dry_run_forcing() {
        let s = decide(false, false, Some(3)).unwrap();
        assert!(!s.force_dry_run);
        assert_eq!(s.max_creates, 0);
    }
}
