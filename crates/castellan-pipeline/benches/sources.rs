//! Importing large source exports: parse alone, then the whole import into SQLite as
//! `castellan import` does, first into an empty database and then again (nothing changed).
//! Each source runs in its own process so its peak memory is its own.
//!
//!     cargo bench -p castellan-pipeline --bench sources -- aws    # authorization details: 100,000 users, 50,000 roles
//!     cargo bench -p castellan-pipeline --bench sources -- k8s    # kubectl List: 200,000 objects
//!     cargo bench -p castellan-pipeline --bench sources -- cloudtrail  # 100 gzip'd logs, 200,000 records
//!     CASTELLAN_BENCH_USERS=10000 CASTELLAN_BENCH_ROLES=5000 cargo bench -p castellan-pipeline --bench sources -- aws
//!     CASTELLAN_BENCH_K8S_NAMESPACES=200 cargo bench -p castellan-pipeline --bench sources -- k8s

use std::io::Write;

use base64::Engine;
use std::time::Instant;

use castellan_model::Clock;
use castellan_pipeline::{Context, Silent, import_paths};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const A: &str = "123456789012";

/// Writes the export the way the AWS CLI prints it (one JSON document, pages merged).
fn write_export(path: &std::path::Path, users: usize, roles: usize) -> usize {
    let groups = 20;
    let policies = 200;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    write!(f, "{{\n    \"UserDetailList\": [").expect("w");
    for i in 0..users {
        let sep = if i == 0 { "" } else { "," };
        let team = i % 50;
        write!(
            f,
            r#"{sep}
        {{"Path": "/svc/team{team}/", "UserName": "svc-{i:07}", "UserId": "AIDA{i:016}", "Arn": "arn:aws:iam::{A}:user/svc/team{team}/svc-{i:07}", "CreateDate": "2024-03-01T08:00:00Z",
         "UserPolicyList": [{{"PolicyName": "own", "PolicyDocument": {{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::bucket-{team}/svc-{i:07}/*"}}]}}}}],
         "GroupList": ["group-{g}"], "AttachedManagedPolicies": [{{"PolicyName": "p{p}", "PolicyArn": "arn:aws:iam::{A}:policy/p{p}"}}],
         "Tags": [{{"Key": "service", "Value": "team{team}"}}]}}"#,
            g = i % groups,
            p = i % policies
        )
        .expect("w");
    }
    write!(f, "\n    ],\n    \"GroupDetailList\": [").expect("w");
    for g in 0..groups {
        let sep = if g == 0 { "" } else { "," };
        // one group of key administrators: lifecycle authority over every user
        let action = if g == 0 {
            "iam:*AccessKey*"
        } else {
            "sqs:SendMessage"
        };
        write!(
            f,
            r#"{sep}
        {{"Path": "/", "GroupName": "group-{g}", "GroupId": "AGPA{g:016}", "Arn": "arn:aws:iam::{A}:group/group-{g}", "CreateDate": "2023-01-01T00:00:00Z",
         "GroupPolicyList": [{{"PolicyName": "g", "PolicyDocument": {{"Statement": [{{"Effect": "Allow", "Action": "{action}", "Resource": "*"}}]}}}}],
         "AttachedManagedPolicies": []}}"#
        )
        .expect("w");
    }
    write!(f, "\n    ],\n    \"RoleDetailList\": [").expect("w");
    for r in 0..roles {
        let sep = if r == 0 { "" } else { "," };
        let trust = match r % 10 {
            0 => format!(
                r#"{{"AWS": "arn:aws:iam::{:012}:root"}}"#,
                100_000_000_000u64 + r as u64
            ),
            1 => format!(
                r#"{{"Federated": "arn:aws:iam::{A}:oidc-provider/token.actions.githubusercontent.com"}}"#
            ),
            _ => r#"{"Service": "lambda.amazonaws.com"}"#.to_string(),
        };
        // a handful of administrators
        let attached = if r % 10_000 == 0 {
            r#"{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}"#.to_string()
        } else {
            format!(
                r#"{{"PolicyName": "p{p}", "PolicyArn": "arn:aws:iam::{A}:policy/p{p}"}}"#,
                p = r % policies
            )
        };
        write!(
            f,
            r#"{sep}
        {{"Path": "/app/", "RoleName": "role-{r:07}", "RoleId": "AROA{r:016}", "Arn": "arn:aws:iam::{A}:role/app/role-{r:07}", "CreateDate": "2024-05-01T00:00:00Z",
         "AssumeRolePolicyDocument": {{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {trust}, "Action": "sts:AssumeRole"}}]}},
         "InstanceProfileList": [], "RolePolicyList": [], "AttachedManagedPolicies": [{attached}],
         "Tags": [], "RoleLastUsed": {{"LastUsedDate": "2026-11-30T10:00:00Z", "Region": "eu-central-1"}}}}"#
        )
        .expect("w");
    }
    write!(f, "\n    ],\n    \"Policies\": [").expect("w");
    for p in 0..policies {
        let sep = if p == 0 { "" } else { "," };
        write!(
            f,
            r#"{sep}
        {{"PolicyName": "p{p}", "PolicyId": "ANPA{p:016}", "Arn": "arn:aws:iam::{A}:policy/p{p}", "Path": "/", "DefaultVersionId": "v1", "AttachmentCount": 1, "IsAttachable": true,
         "PolicyVersionList": [{{"Document": {{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": "arn:aws:dynamodb:eu-central-1:{A}:table/t{p}"}}]}}, "VersionId": "v1", "IsDefaultVersion": true, "CreateDate": "2023-01-01T00:00:00Z"}}]}}"#
        )
        .expect("w");
    }
    writeln!(f, "\n    ]\n}}").expect("w");
    users + roles + groups + policies
}

/// Writes a `kubectl get serviceaccounts,secrets,roles,clusterroles,rolebindings,clusterrolebindings,pods -A -o json`
/// List: per namespace 20 service accounts with a legacy token each, 30 pods, 10 roles and 20
/// role bindings (100 objects), plus 50 cluster roles and 100 cluster role bindings.
fn write_k8s(path: &std::path::Path, namespaces: usize) -> usize {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut n = 0usize;
    write!(f, "{{\n    \"apiVersion\": \"v1\",\n    \"items\": [").expect("w");
    let mut sep = "";
    let mut item = |f: &mut std::io::BufWriter<std::fs::File>, body: String| {
        write!(f, "{sep}\n        {body}").expect("w");
        sep = ",";
        n += 1;
    };
    let token = "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNklpSjkuZXlKcGMzTWlPaUpyZFdKbGNtNWxkR1Z6TDNObGNuWnBZMlZoWTJOdmRXNTBJbjAuYzJsbmJtRjBkWEpsLWJlbmNo";
    for ns in 0..namespaces {
        for s in 0..20 {
            item(
                &mut f,
                format!(
                    r#"{{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {{"name": "sa-{s}", "namespace": "ns-{ns}", "uid": "{ns:08}-{s:04}-4000-8000-000000000000", "resourceVersion": "{ns}{s}", "creationTimestamp": "2024-03-04T09:10:00Z", "labels": {{"app.kubernetes.io/name": "app-{s}", "service": "svc-{s}"}}}}, "secrets": [{{"name": "sa-{s}-token"}}]}}"#
                ),
            );
            item(
                &mut f,
                format!(
                    r#"{{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token", "metadata": {{"name": "sa-{s}-token", "namespace": "ns-{ns}", "creationTimestamp": "2024-03-04T09:12:00Z", "labels": {{"kubernetes.io/legacy-token-last-used": "2026-11-{:02}"}}, "annotations": {{"kubernetes.io/service-account.name": "sa-{s}", "kubernetes.io/service-account.uid": "{ns:08}-{s:04}-4000-8000-000000000000"}}}}, "data": {{"ca.crt": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJleGFtcGxlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K", "namespace": "bnMtMA==", "token": "{}"}}}}"#,
                    1 + (s % 28),
                    base64::engine::general_purpose::STANDARD.encode(format!("{token}.{ns}.{s}"))
                ),
            );
        }
        for p in 0..30 {
            let sa = p % 20;
            item(
                &mut f,
                format!(
                    r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "app-{sa}-7d9f8b6c5-p{p}", "namespace": "ns-{ns}", "creationTimestamp": "2026-11-20T03:00:00Z", "labels": {{"app.kubernetes.io/name": "app-{sa}", "pod-template-hash": "7d9f8b6c5"}}, "ownerReferences": [{{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "app-{sa}-7d9f8b6c5", "controller": true}}]}}, "spec": {{"serviceAccountName": "sa-{sa}", "serviceAccount": "sa-{sa}", "containers": [{{"name": "app", "image": "registry.example/app-{sa}:1.0", "env": [{{"name": "DB_PASSWORD", "valueFrom": {{"secretKeyRef": {{"name": "db-{sa}", "key": "password"}}}}}}], "ports": [{{"containerPort": 8080, "protocol": "TCP"}}]}}], "volumes": [{{"name": "kube-api-access", "projected": {{"sources": [{{"serviceAccountToken": {{"expirationSeconds": 3607, "path": "token"}}}}]}}}}]}}, "status": {{"phase": "Running", "podIP": "10.0.{}.{}"}}}}"#,
                    ns % 250,
                    p
                ),
            );
        }
        for r in 0..10 {
            item(
                &mut f,
                format!(
                    r#"{{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {{"name": "role-{r}", "namespace": "ns-{ns}"}}, "rules": [{{"apiGroups": [""], "resources": ["configmaps", "services"], "verbs": ["get", "list", "watch"]}}, {{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]}}{}]}}"#,
                    if r == 0 {
                        r#", {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}, {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "delete"]}"#
                    } else {
                        ""
                    }
                ),
            );
        }
        for b in 0..20 {
            item(
                &mut f,
                format!(
                    r#"{{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {{"name": "rb-{b}", "namespace": "ns-{ns}"}}, "roleRef": {{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "role-{}"}}, "subjects": [{{"kind": "ServiceAccount", "name": "sa-{b}", "namespace": "ns-{ns}"}}{}]}}"#,
                    b % 10,
                    if b == 0 {
                        r#", {"kind": "Group", "name": "team-ops", "apiGroup": "rbac.authorization.k8s.io"}"#
                    } else {
                        ""
                    }
                ),
            );
        }
    }
    for c in 0..50 {
        item(
            &mut f,
            format!(
                r#"{{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {{"name": "cluster-role-{c}"}}, "rules": [{{"apiGroups": [""], "resources": ["nodes", "namespaces"], "verbs": ["get", "list", "watch"]}}]}}"#
            ),
        );
    }
    for c in 0..100 {
        let role = if c == 0 {
            "cluster-admin".to_string()
        } else {
            format!("cluster-role-{}", c % 50)
        };
        item(
            &mut f,
            format!(
                r#"{{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {{"name": "crb-{c}"}}, "roleRef": {{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "{role}"}}, "subjects": [{{"kind": "ServiceAccount", "name": "sa-{}", "namespace": "ns-{c}"}}]}}"#,
                c % 20
            ),
        );
    }
    writeln!(
        f,
        "\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {{\"resourceVersion\": \"\"}}\n}}"
    )
    .expect("w");
    n
}

fn bench_k8s() {
    let namespaces = env("CASTELLAN_BENCH_K8S_NAMESPACES", 2_000);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("bench-cluster.json");
    let objects = write_k8s(&path, namespaces);
    let size = std::fs::metadata(&path).expect("meta").len();
    println!(
        "kubernetes List: {namespaces} namespaces, {objects} objects, {:.0} MiB",
        size as f64 / 1048576.0
    );
    let key = castellan_model::FingerprintKey::from_bytes([1; 32]);
    let bytes = std::fs::read(&path).expect("read");
    let start = Instant::now();
    let records =
        castellan_sources::k8s::parse("bench.json", &bytes, "bench", &key).expect("parse");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "parse + RBAC privilege + consumers + token lifecycle authority: {secs:.2} s = {:.0} objects/s ({} identities, {} credentials, {} grants)",
        objects as f64 / secs,
        records.identities.len(),
        records.credentials.len(),
        records.grants.len()
    );
    drop(records);
    drop(bytes);
    let clock = Clock::from_option(Some("2026-12-01T00:00:00Z")).expect("clock");
    let db = dir.path().join("sources.db").display().to_string();
    let mut ctx = Context::open(&db, &dir.path().join("data"), clock).expect("open");
    for pass in ["first", "again, unchanged"] {
        let start = Instant::now();
        let reports = import_paths(&mut ctx, &[(path.clone(), None)], &Silent).expect("import");
        let secs = start.elapsed().as_secs_f64();
        println!(
            "import into SQLite ({pass}): {secs:.2} s = {:.0} objects/s ({} records)",
            objects as f64 / secs,
            reports[0].records
        );
    }
    println!("peak resident memory: {:.0} MiB", peak_rss_mib());
}

/// Writes `files` gzip'd CloudTrail log files of `per_file` records each, as S3 holds them:
/// 2,000 IAM users with long-term keys calling S3/SQS/STS, 2 % refused, 1 % IAM lifecycle calls.
fn write_cloudtrail(dir: &std::path::Path, files: usize, per_file: usize) -> usize {
    let mut n = 0usize;
    for f in 0..files {
        let path = dir.join(format!(
            "123456789012_CloudTrail_eu-central-1_20261130T{:04}Z_bench.json.gz",
            f
        ));
        let file = std::fs::File::create(&path).expect("create");
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        write!(gz, "{{\"Records\":[").expect("w");
        for r in 0..per_file {
            let i = f * per_file + r;
            let user = i % 2000;
            let (name, source, extra) = match i % 100 {
                0 => ("CreateAccessKey", "iam.amazonaws.com", format!(r#","requestParameters":{{"userName":"svc-{:05}"}},"responseElements":{{"accessKey":{{"accessKeyId":"AKIABENCHNEW{:08}","status":"Active"}}}}"#, (user + 1) % 2000, i)),
                1 | 2 => ("GetObject", "s3.amazonaws.com", r#","errorCode":"AccessDenied","errorMessage":"Access Denied""#.to_string()),
                3 => ("AssumeRole", "sts.amazonaws.com", r#","requestParameters":{"roleArn":"arn:aws:iam::123456789012:role/deploy","roleSessionName":"s"},"responseElements":{"credentials":{"accessKeyId":"ASIABENCHSESSION0001","sessionToken":"benchtoken","expiration":"Nov 30, 2026 6:40:02 PM"}}"#.to_string()),
                _ => ("SendMessage", "sqs.amazonaws.com", r#","requestParameters":{"queueUrl":"https://sqs.eu-central-1.amazonaws.com/123456789012/q"}"#.to_string()),
            };
            write!(
                gz,
                r#"{}{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","principalId":"AIDA{user:016}","arn":"arn:aws:iam::123456789012:user/svc-{user:05}","accountId":"123456789012","accessKeyId":"AKIABENCH{user:011}","userName":"svc-{user:05}"}},"eventTime":"2026-11-30T{:02}:{:02}:{:02}Z","eventSource":"{source}","eventName":"{name}","awsRegion":"eu-central-1","sourceIPAddress":"198.51.100.{}","userAgent":"aws-sdk-go-v2/1.32.6 os/linux lang/go#1.23.4","requestID":"r-{i}","eventID":"e-{f}-{r}-bench","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"{extra}}}"#,
                if r == 0 { "" } else { "," },
                (i / 3600) % 24,
                (i / 60) % 60,
                i % 60,
                i % 250,
            )
            .expect("w");
            n += 1;
        }
        write!(gz, "]}}").expect("w");
        gz.finish().expect("gzip");
    }
    n
}

fn bench_cloudtrail() {
    let files = env("CASTELLAN_BENCH_CT_FILES", 100);
    let per_file = env("CASTELLAN_BENCH_CT_RECORDS", 2000);
    let dir = tempfile::tempdir().expect("tmp");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let records = write_cloudtrail(&logs, files, per_file);
    println!("CloudTrail: {files} gzip'd log files, {records} records");
    let clock = Clock::from_option(Some("2026-12-01T00:00:00Z")).expect("clock");
    let db = dir.path().join("ct.db").display().to_string();
    let mut ctx = Context::open(&db, &dir.path().join("data"), clock).expect("open");
    let mut paths: Vec<(std::path::PathBuf, Option<castellan_sources::SourceKind>)> =
        std::fs::read_dir(&logs)
            .expect("ls")
            .map(|e| (e.expect("entry").path(), None))
            .collect();
    paths.sort_by(|a, b| a.0.cmp(&b.0));
    let start = Instant::now();
    let reports = import_paths(&mut ctx, &paths, &Silent).expect("import");
    let secs = start.elapsed().as_secs_f64();
    let events: u64 = reports.iter().map(|r| r.events_added).sum();
    println!(
        "import into SQLite (first): {secs:.2} s = {:.0} records/s ({events} events stored)",
        records as f64 / secs
    );
    let start = Instant::now();
    import_paths(&mut ctx, &paths, &Silent).expect("import");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "import into SQLite (again, nothing new): {secs:.2} s = {:.0} records/s",
        records as f64 / secs
    );
    println!("peak resident memory: {:.0} MiB", peak_rss_mib());
}

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if which.iter().any(|w| w == "k8s") {
        bench_k8s();
        return;
    }
    if which.iter().any(|w| w == "cloudtrail") {
        bench_cloudtrail();
        return;
    }
    let users = env("CASTELLAN_BENCH_USERS", 100_000);
    let roles = env("CASTELLAN_BENCH_ROLES", 50_000);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("authorization-details.json");
    let objects = write_export(&path, users, roles);
    let size = std::fs::metadata(&path).expect("meta").len();
    println!(
        "authorization details: {users} users, {roles} roles, {objects} objects, {:.0} MiB",
        size as f64 / 1048576.0
    );

    let bytes = std::fs::read(&path).expect("read");
    let start = Instant::now();
    let records =
        castellan_sources::aws_authorization_details::parse("bench.json", &bytes).expect("parse");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "parse + privilege + trust + lifecycle authority: {secs:.2} s = {:.0} objects/s ({} identities, {} grants)",
        objects as f64 / secs,
        records.identities.len(),
        records.grants.len()
    );
    drop(records);
    drop(bytes);

    let clock = Clock::from_option(Some("2026-12-01T00:00:00Z")).expect("clock");
    let db = dir.path().join("sources.db").display().to_string();
    let mut ctx = Context::open(&db, &dir.path().join("data"), clock).expect("open");
    let start = Instant::now();
    let reports = import_paths(&mut ctx, &[(path.clone(), None)], &Silent).expect("import");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "import into SQLite (first): {secs:.2} s = {:.0} objects/s ({} records written)",
        objects as f64 / secs,
        reports[0].records
    );
    let start = Instant::now();
    import_paths(&mut ctx, &[(path, None)], &Silent).expect("import");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "import into SQLite (again, unchanged): {secs:.2} s = {:.0} objects/s",
        objects as f64 / secs
    );
    println!("peak resident memory: {:.0} MiB", peak_rss_mib());
}
