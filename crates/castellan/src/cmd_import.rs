use castellan_sources::SourceKind;

use crate::Failure;
use crate::args::{Global, ImportArgs, ImportSource};
use crate::output::{self, Bar};

fn same_source(a: SourceKind, b: SourceKind) -> bool {
    a.name() == b.name()
}

pub fn run(g: &Global, a: &ImportArgs) -> Result<u8, Failure> {
    let mut ctx = output::open(g)?;
    let kind = match a.source {
        ImportSource::Auto => None,
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
    let bar = Bar::new(g);
    let reports = castellan_pipeline::import_paths(&mut ctx, &paths, &bar);
    bar.finish();
    let reports = reports?;
    if g.json {
        output::print_json(&serde_json::to_value(&reports)?);
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
        for r in &reports {
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
