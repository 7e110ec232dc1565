//! Any bytes as a file with any of the names the extractors recognise, through the whole scanner
//! (extractors, keyword prefilter, every rule): no panic, and no sighting whose place lies
//! outside the content.
#![no_main]

use std::sync::OnceLock;

use castellan_scan::scan::{ScanOptions, Scanner};
use castellan_scan::{FingerprintKey, Rules};
use libfuzzer_sys::fuzz_target;

const NAMES: &[&str] = &[
    "notes.txt",
    ".netrc",
    ".pgpass",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    ".docker/config.json",
    ".kube/config",
    ".env",
    "app/.env.production",
    "src/main/resources/application.properties",
    "config/application.yml",
    "wp-config.php",
    "settings.py",
    "config/database.yml",
    "recentservers.xml",
    "WinSCP.ini",
    ".dbeaver/data-sources.json",
    ".htpasswd",
    "etc/shadow",
    ".ssh/id_rsa",
    ".config/gh/hosts.yml",
    ".vscode/settings.json",
    "prod.tfvars",
    "terraform.tfstate",
    "group_vars/all.yml",
    ".github/workflows/deploy.yml",
    ".gitlab-ci.yml",
    "Jenkinsfile",
    ".circleci/config.yml",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    "docker-compose.yml",
    "k8s/deployment.yaml",
    "values.yaml",
];

fn scanner() -> &'static Scanner {
    static S: OnceLock<Scanner> = OnceLock::new();
    S.get_or_init(|| {
        let rules = Rules::builtin().expect("built-in rules");
        Scanner::new(rules, FingerprintKey::from_bytes([9; 32]), ScanOptions::default())
            .expect("scanner")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(pick) % NAMES.len()];
    let (sightings, _refs) = scanner().scan_content(name, content);
    let lines = content.iter().filter(|&&b| b == b'\n').count() + 1;
    for s in sightings {
        assert!(s.place.line >= 1 && s.place.line <= lines, "line out of range");
    }
});
