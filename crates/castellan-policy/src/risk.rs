//! An explainable risk score per identity: the points come from named factors, and every factor
//! is reported with its reason, so the order of the work can be argued with.
//!
//! | factor | points |
//! |---|---|
//! | each open finding on the identity or its credentials | critical 30, high 15, medium 7, low 3, info 1 (at most 60 in total) |
//! | privilege | admin 20, write 10, unknown 5, read 0 |
//! | business service | essential 15, important 8, other 0 |
//! | held by a supplier | 10 |
//! | people can sign in to it interactively while it has programmatic keys | 5 |
//! | no owner | 10 |
//!
//! The score is capped at 100.

use castellan_model::{
    Attribution, Credential, Criticality, Finding, FindingStatus, Identity, Privilege, Severity,
    Status,
};
use serde::Serialize;

/// One contribution to a risk score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RiskFactor {
    /// Short name (`findings`, `privilege`, `service`, `third_party`, `interactive`, `unowned`).
    pub factor: &'static str,
    /// Points it adds.
    pub points: u32,
    /// Why.
    pub detail: String,
}

/// A risk score with its factors, highest contribution first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Risk {
    /// 0–100.
    pub score: u32,
    /// The factors that produced it.
    pub factors: Vec<RiskFactor>,
}

fn finding_points(s: Severity) -> u32 {
    match s {
        Severity::Critical => 30,
        Severity::High => 15,
        Severity::Medium => 7,
        Severity::Low => 3,
        Severity::Info => 1,
    }
}

/// Scores one identity. `findings` are the findings whose subject is the identity or one of its
/// credentials (only open ones count); `service` is the criticality of its business service.
pub fn risk(
    identity: &Identity,
    attribution: &Attribution,
    credentials: &[Credential],
    findings: &[&Finding],
    service: Option<Criticality>,
) -> Risk {
    let mut factors = Vec::new();
    let open: Vec<&&Finding> = findings
        .iter()
        .filter(|f| f.status == FindingStatus::Open)
        .collect();
    if !open.is_empty() {
        let raw: u32 = open.iter().map(|f| finding_points(f.severity)).sum();
        let mut controls: Vec<&str> = open.iter().map(|f| f.control.as_str()).collect();
        controls.sort_unstable();
        controls.dedup();
        factors.push(RiskFactor {
            factor: "findings",
            points: raw.min(60),
            detail: format!("{} open finding(s): {}", open.len(), controls.join(", ")),
        });
    }
    let (p, what) = match identity.privilege {
        Privilege::Admin => (20, "administrator"),
        Privilege::Write => (10, "can change resources"),
        Privilege::Unknown => (5, "privilege not known from the imported data"),
        Privilege::Read => (0, "read-only"),
        Privilege::None => (0, "holds no permissions"),
    };
    if p > 0 {
        factors.push(RiskFactor {
            factor: "privilege",
            points: p,
            detail: what.to_string(),
        });
    }
    match service {
        Some(Criticality::Essential) => factors.push(RiskFactor {
            factor: "service",
            points: 15,
            detail: format!(
                "serves essential service {}",
                attribution
                    .service
                    .as_deref()
                    .unwrap_or("?")
                    .trim_start_matches("service:")
            ),
        }),
        Some(Criticality::Important) => factors.push(RiskFactor {
            factor: "service",
            points: 8,
            detail: format!(
                "serves important service {}",
                attribution
                    .service
                    .as_deref()
                    .unwrap_or("?")
                    .trim_start_matches("service:")
            ),
        }),
        _ => {}
    }
    if let Some(s) = &attribution.supplier {
        factors.push(RiskFactor {
            factor: "third_party",
            points: 10,
            detail: format!("held by supplier {}", s.trim_start_matches("supplier:")),
        });
    }
    let active = |kind: &str| {
        credentials
            .iter()
            .any(|c| c.status == Status::Active && c.kind == kind)
    };
    if active("password") && active("access-key") {
        factors.push(RiskFactor {
            factor: "interactive",
            points: 5,
            detail: "console password next to programmatic keys".into(),
        });
    }
    if attribution.owner.is_none() {
        factors.push(RiskFactor {
            factor: "unowned",
            points: 10,
            detail: "nobody is accountable".into(),
        });
    }
    factors.sort_by(|a, b| b.points.cmp(&a.points).then(a.factor.cmp(b.factor)));
    Risk {
        score: factors.iter().map(|f| f.points).sum::<u32>().min(100),
        factors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use castellan_model::parse_ts;

    fn identity(privilege: Privilege) -> Identity {
        Identity {
            id: "aws:1:user/x".into(),
            kind: "aws-iam-user".into(),
            source: "t".into(),
            scope: "aws:1".into(),
            name: "x".into(),
            account: None,
            status: Status::Active,
            privilege,
            created_at: None,
            last_used_at: None,
            tags: Default::default(),
            attributes: Default::default(),
        }
    }

    fn finding(sev: Severity, status: FindingStatus) -> Finding {
        Finding {
            id: "NHI-GOV-005@aws:1:user/x/access-key-1".into(),
            control: "NHI-GOV-005".into(),
            subject: "aws:1:user/x/access-key-1".into(),
            severity: sev,
            status,
            title: "t".into(),
            evidence: serde_json::json!({}),
            exception: None,
            first_seen: parse_ts("2026-01-01T00:00:00Z").ok(),
            last_seen: None,
        }
    }

    #[test]
    fn factors_explain_the_score() {
        let a = Attribution {
            owner: Some("person:a@x".into()),
            supplier: Some("supplier:acme".into()),
            service: Some("service:pay".into()),
            ..Default::default()
        };
        let f1 = finding(Severity::High, FindingStatus::Open);
        let f2 = finding(Severity::Critical, FindingStatus::Open);
        let ex = finding(Severity::Critical, FindingStatus::Excepted);
        let r = risk(
            &identity(Privilege::Admin),
            &a,
            &[],
            &[&f1, &f2, &ex],
            Some(Criticality::Essential),
        );
        assert_eq!(r.score, 45 + 20 + 15 + 10);
        assert_eq!(r.factors[0].factor, "findings");
        assert_eq!(r.factors.iter().map(|f| f.points).sum::<u32>(), r.score);
        let calm = risk(
            &identity(Privilege::Read),
            &Attribution {
                owner: Some("person:a@x".into()),
                ..Default::default()
            },
            &[],
            &[],
            None,
        );
        assert_eq!(calm, Risk::default());
    }

    #[test]
    fn score_is_capped() {
        let fs: Vec<Finding> = (0..10)
            .map(|_| finding(Severity::Critical, FindingStatus::Open))
            .collect();
        let refs: Vec<&Finding> = fs.iter().collect();
        let r = risk(
            &identity(Privilege::Admin),
            &Attribution {
                supplier: Some("supplier:s".into()),
                ..Default::default()
            },
            &[],
            &refs,
            Some(Criticality::Essential),
        );
        assert_eq!(r.score, 100);
    }
}
