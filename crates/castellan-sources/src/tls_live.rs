//! Live TLS endpoints (cargo feature `tls`, `castellan import tls HOST:PORT…`): connects to each
//! endpoint, performs a TLS handshake (SNI = HOST when it is a DNS name) and keeps the certificate
//! chain the server presented, leaf first, as a PEM bundle — so a live read and a file go through
//! the same parser ([`crate::x509::parse_endpoint`]) and the bundle is kept as evidence.
//!
//! Any certificate is accepted: Castellan inventories what is served, it does not judge trust
//! here (expiry, weak keys and self-signed certificates are the controls' business). The
//! handshake signature is still checked against the presented leaf's key, and the result recorded
//! (`handshake_signature_verified`), so a peer that does not hold the key is visible. Plain
//! `std::net` with 10-second connect, read and write timeouts; no async runtime.
//!
//! TLS 1.2 and 1.3 with the cipher suites of rustls' `ring` provider: an endpoint that offers
//! only TLS 1.0/1.1 or suites without forward secrecy fails with a handshake error.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write as _};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use serde_json::{Value, json};

/// Connect, read and write timeout.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The whole handshake must finish within this time (a peer dripping bytes cannot hold a read).
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(30);

/// At most this many certificates are kept from one chain.
const MAX_CHAIN: usize = 64;

/// The host part of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Host {
    /// A DNS name, lower-case, without a trailing dot (sent as SNI).
    Dns(String),
    /// An IP address (no SNI is sent).
    Ip(IpAddr),
}

/// A `HOST:PORT` to read: a DNS name, an IPv4 address or an IPv6 address in brackets.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    /// The host.
    pub host: Host,
    /// The TCP port.
    pub port: u16,
}

impl fmt::Display for Endpoint {
    /// `host:port`, `1.2.3.4:port`, `[2001:db8::1]:port`: the canonical spelling, used in scopes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Dns(h) => write!(f, "{h}:{}", self.port),
            Host::Ip(IpAddr::V4(a)) => write!(f, "{a}:{}", self.port),
            Host::Ip(IpAddr::V6(a)) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

impl Endpoint {
    /// Parses `HOST:PORT` (`api.example.eu:443`, `192.0.2.10:8443`, `[2001:db8::1]:443`); the
    /// error says what is wrong and shows the expected form.
    pub fn parse(s: &str) -> Result<Endpoint, String> {
        let form =
            "expected HOST:PORT, e.g. api.example.eu:443, 192.0.2.10:8443 or [2001:db8::1]:443";
        let bad = |why: &str| format!("{s:?}: {why}; {form}");
        let s_trim = s.trim();
        if s_trim.is_empty() {
            return Err(bad("empty endpoint"));
        }
        if s_trim.contains("://") {
            return Err(bad("give the host and port, not a URL"));
        }
        let (host, port) = if let Some(rest) = s_trim.strip_prefix('[') {
            let (addr, after) = rest
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 address in brackets needs its closing `]`"))?;
            let port = after
                .strip_prefix(':')
                .ok_or_else(|| bad("missing port after the IPv6 address"))?;
            let ip: Ipv6Addr = addr
                .parse()
                .map_err(|_| bad("not an IPv6 address between the brackets"))?;
            (Host::Ip(IpAddr::V6(ip)), port)
        } else {
            let (host, port) = s_trim.rsplit_once(':').ok_or_else(|| bad("missing port"))?;
            if host.contains(':') {
                return Err(bad("an IPv6 address goes in brackets"));
            }
            if host.is_empty() {
                return Err(bad("missing host"));
            }
            let host = match host.parse::<IpAddr>() {
                Ok(ip) => Host::Ip(ip),
                Err(_) => {
                    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
                    if !is_dns_name(&name) {
                        return Err(bad("the host is neither a DNS name nor an IP address"));
                    }
                    Host::Dns(name)
                }
            };
            (host, port)
        };
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the port is not a number"));
        }
        let port: u16 = match port.parse() {
            Ok(p) if p > 0 => p,
            _ => return Err(bad("the port is not between 1 and 65535")),
        };
        Ok(Endpoint { host, port })
    }

    /// A file name for the endpoint's chain: `<host>_<port>.pem`, the host with every character
    /// other than letters, digits, `.` and `-` replaced by `-` (IPv6 colons).
    pub fn file_name(&self) -> String {
        let host = match &self.host {
            Host::Dns(h) => h.clone(),
            Host::Ip(ip) => ip.to_string(),
        };
        let host: String = host
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("{host}_{}.pem", self.port)
    }
}

/// A DNS name: labels of letters, digits, `-` and `_` (some internal names use it), 1–63
/// characters, not starting or ending with `-`; at most 253 characters.
fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        && ServerName::try_from(s).is_ok()
}

/// What an endpoint presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presented {
    /// The endpoint read.
    pub endpoint: Endpoint,
    /// The address connected to.
    pub address: SocketAddr,
    /// The negotiated protocol: `TLSv1.2`, `TLSv1.3`.
    pub tls_version: String,
    /// The negotiated cipher suite, IANA name (`TLS_AES_256_GCM_SHA384`,
    /// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`).
    pub cipher_suite: String,
    /// The certificates, DER, in the order presented (leaf first).
    pub chain: Vec<Vec<u8>>,
    /// Whether the handshake signature verified against the leaf's key (`None`: not checked,
    /// e.g. the algorithm is not one rustls verifies).
    pub signature_verified: Option<bool>,
    /// Whether the handshake finished; `false` when the server ended it after presenting its
    /// certificates (a server that requires a client certificate, with TLS 1.2), with the reason.
    pub handshake_error: Option<String>,
}

impl Presented {
    /// The chain as a PEM bundle, leaf first, after comment lines that say where it came from.
    pub fn pem(&self) -> Vec<u8> {
        let mut out = String::new();
        out.push_str(&format!(
            "# castellan import tls {}\n# address: {}\n# tls_version: {}\n# cipher_suite: {}\n",
            self.endpoint, self.address, self.tls_version, self.cipher_suite
        ));
        for der in &self.chain {
            out.push_str("-----BEGIN CERTIFICATE-----\n");
            let b64 = base64::engine::general_purpose::STANDARD.encode(der);
            for line in b64.as_bytes().chunks(64) {
                out.push_str(&String::from_utf8_lossy(line));
                out.push('\n');
            }
            out.push_str("-----END CERTIFICATE-----\n");
        }
        out.into_bytes()
    }

    /// The attributes the read adds to every certificate of the chain (besides `endpoint`, which
    /// [`crate::x509::parse_endpoint`] sets).
    pub fn attributes(&self) -> BTreeMap<String, Value> {
        let mut a = BTreeMap::new();
        a.insert("tls_version".into(), json!(self.tls_version));
        a.insert("cipher_suite".into(), json!(self.cipher_suite));
        a.insert("endpoint_address".into(), json!(self.address.to_string()));
        if let Some(v) = self.signature_verified {
            a.insert("handshake_signature_verified".into(), json!(v));
        }
        if let Some(e) = &self.handshake_error {
            a.insert("handshake_completed".into(), json!(false));
            a.insert("handshake_error".into(), json!(e));
        }
        a
    }
}

/// A read that failed: the endpoint and why (DNS, refused, timeout, not TLS…).
#[derive(Debug, thiserror::Error)]
#[error("{endpoint}: {message}")]
pub struct TlsError {
    /// The endpoint, as given.
    pub endpoint: String,
    /// What went wrong.
    pub message: String,
}

/// Records the presented chain and accepts it.
#[derive(Debug)]
struct Recorder {
    algorithms: WebPkiSupportedAlgorithms,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    chain: Vec<Vec<u8>>,
    signature_verified: Option<bool>,
}

impl Recorder {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn note_signature<E>(&self, r: Result<HandshakeSignatureValid, E>) -> HandshakeSignatureValid {
        self.seen().signature_verified = Some(r.is_ok());
        HandshakeSignatureValid::assertion()
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut seen = self.seen();
        seen.chain = std::iter::once(end_entity)
            .chain(intermediates)
            .take(MAX_CHAIN)
            .map(|c| c.as_ref().to_vec())
            .collect();
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let r = rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms);
        Ok(self.note_signature(r))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let r = rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms);
        Ok(self.note_signature(r))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        other => format!("{other:?}"),
    }
}

fn suite_name(s: rustls::SupportedCipherSuite) -> String {
    let suite = s.suite();
    match suite.as_str() {
        // rustls spells the TLS 1.3 suites `TLS13_…`; IANA (and OpenSSL) `TLS_…`
        Some(n) => n
            .strip_prefix("TLS13_")
            .map_or_else(|| n.to_string(), |rest| format!("TLS_{rest}")),
        None => format!("{suite:?}"),
    }
}

/// Reads one endpoint: connects (trying each address the name resolves to), performs the
/// handshake and returns what the server presented. `progress` is told what is being done.
pub fn fetch(endpoint: &Endpoint, progress: &dyn Fn(&str)) -> Result<Presented, TlsError> {
    let fail = |message: String| TlsError {
        endpoint: endpoint.to_string(),
        message,
    };
    progress(&format!("connecting to {endpoint}"));
    let addrs: Vec<SocketAddr> = match &endpoint.host {
        Host::Ip(ip) => vec![SocketAddr::new(*ip, endpoint.port)],
        Host::Dns(name) => (name.as_str(), endpoint.port)
            .to_socket_addrs()
            .map_err(|e| fail(format!("cannot resolve {name}: {e}")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(fail("the name resolves to no address".into()));
    }
    let mut last = None;
    let mut stream = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, TIMEOUT) {
            Ok(s) => {
                stream = Some((s, *addr));
                break;
            }
            Err(e) => last = Some((*addr, e)),
        }
    }
    let (mut sock, address) = match (stream, last) {
        (Some(s), _) => s,
        (None, Some((addr, e))) => {
            let why = match e.kind() {
                io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                    format!("no answer within {} s", TIMEOUT.as_secs())
                }
                _ => e.to_string(),
            };
            let at = if addrs.len() > 1 {
                format!(" ({} addresses tried, last {addr})", addrs.len())
            } else {
                String::new()
            };
            return Err(fail(format!("cannot connect: {why}{at}")));
        }
        (None, None) => return Err(fail("cannot connect".into())),
    };
    let io_fail = |e: io::Error| fail(format!("cannot set socket timeouts: {e}"));
    sock.set_read_timeout(Some(TIMEOUT)).map_err(io_fail)?;
    sock.set_write_timeout(Some(TIMEOUT)).map_err(io_fail)?;
    let _ = sock.set_nodelay(true);

    progress(&format!("TLS handshake with {endpoint}"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(Recorder {
        algorithms: provider.signature_verification_algorithms,
        seen: Mutex::new(Seen::default()),
    });
    let config = client_config(provider, recorder.clone())
        .map_err(|e| fail(format!("cannot set up TLS: {e}")))?;
    let server_name: ServerName<'static> = match &endpoint.host {
        Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
        Host::Dns(name) => ServerName::try_from(name.clone())
            .map_err(|e| fail(format!("not a usable server name: {e}")))?,
    };
    let mut conn = ClientConnection::new(Arc::new(config), server_name)
        .map_err(|e| fail(format!("cannot start the TLS handshake: {e}")))?;

    let handshake_error = match handshake(&mut conn, &mut sock) {
        Ok(()) => None,
        Err(h) => {
            // A server that ends the handshake after presenting its chain (it wants a client
            // certificate, TLS 1.2) still showed what it serves.
            let have_chain = !recorder.seen().chain.is_empty();
            match h {
                Handshake::Alert(msg) | Handshake::Eof(msg) if have_chain => Some(msg),
                other => return Err(fail(other.message())),
            }
        }
    };
    if handshake_error.is_none() {
        conn.send_close_notify();
        while conn.wants_write() {
            if conn.write_tls(&mut sock).is_err() {
                break;
            }
        }
        let _ = sock.flush();
    }

    let tls_version = conn
        .protocol_version()
        .map(version_name)
        .ok_or_else(|| fail("no TLS version was negotiated".into()))?;
    let cipher_suite = conn
        .negotiated_cipher_suite()
        .map(suite_name)
        .ok_or_else(|| fail("no cipher suite was negotiated".into()))?;
    let seen = std::mem::take(&mut *recorder.seen());
    if seen.chain.is_empty() {
        return Err(fail("the server presented no certificate".into()));
    }
    Ok(Presented {
        endpoint: endpoint.clone(),
        address,
        tls_version,
        cipher_suite,
        chain: seen.chain,
        signature_verified: seen.signature_verified,
        handshake_error,
    })
}

fn client_config(
    provider: Arc<CryptoProvider>,
    recorder: Arc<Recorder>,
) -> Result<ClientConfig, rustls::Error> {
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .dangerous()
        .with_custom_certificate_verifier(recorder)
        .with_no_client_auth();
    config.enable_sni = true;
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

/// Why a handshake stopped.
enum Handshake {
    /// The peer sent an alert.
    Alert(String),
    /// The peer closed the connection.
    Eof(String),
    /// Anything else.
    Other(String),
}

impl Handshake {
    fn message(self) -> String {
        match self {
            Handshake::Alert(m) | Handshake::Eof(m) | Handshake::Other(m) => m,
        }
    }
}

fn handshake(conn: &mut ClientConnection, sock: &mut TcpStream) -> Result<(), Handshake> {
    let deadline = Instant::now() + HANDSHAKE_DEADLINE;
    let timeout = || {
        Handshake::Other(format!(
            "the TLS handshake did not finish within {} s (a TLS port?)",
            TIMEOUT.as_secs()
        ))
    };
    let io_err = |e: io::Error, doing: &str| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => timeout(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => Handshake::Eof(
            format!("the server reset the connection during the TLS handshake ({doing})"),
        ),
        _ => Handshake::Other(format!("{doing}: {e}")),
    };
    while conn.is_handshaking() {
        if Instant::now() > deadline {
            return Err(timeout());
        }
        while conn.wants_write() {
            conn.write_tls(sock)
                .map_err(|e| io_err(e, "sending the handshake"))?;
        }
        if !conn.is_handshaking() {
            break;
        }
        let n = match conn.read_tls(sock) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(e, "reading the handshake")),
        };
        if n == 0 {
            return Err(Handshake::Eof(
                "the server closed the connection during the TLS handshake (not a TLS port?)"
                    .into(),
            ));
        }
        if let Err(e) = conn.process_new_packets() {
            // tell the server why (the alert rustls queued), then report
            while conn.wants_write() {
                if conn.write_tls(sock).is_err() {
                    break;
                }
            }
            return Err(classify(e));
        }
    }
    // the client's last handshake flight (TLS 1.3 Finished)
    while conn.wants_write() {
        conn.write_tls(sock)
            .map_err(|e| io_err(e, "sending the handshake"))?;
    }
    Ok(())
}

fn classify(e: rustls::Error) -> Handshake {
    use rustls::Error as E;
    match e {
        E::InvalidMessage(m) => Handshake::Other(format!(
            "the server did not answer with TLS ({m:?}); is this a TLS port?"
        )),
        E::AlertReceived(a) => Handshake::Alert(format!(
            "the server ended the TLS handshake with the alert {a:?}"
        )),
        E::PeerIncompatible(p) => Handshake::Other(format!(
            "no TLS version or cipher suite in common ({p:?}); Castellan speaks TLS 1.2 and 1.3"
        )),
        E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            Handshake::Other(format!(
                "the server broke the TLS handshake ({e}); is this a TLS port?"
            ))
        }
        other => Handshake::Other(format!("TLS handshake failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_and_print_canonically() {
        let e = Endpoint::parse("API.Example.EU.:443").expect("dns");
        assert_eq!(e.host, Host::Dns("api.example.eu".into()));
        assert_eq!(e.to_string(), "api.example.eu:443");
        assert_eq!(e.file_name(), "api.example.eu_443.pem");

        let e = Endpoint::parse("192.0.2.10:8443").expect("v4");
        assert_eq!(e.to_string(), "192.0.2.10:8443");
        assert_eq!(e.file_name(), "192.0.2.10_8443.pem");

        let e = Endpoint::parse("[2001:DB8:0::1]:443").expect("v6");
        assert_eq!(e.to_string(), "[2001:db8::1]:443");
        assert_eq!(e.file_name(), "2001-db8--1_443.pem");

        let e = Endpoint::parse("svc_internal.corp:636").expect("underscore");
        assert_eq!(e.to_string(), "svc_internal.corp:636");
    }

    #[test]
    fn bad_endpoints_say_why() {
        for (s, why) in [
            ("", "empty"),
            ("api.example.eu", "missing port"),
            ("api.example.eu:", "not a number"),
            ("api.example.eu:https", "not a number"),
            ("api.example.eu:0", "between 1 and 65535"),
            ("api.example.eu:70000", "between 1 and 65535"),
            (":443", "missing host"),
            ("2001:db8::1:443", "in brackets"),
            ("[2001:db8::1]", "missing port"),
            ("[2001:db8::1:443", "closing"),
            ("[not-v6]:443", "not an IPv6"),
            ("https://api.example.eu:443", "not a URL"),
            ("api example.eu:443", "neither a DNS name"),
            ("-api.example.eu:443", "neither a DNS name"),
            ("api..example.eu:443", "neither a DNS name"),
        ] {
            let e = Endpoint::parse(s).expect_err(s);
            assert!(e.contains(why), "{s:?}: {e}");
            assert!(e.contains("HOST:PORT"), "{s:?}: {e}");
        }
    }

    #[test]
    fn pem_bundle_is_read_back_by_the_x509_parser() {
        let pem =
            include_bytes!("../../castellan/tests/fixtures/x509/api.example.eu-fullchain.pem");
        let text = String::from_utf8_lossy(pem);
        let chain: Vec<Vec<u8>> = text
            .split("-----BEGIN CERTIFICATE-----")
            .skip(1)
            .map(|b| {
                let body: String = b
                    .split("-----END CERTIFICATE-----")
                    .next()
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect();
                base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .expect("base64")
            })
            .collect();
        assert_eq!(chain.len(), 3);
        let p = Presented {
            endpoint: Endpoint::parse("api.example.eu:443").expect("endpoint"),
            address: "203.0.113.10:443".parse().expect("addr"),
            tls_version: "TLSv1.3".into(),
            cipher_suite: "TLS_AES_256_GCM_SHA384".into(),
            chain,
            signature_verified: Some(true),
            handshake_error: None,
        };
        let r = crate::x509::parse_endpoint("api.example.eu:443", &p.pem()).expect("parse");
        assert_eq!(r.credentials.len(), 3);
        let leaf = r
            .credentials
            .iter()
            .find(|c| c.attributes["chain_position"] == "leaf")
            .expect("leaf");
        assert_eq!(leaf.name, "api.example.eu");
        assert_eq!(leaf.attributes["issuer_in_file"], true);
        let a = p.attributes();
        assert_eq!(a["tls_version"], "TLSv1.3");
        assert_eq!(a["cipher_suite"], "TLS_AES_256_GCM_SHA384");
        assert!(!a.contains_key("handshake_completed"));
    }

    #[test]
    fn suite_and_version_names() {
        assert_eq!(version_name(rustls::ProtocolVersion::TLSv1_3), "TLSv1.3");
        let p = rustls::crypto::ring::default_provider();
        let names: Vec<String> = p.cipher_suites.iter().map(|s| suite_name(*s)).collect();
        assert!(
            names.contains(&"TLS_AES_256_GCM_SHA384".to_string()),
            "{names:?}"
        );
        assert!(
            names.contains(&"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".to_string()),
            "{names:?}"
        );
    }
}
