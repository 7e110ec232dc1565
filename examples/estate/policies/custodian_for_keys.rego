# Nordwind's own rule: whoever holds an active access key must also have a custodian, the person
# who rotates it and answers the on-call page. Castellan evaluates this file with every run.
package castellan.custom.custodian_for_keys

metadata := {
	"id": "CUSTOM-OPS-001",
	"title": "Identities with active access keys have a custodian",
	"severity": "medium",
	"remediation": "Name a custodian for the identity in castellan.yaml (assignments or a mapping rule).",
	"mappings": {"nis2": ["Art.21(2)(i)"], "nist_csf_2": ["GV.RR-02"]},
}

findings contains f if {
	some i in input.identities
	i.status == "active"
	i.custodian == null
	keys := [c.id | some c in i.credentials; c.kind == "access-key"; c.status == "active"]
	count(keys) > 0
	f := {
		"subject": i.id,
		"title": sprintf("%s has %d active access key(s) but no custodian", [i.name, count(keys)]),
		"evidence": {"owner": i.owner, "active_keys": keys},
	}
}
