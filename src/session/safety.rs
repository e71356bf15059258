//! Whether real money is at stake: which endpoints count as AWS's own, and what a run may do
//! there.
//!
//! The rule, in order:
//! 1. a host under a DNS suffix of one of the spec's partitions (`amazonaws.com`, `api.aws`,
//!    `c2s.ic.gov`, ...) is AWS;
//! 2. any other host (an IP literal, `localhost`, an unknown name) is AWS when the run signs with
//!    real credentials (`--use-env-credentials`), unless `--not-aws` says otherwise: such a host
//!    may be a proxy or tunnel to AWS, and real keys would spend real money there;
//! 3. otherwise it is an emulator: the public dummy keys can create nothing on a real account.

use crate::run::Safety;
pub use crate::spec::AwsHosts;

/// Whether an endpoint counts as AWS (see the module's rule): `known` when its host is under
/// an AWS suffix, `real_credentials` when the run signs with the environment's credentials,
/// `not_aws` when the user vouches that it is not AWS.
pub fn is_aws(known: bool, real_credentials: bool, not_aws: bool) -> bool {
    known || (real_credentials && !not_aws)
}

/// What a run against an endpoint may do: on AWS every request is a DryRun, except, with
/// `--live`, up to `max_creates` requests that create an image. `None` when `--live` is asked
/// for an endpoint that is not AWS's.
pub fn decide(aws: bool, live: bool, max_creates: Option<u64>) -> Option<Safety> {
    if live && !aws {
        return None;
    }
    Some(Safety {
        force_dry_run: aws,
        max_creates: if live { max_creates.unwrap_or(0) } else { 0 },
        ..Safety::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    fn hosts() -> AwsHosts {
        AwsHosts::from_spec(&Spec::builtin().unwrap())
    }

    #[test]
    fn every_partition_of_the_spec_has_a_suffix() {
        let spec = Spec::builtin().unwrap();
        for p in &spec.partitions {
            assert!(!p.dns_suffixes.is_empty(), "partition {} has no DNS suffix", p.name);
        }
    }

    #[test]
    fn a_spec_partition_without_a_suffix_is_refused() {
        let text = include_str!("../../specs/copy_image.toml");
        let without = text.replace(r#"dns_suffixes = ["c2s.ic.gov"]"#, "dns_suffixes = []");
        assert_ne!(text, without);
        let e = Spec::parse(&without, "test.toml").unwrap_err();
        assert!(e.to_string().contains("partition.aws-iso.dns_suffixes"), "{e}");
        assert!(e.to_string().contains("a partition needs at least one DNS suffix"), "{e}");
    }

    #[test]
    fn aws_hosts_are_recognised() {
        let hosts = hosts();
        for host in [
            "ec2.us-east-1.amazonaws.com",
            "ec2.us-east-1.amazonaws.com.",
            "EC2.US-EAST-1.AMAZONAWS.COM",
            "ec2.cn-north-1.amazonaws.com.cn",
            "ec2.cn-north-1.api.amazonwebservices.com.cn",
            "ec2.us-east-1.api.aws",
            "Ec2.Eu-West-1.Api.Aws.",
            "ec2.us-iso-east-1.c2s.ic.gov",
            "ec2.us-isob-east-1.sc2s.sgov.gov",
            "ec2.eu-isoe-west-1.cloud.adc-e.uk",
            "ec2.us-isof-south-1.csp.hci.ic.gov",
            "ec2.eusc-de-east-1.amazonaws.eu",
            "ec2.eusc-de-east-1.api.amazonwebservices.eu",
        ] {
            assert!(hosts.contains(host), "{host} is AWS's");
        }
        assert_eq!(hosts.suffix_of("ec2.us-iso-east-1.c2s.ic.gov"), Some(".c2s.ic.gov"));
    }

    #[test]
    fn other_hosts_are_not_aws_hosts() {
        let hosts = hosts();
        for host in [
            "localhost",
            "127.0.0.1",
            "[::1]",
            "amazonaws.com.evil.example",
            "notamazonaws.com",
            "amazonaws.com",
            "c2s.ic.gov",
            "api.aws.example",
            "ec2.us-east-1.amazonaws.co",
            "ec2.example.eu",
            "",
        ] {
            assert!(!hosts.contains(host), "{host} is not AWS's");
        }
    }

    #[test]
    fn a_known_suffix_is_aws_whatever_the_credentials() {
        for (real, not_aws) in [(false, false), (true, false), (true, true), (false, true)] {
            assert!(is_aws(true, real, not_aws));
        }
    }

    #[test]
    fn other_hosts_are_aws_with_real_credentials_unless_vouched_for() {
        assert!(is_aws(false, true, false), "an IP literal or unknown host signed with real keys");
        assert!(!is_aws(false, true, true), "--not-aws");
        assert!(!is_aws(false, false, false), "dummy keys: an emulator");
        assert!(!is_aws(false, false, true));
    }

    #[test]
    fn aws_forces_dry_runs_and_spends_nothing_without_live() {
        let s = decide(true, false, None).unwrap();
        assert!(s.force_dry_run);
        assert_eq!(s.max_creates, 0);
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
