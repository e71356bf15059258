//! The start-up reachability check: one TCP connection to the first hop the HTTP client will
//! take, the endpoint itself or the proxy that `HTTP_PROXY`, `HTTPS_PROXY` or `ALL_PROXY` names
//! for it (unless `NO_PROXY` exempts it), read as reqwest reads them.

use std::io;
use std::time::Duration;

use hyper_util::client::proxy::matcher::Matcher;

use super::plan::{Env, Remote};

/// Where the first TCP connection of a request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Hop {
    /// Straight to the endpoint.
    Direct,
    /// Through a proxy at this host and port (no user name or password: they may be secret).
    Proxy {
        /// The proxy's host.
        host: String,
        /// The proxy's port, or its scheme's.
        port: u16,
    },
}

/// The hop reqwest takes to `remote` in `env`: the system proxy matcher reqwest installs by
/// default, fed from `env` instead of the process so that it can be tested.
pub(super) fn first_hop(remote: &Remote, env: &Env) -> Hop {
    // reqwest ignores HTTP_PROXY and friends under CGI (httpoxy); the matcher does too.
    if env.var("REQUEST_METHOD").is_some() {
        return Hop::Direct;
    }
    let first = |names: [&str; 2]| names.iter().find_map(|n| env.var(n)).unwrap_or_default();
    let matcher = Matcher::builder()
        .all(first(["ALL_PROXY", "all_proxy"]))
        .http(first(["HTTP_PROXY", "http_proxy"]))
        .https(first(["HTTPS_PROXY", "https_proxy"]))
        .no(first(["NO_PROXY", "no_proxy"]))
        .build();
    let Some(dst) = destination(remote) else { return Hop::Direct };
    let Some(intercept) = matcher.intercept(&dst) else { return Hop::Direct };
    let uri = intercept.uri();
    let Some(host) = uri.host() else { return Hop::Direct };
    let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
        Some("https") => 443,
        Some(s) if s.starts_with("socks") => 1080,
        _ => 80,
    });
    Hop::Proxy { host: host.trim_start_matches('[').trim_end_matches(']').to_owned(), port }
}

/// The endpoint as the URI the client asks the matcher about: scheme, host and port.
fn destination(remote: &Remote) -> Option<http::Uri> {
    let scheme = reqwest::Url::parse(&remote.url).ok()?.scheme().to_owned();
    format!("{scheme}://{}:{}/", remote.host, remote.port).parse().ok()
}

/// Opens (and drops) one TCP connection, within 5 s.
pub(super) async fn reachable(host: &str, port: u16) -> io::Result<()> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let connect = tokio::net::TcpStream::connect((host, port));
    match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(connected) => connected.map(drop),
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "no connection within 5 s")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(url: &str, host: &str, port: u16) -> Remote {
        Remote { url: url.into(), host: host.into(), port, aws: false }
    }

    fn hop(url: &str, host: &str, port: u16, vars: &[(&str, &str)]) -> Hop {
        first_hop(&remote(url, host, port), &Env::new(vars.iter().copied(), false))
    }

    fn proxy(host: &str, port: u16) -> Hop {
        Hop::Proxy { host: host.into(), port }
    }

    const EC2: (&str, &str, u16) = ("https://ec2.us-east-1.amazonaws.com/", "ec2.us-east-1.amazonaws.com", 443);
    const MOTO: (&str, &str, u16) = ("http://127.0.0.1:5000/", "127.0.0.1", 5000);

    #[test]
    fn no_proxy_variables_mean_a_direct_connection() {
        assert_eq!(hop(EC2.0, EC2.1, EC2.2, &[]), Hop::Direct);
        assert_eq!(hop(MOTO.0, MOTO.1, MOTO.2, &[("HTTP_PROXY", "")]), Hop::Direct);
    }

    #[test]
    fn the_scheme_picks_the_variable() {
        let vars = [("HTTPS_PROXY", "http://proxy.corp:3128"), ("http_proxy", "http://other.corp")];
        assert_eq!(hop(EC2.0, EC2.1, EC2.2, &vars), proxy("proxy.corp", 3128));
        assert_eq!(hop(MOTO.0, MOTO.1, MOTO.2, &vars), proxy("other.corp", 80));
        let all = [("ALL_PROXY", "socks5://10.0.0.1")];
        assert_eq!(hop(EC2.0, EC2.1, EC2.2, &all), proxy("10.0.0.1", 1080));
    }

    #[test]
    fn upper_case_comes_first_and_credentials_are_not_kept() {
        let vars = [("HTTPS_PROXY", "http://user:pw@upper:8080"), ("https_proxy", "http://lower:8080")];
        assert_eq!(hop(EC2.0, EC2.1, EC2.2, &vars), proxy("upper", 8080));
        assert_eq!(hop(EC2.0, EC2.1, EC2.2, &[("https_proxy", "lower:9")]), proxy("lower", 9));
    }

    #[test]
    fn no_proxy_exempts_domains_and_addresses() {
        let proxied = [("HTTP_PROXY", "http://proxy:3128"), ("HTTPS_PROXY", "http://proxy:3128")];
        for no in ["amazonaws.com", ".amazonaws.com", "*", "example.org, us-east-1.amazonaws.com"] {
            let vars = [proxied[0], proxied[1], ("NO_PROXY", no)];
            assert_eq!(hop(EC2.0, EC2.1, EC2.2, &vars), Hop::Direct, "NO_PROXY={no}");
        }
        let vars = [proxied[0], ("no_proxy", "127.0.0.0/8")];
        assert_eq!(hop(MOTO.0, MOTO.1, MOTO.2, &vars), Hop::Direct);
        let vars = [proxied[1], ("NO_PROXY", "notamazonaws.com")];
        assert_eq!(hop(EC2.0, EC2.1, EC2.2, &vars), proxy("proxy", 3128));
        let v6 = [proxied[0], ("NO_PROXY", "::1")];
        assert_eq!(hop("http://[::1]:5000/", "[::1]", 5000, &v6), Hop::Direct);
    }

    #[test]
    fn cgi_ignores_proxy_variables() {
        let vars = [("HTTPS_PROXY", "http://proxy:3128"), ("REQUEST_METHOD", "GET")];
        assert_eq!(hop(EC2.0, EC2.1, EC2.2, &vars), Hop::Direct);
    }

    #[tokio::test]
    async fn reachable_connects_or_says_why_not() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        reachable("127.0.0.1", port).await.unwrap();
        drop(listener);
        assert!(reachable("127.0.0.1", port).await.is_err());
    }
}
