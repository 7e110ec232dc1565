//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Castellan: governance of non-human identities for NIS2.
///
/// Exit codes: 0 ok; 1 findings at or above --fail-on; 2 usage or input error; 3 internal error.
#[derive(Debug, Parser)]
#[command(name = "castellan", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after the verb.
#[derive(Debug, Args)]
pub struct Global {
    /// Database: a SQLite file path (created if absent) or a postgres:// URL.
    #[arg(
        long,
        global = true,
        env = "CASTELLAN_DB",
        default_value = "castellan.db"
    )]
    pub db: String,
    /// Directory holding the fingerprint key, the ledger signing key and the checkpoint witness
    /// [default: .castellan beside the SQLite file, ./.castellan for PostgreSQL].
    #[arg(long, global = true, env = "CASTELLAN_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Evaluate as of this instant (RFC 3339), instead of the system clock.
    #[arg(long, global = true, env = "CASTELLAN_NOW")]
    pub now: Option<String>,
    /// Print machine-readable JSON on stdout (stable format, see docs/cli.md).
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing but errors (and the JSON with --json).
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job: import an estate folder, assess it, and write the evidence folder.
    Run(RunArgs),
    /// Import exports into the inventory (one transaction; re-importing is idempotent).
    Import(ImportArgs),
    /// Re-evaluate the controls over the stored inventory.
    Assess(AssessArgs),
    /// List or show identities and their credentials.
    #[command(subcommand)]
    Inventory(InventoryCmd),
    /// List findings.
    #[command(subcommand)]
    Findings(FindingsCmd),
    /// Verify the tamper-evident ledger, or print its signed checkpoint.
    #[command(subcommand)]
    Ledger(LedgerCmd),
    /// The control catalogue and its coverage of NIS2, CIR 2024/2690, CSF 2.0, OWASP NHI, CIS, ISO 27001.
    #[command(subcommand)]
    Controls(ControlsCmd),
    /// Find credentials in files, git history and CI/CD config, and tie them into the inventory.
    ///
    /// Exit codes: 0 nothing found (or --exit-zero); 1 sightings found; 2 input error.
    Scan(ScanArgs),
    /// The secret-detection rules: list them, or prove each against its examples.
    #[command(subcommand)]
    Rules(RulesCmd),
}

/// Output of `castellan scan`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ScanFormat {
    /// A table for people.
    Table,
    /// One JSON document (also a valid --baseline).
    Json,
    /// One JSON object per sighting.
    Jsonl,
    /// SARIF 2.1.0, for code-scanning upload.
    Sarif,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files, directories or (with --git) repositories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Scan the full history of each repository: every distinct blob once, attributed to the
    /// commit that introduced it (a work tree, a .git directory or a bare repository).
    #[arg(long)]
    pub git: bool,
    /// Only the changes staged in the index (a pre-commit hook); implies --no-store.
    #[arg(long, conflicts_with = "since_commit")]
    pub staged: bool,
    /// Only the commits after REV (reachable from HEAD, not from REV): for CI.
    #[arg(long, value_name = "REV")]
    pub since_commit: Option<String>,
    /// Do not honour .gitignore/.ignore files.
    #[arg(long)]
    pub no_ignore: bool,
    /// Skip files larger than this many bytes (they are listed as skipped).
    #[arg(long, value_name = "BYTES", default_value_t = 20 * 1024 * 1024)]
    pub max_file_size: u64,
    /// Also load the rule files (*.yaml) in DIR.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Leave out sightings already reviewed: a previous --format json report or a file of
    /// fingerprints (one per line).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ScanFormat,
    /// Write the output to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Do not record the sightings in the inventory database.
    #[arg(long)]
    pub no_store: bool,
    /// Exit 0 even when something is found.
    #[arg(long)]
    pub exit_zero: bool,
}

#[derive(Debug, Subcommand)]
pub enum RulesCmd {
    /// List the rules (built-in, plus --rules DIR).
    List {
        /// Also load the rule files in DIR.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Compile every rule and prove that each example matches and no negative example does.
    Check {
        /// Also check the rule files in DIR.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ControlsCmd {
    /// List the controls.
    List,
    /// Show one control: objective, check, thresholds, remediation, mappings.
    Show {
        /// Control id, e.g. NHI-GOV-005.
        id: String,
    },
    /// Coverage matrix of a framework: every item, the controls mapped to it, and the gaps.
    Map {
        /// nis2 | cir | csf2 | owasp-nhi | cis8 | iso27001
        #[arg(long)]
        framework: String,
        /// Only the items no control covers.
        #[arg(long)]
        uncovered: bool,
    },
}

/// Minimum severity that makes the command exit 1.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailOn {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl FailOn {
    pub fn severity(self) -> castellan_model::Severity {
        use castellan_model::Severity;
        match self {
            FailOn::Info => Severity::Info,
            FailOn::Low => Severity::Low,
            FailOn::Medium => Severity::Medium,
            FailOn::High => Severity::High,
            FailOn::Critical => Severity::Critical,
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The estate folder: exports and castellan.yaml, recognised by content.
    pub estate: PathBuf,
    /// Evidence folder to write.
    #[arg(long, default_value = "castellan-out")]
    pub out: PathBuf,
    /// Exit 1 when an open finding has this severity or higher.
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Folder of custom Rego controls [default: ESTATE/policies when it exists].
    #[arg(long)]
    pub policies: Option<PathBuf>,
}

/// Which importer to use.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImportSource {
    /// Recognise each file by its content.
    Auto,
    /// The governance file (castellan.yaml).
    Governance,
    /// AWS IAM credential report (CSV or `get-credential-report` JSON).
    AwsCredentialReport,
    /// `aws iam get-account-authorization-details` JSON (several page files are merged).
    AwsAuthorizationDetails,
    /// Kubernetes: `kubectl get serviceaccounts,secrets,roles,clusterroles,rolebindings,clusterrolebindings,pods -A -o json`, or manifest YAML.
    #[value(alias = "k8s")]
    Kubernetes,
    /// AWS IAM read live through the API (with `--live`; needs a build with the `aws` feature).
    Aws,
    /// AWS IAM list outputs: `list-access-keys` (with last use), `list-roles`, `list-ssh-public-keys`, `list-server-certificates`, `list-service-specific-credentials`.
    AwsIamLists,
    /// AWS CloudTrail log files as S3 holds them (`.json.gz`) or decompressed, and `lookup-events` output.
    #[value(alias = "cloudtrail")]
    AwsCloudtrail,
    /// GCP: `gcloud iam service-accounts list`, `… keys list`, `gcloud projects get-iam-policy` (JSON).
    Gcp,
    /// Azure / Entra ID: `az ad sp list`, `az ad app list`, `az role assignment list` (JSON).
    #[value(alias = "entra")]
    Azure,
    /// GitHub organisation export (scripts/export-github.sh) or single REST responses.
    Github,
    /// HashiCorp Vault / OpenBao: `vault token lookup -accessor` JSON and file audit logs.
    #[value(alias = "openbao")]
    Vault,
    /// Certificates: PEM, DER, bundles, PKCS#12 (password from CASTELLAN_P12_PASSWORD).
    #[value(alias = "certificates")]
    X509,
    /// OpenSSH authorized_keys files and .pub keys.
    Ssh,
    /// Certificates live TLS endpoints present: `castellan import tls HOST:PORT…` (needs a build with the `tls` feature).
    Tls,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The source format.
    #[arg(value_enum)]
    pub source: ImportSource,
    /// Files or folders to import (for `tls`: endpoints, HOST:PORT, IPv6 in brackets).
    pub paths: Vec<PathBuf>,
    /// Read the source live through its API instead of files (`castellan import aws --live`).
    /// With `castellan import tls`, the only imports that make network calls; both read only.
    #[arg(long)]
    pub live: bool,
    /// Cluster name used in Kubernetes ids (`k8s:CLUSTER:ns/sa/name`) [default: each file's name without extension].
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// AWS account of list outputs that do not name it (`aws-iam-lists`) [default: the 12-digit number in each file's name].
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
}

#[derive(Debug, Args)]
pub struct AssessArgs {
    /// Exit 1 when an open finding has this severity or higher.
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Evaluate only these controls (repeatable); the others' findings are left as they are.
    #[arg(long = "control", value_name = "ID")]
    pub controls: Vec<String>,
    /// Folder of custom Rego controls to evaluate as well.
    #[arg(long)]
    pub policies: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum InventoryCmd {
    /// List identities.
    List {
        /// Only identities of this kind (e.g. aws-iam-user).
        #[arg(long)]
        kind: Option<String>,
        /// Only identities without an owner.
        #[arg(long)]
        unowned: bool,
        /// Include identities their source no longer reports.
        #[arg(long)]
        all: bool,
    },
    /// Show one identity (or the identity of a credential id) with its credentials and findings.
    Show {
        /// Identity or credential id.
        id: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusFilter {
    Open,
    Excepted,
    Closed,
    All,
}

#[derive(Debug, Subcommand)]
pub enum FindingsCmd {
    /// List findings.
    List {
        /// Which findings.
        #[arg(long, value_enum, default_value = "open")]
        status: StatusFilter,
        /// Only this control.
        #[arg(long)]
        control: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCmd {
    /// Replay the ledger: hash chain, Merkle roots, checkpoint signatures, witness file.
    Verify,
    /// Sign (if needed) and print the current checkpoint.
    Checkpoint,
}
