use castellan_sources::SourceKind;

use crate::Failure;
use crate::args::{Global, ImportArgs, ImportSource};
use crate::output::{self, Bar};

fn same_source(a: SourceKind, b: SourceKind) -> bool {
    a.name() == b.name()
}

pub fn run(g: &Global, a: &ImportArgs) -> Result<u8, Failure> {
    if matches!(a.source, ImportSource::Tls) {
        return tls(g, a);
    }
    if a.live || matches!(a.source, ImportSource::Aws) {
        return live(g, a);
    }
    if a.paths.is_empty() {
        return Err(usage(
            "name at least one file or folder to import (or `castellan import aws --live`)".into(),
        ));
    }
    let mut ctx = output::open(g)?;
    let kind = match a.source {
        ImportSource::Auto => None,
        ImportSource::Aws | ImportSource::Tls => None,
        ImportSource::Governance => Some(SourceKind::Governance),
        ImportSource::AwsCredentialReport => Some(SourceKind::AwsCredentialReport),
        ImportSource::AwsAuthorizationDetails => Some(SourceKind::AwsAuthorizationDetails),
        ImportSource::Kubernetes => Some(SourceKind::Kubernetes),
        ImportSource::AwsIamLists => Some(SourceKind::AwsIamLists),
        ImportSource::AwsCloudtrail => Some(SourceKind::AwsCloudTrail),
        ImportSource::Gcp => Some(SourceKind::Gcp),
        ImportSource::Azure => Some(SourceKind::Azure),
        ImportSource::Github => Some(SourceKind::GitHub),
        ImportSource::Vault => Some(SourceKind::Vault),
        ImportSource::X509 => Some(SourceKind::X509),
        ImportSource::Ssh => Some(SourceKind::Ssh),
    };
    if let Some(acct) = &a.account {
        if acct.len() != 12 || !acct.bytes().all(|b| b.is_ascii_digit()) {
            return Err(
                anyhow::anyhow!("--account {acct:?}: an AWS account id is 12 digits").into(),
            );
        }
        ctx.account = Some(acct.clone());
    }
    if let Some(c) = &a.cluster {
        if c.is_empty() || c.contains(|ch: char| ch == ':' || ch == '/' || ch.is_whitespace()) {
            return Err(anyhow::anyhow!(
                "--cluster {c:?}: a cluster name may not be empty or contain ':', '/' or spaces"
            )
            .into());
        }
        ctx.cluster = Some(c.clone());
    }
    // A folder stands for the files in it that the source reads (or any recognised file for
    // `auto`), e.g. a directory of certificates or an S3 sync of CloudTrail logs.
    let mut files = Vec::new();
    for p in &a.paths {
        if p.is_dir() {
            let (found, _) = castellan_pipeline::discover(p)?;
            let before = files.len();
            files.extend(
                found
                    .into_iter()
                    .filter(|(_, k)| kind.is_none_or(|want| same_source(want, *k)))
                    .map(|(f, _)| f),
            );
            if files.len() == before {
                return Err(anyhow::anyhow!(
                    "{}: no file in this folder is recognised as {}",
                    p.display(),
                    kind.map_or("an export", |k| k.name())
                )
                .into());
            }
        } else {
            files.push(p.clone());
        }
    }
    let mut paths = Vec::new();
    for p in &files {
        // An explicit aws-credential-report may be the CSV or the JSON envelope: look inside.
        let k = match kind {
            Some(SourceKind::AwsCredentialReport) => {
                let mut head = Vec::new();
                if let Ok(f) = std::fs::File::open(p) {
                    use std::io::Read;
                    let _ = f.take(8192).read_to_end(&mut head);
                }
                match castellan_sources::detect(p, &head) {
                    Some(SourceKind::AwsCredentialReportJson) => {
                        Some(SourceKind::AwsCredentialReportJson)
                    }
                    _ => kind,
                }
            }
            k => k,
        };
        paths.push((p.clone(), k));
    }
    ctx.p12_password = output::p12_password(&files)?;
    let bar = Bar::new(g);
    let reports = castellan_pipeline::import_paths(&mut ctx, &paths, &bar);
    bar.finish();
    print_reports(g, &reports?)
}

fn usage(msg: String) -> Failure {
    Failure {
        code: crate::exit::INPUT,
        error: anyhow::anyhow!(msg),
    }
}

/// `castellan import aws --live`.
fn live(g: &Global, a: &ImportArgs) -> Result<u8, Failure> {
    if !matches!(a.source, ImportSource::Aws) {
        return Err(usage(format!(
            "--live reads a source through its API; only `castellan import aws --live` exists (got {:?}); import {:?} exports as files",
            a.source, a.source
        )));
    }
    if !a.live {
        return Err(usage("`castellan import aws` reads AWS IAM live and needs --live; to import exports from files, name their format (aws-credential-report, aws-authorization-details, aws-iam-lists, aws-cloudtrail) or use `auto`".into()));
    }
    if !a.paths.is_empty() {
        return Err(usage(
            "--live reads the API and takes no files; import files separately".into(),
        ));
    }
    live_import(g)
}

#[cfg(feature = "aws")]
fn live_import(g: &Global) -> Result<u8, Failure> {
    let mut ctx = output::open(g)?;
    let bar = Bar::new(g);
    let reports = castellan_pipeline::import_aws_live(&mut ctx, &bar);
    bar.finish();
    print_reports(g, &reports?)
}

#[cfg(not(feature = "aws"))]
fn live_import(_g: &Global) -> Result<u8, Failure> {
    Err(usage("this castellan was built without live AWS support; build it with `cargo install --path crates/castellan --features aws` (the AWS SDK takes several minutes to compile, so it is not in the default build)".into()))
}

/// `castellan import tls HOST:PORT…` (always live; `--live` is accepted and changes nothing).
fn tls(g: &Global, a: &ImportArgs) -> Result<u8, Failure> {
    if a.paths.is_empty() {
        return Err(usage(
            "name at least one endpoint: `castellan import tls HOST:PORT…` (e.g. api.example.eu:443, [2001:db8::1]:443)".into(),
        ));
    }
    if a.cluster.is_some() || a.account.is_some() {
        return Err(usage(
            "--cluster and --account do not apply to `castellan import tls`".into(),
        ));
    }
    tls_import(g, &a.paths)
}

#[cfg(feature = "tls")]
fn tls_import(g: &Global, args: &[std::path::PathBuf]) -> Result<u8, Failure> {
    use castellan_sources::tls_live::Endpoint;
    let mut endpoints = Vec::with_capacity(args.len());
    for p in args {
        let s = p.to_str().ok_or_else(|| {
            usage(format!(
                "{}: not an endpoint; expected HOST:PORT",
                p.display()
            ))
        })?;
        endpoints.push(Endpoint::parse(s).map_err(|e| usage(format!("import tls: {e}")))?);
    }
    let mut ctx = output::open(g)?;
    let bar = Bar::new(g);
    let reports = castellan_pipeline::import_tls_live(&mut ctx, &endpoints, &bar);
    bar.finish();
    print_reports(g, &reports?)
}

#[cfg(not(feature = "tls"))]
fn tls_import(_g: &Global, _args: &[std::path::PathBuf]) -> Result<u8, Failure> {
    Err(usage("this castellan was built without live TLS support; build it with `cargo install --path crates/castellan --features tls` to read the certificates TLS endpoints present (or save them with `openssl s_client -showcerts` and `castellan import x509 FILE`)".into()))
}

fn print_reports(g: &Global, reports: &[castellan_pipeline::ImportReport]) -> Result<u8, Failure> {
    if g.json {
        output::print_json(&serde_json::to_value(reports)?);
    } else if !g.quiet {
        let mut t = output::table(&[
            "file",
            "source",
            "records",
            "added",
            "changed",
            "unchanged",
            "gone",
            "new events",
        ]);
        for r in reports {
            t.add_row(vec![
                r.path.clone(),
                r.source.clone(),
                r.records.to_string(),
                r.added.to_string(),
                r.changed.to_string(),
                r.unchanged.to_string(),
                r.gone.to_string(),
                r.events_added.to_string(),
            ]);
        }
        println!("{t}");
    }
    Ok(crate::exit::OK)
}
