//! A request along its route: the endpoint's URL parsed once, and each request signed for it,
//! built as an `http::Request` (for reqwest) or written as our own HTTP/1.1 client sends it.

use std::time::SystemTime;

use super::TransportError;
use crate::run::{Target, http1};
use crate::wire::{self, WireError};

/// The endpoint's URL parsed once, as [`build_routed`] would parse it for every request, and the
/// `host` header it gives; `None` when it does not parse or is not of the plain shape the
/// cached signer signs, and then every request is built from the text, as before.
pub(crate) struct Route(pub(super) Option<Parsed>);

pub(super) struct Parsed {
    pub(super) uri: http::Uri,
    url: reqwest::Url,
    host: http::HeaderValue,
}

impl Route {
    /// The route to `target`'s endpoint.
    pub(crate) fn new(target: &Target) -> Route {
        let parse = || {
            let uri: http::Uri = target.endpoint.parse().ok()?;
            if !wire::signer::signs_plainly(&uri) {
                return None;
            }
            let host = wire::sign::host_header(&uri).ok()?;
            // As reqwest converts an `http::Request`: from the URI's text.
            let url = reqwest::Url::parse(&uri.to_string()).ok()?;
            Some(Parsed { uri, url, host })
        };
        Route(parse())
    }
}

/// The headers of a form-encoded request before it is signed. Made at compile time: a
/// request copies them without checking their bytes again.
pub(crate) static FORM: [(http::HeaderName, http::HeaderValue); 1] = [(
    http::HeaderName::from_static("content-type"),
    http::HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
)];

/// A POST of `body` along `route` with `headers` (the runner's own constants), signed for
/// `region` by `signer` at `time`: without parsing the endpoint's URL again when the route
/// holds it.
pub(crate) fn build_routed(
    route: &Route,
    target: &Target,
    signer: &wire::Signer,
    region: &str,
    body: &str,
    headers: &[(http::HeaderName, http::HeaderValue)],
    time: SystemTime,
) -> Result<http::Request<Vec<u8>>, TransportError> {
    let b = http::Request::builder().method(http::Method::POST);
    let b = match &route.0 {
        Some(parsed) => b.uri(parsed.uri.clone()),
        None => b.uri(&target.endpoint),
    };
    let mut req = b.body(body.as_bytes().to_vec()).map_err(TransportError::Build)?;
    for (k, v) in headers {
        // Static values are used in place, not copied for every request.
        req.headers_mut().append(k.clone(), v.clone());
    }
    if let Some(parsed) = &route.0
        && !req.headers().contains_key(http::header::HOST)
    {
        req.headers_mut().insert(http::header::HOST, parsed.host.clone());
    }
    signer.sign(&mut req, region, "ec2", time).map_err(TransportError::Sign)?;
    Ok(req)
}

/// A signed request, as the client that sends it takes it (see [`super::Client::sign`]).
pub(crate) enum Signed {
    /// As an `http::Request`: reqwest's, and any other client's for an endpoint without a
    /// parsed route. Boxed: the futures that carry it to the wire are moved as they are polled.
    Request(Box<http::Request<Vec<u8>>>),
    /// Written as our own client sends it.
    Wire(Wire),
}

/// A request as our own client writes it: the bytes [`http1::encode`] makes of the request
/// [`build_routed`] builds, made without that request, its header map or the copies of its
/// body.
pub(crate) struct Wire {
    /// The request line, the headers, and the body.
    pub(crate) bytes: Vec<u8>,
    /// Where the signed headers end: the client's own `accept` and `content-length` follow.
    pub(crate) signed_end: usize,
}

impl Wire {
    /// The signed headers, in order, as a reproduction shows them.
    pub(crate) fn headers(&self) -> Vec<(String, String)> {
        let head = String::from_utf8_lossy(&self.bytes[..self.signed_end]);
        // Past the request line; every line is `name: value`, as `wire_routed` writes them.
        head.split("\r\n")
            .skip(1)
            .filter_map(|line| line.split_once(": "))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    }
}

/// The request [`build_routed`] builds at `time`, as [`http1::encode`] writes it, for a route
/// with a parsed endpoint (`None` without one).
pub(crate) fn wire_routed(
    route: &Route,
    signer: &wire::Signer,
    region: &str,
    body: &str,
    headers: &[(http::HeaderName, http::HeaderValue)],
    time: SystemTime,
) -> Option<Result<Wire, TransportError>> {
    let parsed = route.0.as_ref()?;
    let path = parsed.uri.path();
    let mut all: Vec<(&str, &str)> = Vec::with_capacity(headers.len() + 1);
    for (name, value) in headers {
        let Ok(value) = value.to_str() else {
            // As the signer of a header map refuses it.
            return Some(Err(TransportError::Sign(WireError::HeaderNotText { name: name.to_string() })));
        };
        all.push((name.as_str(), value));
    }
    if !all.iter().any(|(name, _)| *name == http::header::HOST.as_str()) {
        all.push((http::header::HOST.as_str(), parsed.host.to_str().unwrap_or_default()));
    }
    let added = match signer.sign_post(path, &all, body.as_bytes(), region, "ec2", time) {
        Ok(added) => added,
        Err(e) => return Some(Err(TransportError::Sign(e))),
    };
    let signature = [("x-amz-date", added.date()), ("authorization", &added.authorization)];
    let token = added.token.map(|t| ("x-amz-security-token", t));
    let signed = all.iter().copied().chain(signature).chain(token).map(|(n, v)| (n.as_bytes(), v.as_bytes()));
    let (bytes, signed_end) = http1::write_request("POST", path, signed, body.as_bytes());
    Some(Ok(Wire { bytes, signed_end }))
}

/// A signed request as reqwest takes it (its URL the route's, parsed once, when it has one).
pub(super) fn into_reqwest(route: &Route, req: http::Request<Vec<u8>>) -> Result<reqwest::Request, TransportError> {
    let Some(parsed) = &route.0 else {
        return reqwest::Request::try_from(req).map_err(TransportError::Convert);
    };
    let (parts, body) = req.into_parts();
    let mut out = reqwest::Request::new(parts.method, parsed.url.clone());
    *out.headers_mut() = parts.headers;
    *out.body_mut() = Some(body.into());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::run::http1;

    #[test]
    fn a_written_request_is_the_built_request_as_our_client_encodes_it() {
        let json = [
            (http::HeaderName::from_static("content-type"), http::HeaderValue::from_static("application/json")),
            (http::HeaderName::from_static("accept"), http::HeaderValue::from_static("application/json")),
        ];
        let with_host = [
            (http::HeaderName::from_static("host"), http::HeaderValue::from_static("elsewhere:1")),
            (http::HeaderName::from_static("x-extra"), http::HeaderValue::from_static("  a   b ")),
        ];
        let credentials = [
            crate::wire::Credentials::dummy(),
            crate::wire::Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", Some("FwoGZX//token+=".into())),
        ];
        let time = std::time::UNIX_EPOCH + Duration::from_secs(1_764_000_000);
        for url in ["http://127.0.0.1:5000/", "http://localhost:80/ec2/", "http://[::1]:4566/"] {
            let target = Target::for_tests(url);
            let route = Route::new(&target);
            for (credentials, headers) in
                credentials.iter().flat_map(|c| [&FORM[..], &json, &with_host].map(|h| (c, h)))
            {
                let signer = wire::Signer::new(credentials.clone());
                for body in ["", "Action=CopyImage&Name=x", &"Name=%20é".repeat(300)] {
                    let built = build_routed(&route, &target, &signer, "eu-west-3", body, headers, time).unwrap();
                    let wire = wire_routed(&route, &signer, "eu-west-3", body, headers, time).expect("a parsed route");
                    let wire = wire.unwrap();
                    let path = route.0.as_ref().unwrap().uri.path();
                    let encoded = http1::encode(built.method(), path, built.headers(), built.body());
                    assert_eq!(String::from_utf8_lossy(&wire.bytes), String::from_utf8_lossy(&encoded), "{url}");
                    let shown: Vec<(String, String)> =
                        built.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned())).collect();
                    assert_eq!(wire.headers(), shown, "{url}");
                }
            }
        }
        // A session token that would break its header line is refused both ways, in the same words.
        let broken =
            crate::wire::Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", Some("a\r\nx-evil: 1".into()));
        let signer = wire::Signer::new(broken);
        let target = Target::for_tests("http://127.0.0.1:5000/");
        let route = Route::new(&target);
        let built = build_routed(&route, &target, &signer, "us-east-1", "A=1", &FORM, time).unwrap_err();
        let wire = wire_routed(&route, &signer, "us-east-1", "A=1", &FORM, time).unwrap().err().unwrap();
        assert_eq!(built.to_string(), wire.to_string());
        assert!(wire.to_string().contains("x-amz-security-token"), "{wire}");
        // Without a parsed route there is nothing to write.
        assert!(wire_routed(&Route(None), &signer, "us-east-1", "A=1", &FORM, time).is_none());
    }

    #[test]
    fn a_request_along_a_parsed_route_is_the_request_built_from_the_text() {
        let json = [
            (http::HeaderName::from_static("content-type"), http::HeaderValue::from_static("application/json")),
            (http::HeaderName::from_static("accept"), http::HeaderValue::from_static("a/j")),
        ];
        let signer = wire::Signer::new(crate::wire::Credentials::dummy());
        let urls = [
            "http://127.0.0.1:5000/",
            "https://ec2.us-east-1.amazonaws.com/",
            "http://localhost:80/ec2/",
            "http://[::1]:4566/",
        ];
        for url in urls {
            let target = Target::for_tests(url);
            let route = Route::new(&target);
            assert!(route.0.is_some(), "{url}");
            for headers in [&FORM[..], &json[..]] {
                // Two tries, in case the clock's second turned between the two requests.
                let same = (0..2).any(|_| {
                    let ours =
                        build_routed(&route, &target, &signer, "us-east-1", "Action=X", headers, SystemTime::now())
                            .unwrap();
                    let ours = into_reqwest(&route, ours).unwrap();
                    // Built from the endpoint's text, as without a parsed route.
                    let text = Route(None);
                    let theirs =
                        build_routed(&text, &target, &signer, "us-east-1", "Action=X", headers, SystemTime::now())
                            .unwrap();
                    let theirs = into_reqwest(&text, theirs).unwrap();
                    let show = |r: &reqwest::Request| {
                        let h: Vec<_> =
                            r.headers().iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
                        (
                            r.method().clone(),
                            r.url().clone(),
                            h,
                            r.body().and_then(|b| b.as_bytes()).map(<[u8]>::to_vec),
                        )
                    };
                    show(&ours) == show(&theirs)
                });
                assert!(same, "{url} {headers:?}");
            }
        }
        // A path to normalise is signed by aws-sigv4, from the text.
        assert!(Route::new(&Target::for_tests("http://h/a/../b%20c")).0.is_none());
        assert!(Route::new(&Target::for_tests("not a url")).0.is_none());
    }
}
