# CI identities (IAM path /ci/) are used by pipelines only: nobody may sign in to them.
package castellan.custom.ci_no_console

metadata := {
	"id": "CUSTOM-CI-001",
	"title": "CI identities cannot sign in to the console",
	"severity": "high",
	"remediation": "Delete the console password (aws iam delete-login-profile) of the CI identity.",
	"mappings": {"nis2": ["Art.21(2)(i)"], "owasp_nhi_2025": ["NHI10:2025"]},
}

findings contains f if {
	some i in input.identities
	i.attributes.path == "/ci/"
	i.attributes.console_access == true
	f := {
		"subject": i.id,
		"title": sprintf("CI identity %s has a console password", [i.name]),
		"evidence": {"path": i.attributes.path, "arn": i.attributes.arn},
	}
}
