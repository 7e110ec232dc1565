#!/usr/bin/env bash
# Export what Castellan reads about a GitHub organisation into one JSON bundle:
#
#   scripts/export-github.sh ORG > github-ORG.json
#   castellan import github github-ORG.json
#
# Needs the GitHub CLI (`gh`, logged in) and `jq`. Read-only: it only calls GET endpoints.
# Permissions (an organisation owner's token, or a GitHub App with these read permissions):
#   - installations, members, Actions secrets, deploy keys: organisation owner, or
#     "Administration" + "Members" + "Secrets" (read);
#   - fine-grained PATs: only a GitHub App may list them ("Personal access tokens" org
#     permission, read); with any other token that part is left empty and a warning is printed;
#   - audit log: GitHub Enterprise Cloud only, token with read:audit_log; skipped otherwise.
# No secret value is exported: the API never returns Actions secret values or token values.
#
# Environment: GH_HOST for GitHub Enterprise Server; AUDIT_PHRASE to filter the audit log
# (default: the lifecycle actions Castellan reads, last 90 days).
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 ORG > github-ORG.json" >&2
  exit 2
fi
ORG=$1
command -v gh >/dev/null || { echo "$0: needs the GitHub CLI (gh)" >&2; exit 2; }
command -v jq >/dev/null || { echo "$0: needs jq" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# `gh api --paginate` prints one JSON document per page; `jq -s` slurps the pages into one array.
pages() { gh api --paginate -H "Accept: application/vnd.github+json" "$@"; }
warn() { echo "$0: $*" >&2; }

echo "installations" >&2
pages "orgs/$ORG/installations?per_page=100" | jq -s '[.[].installations[]]' > "$tmp/installations.json"

echo "apps (owner of each installed app)" >&2
: > "$tmp/apps.ndjson"
for slug in $(jq -r '.[].app_slug' "$tmp/installations.json"); do
  gh api "apps/$slug" >> "$tmp/apps.ndjson" 2>/dev/null || warn "cannot read app $slug (private app of another owner?)"
done
jq -s '[.[] | {id, slug, name, owner: {login: .owner.login, type: .owner.type}}]' "$tmp/apps.ndjson" > "$tmp/apps.json"

echo "fine-grained personal access tokens" >&2
if ! pages "orgs/$ORG/personal-access-tokens?per_page=100" 2>/dev/null | jq -s 'add // []' > "$tmp/pats.json"; then
  warn "cannot list fine-grained PATs (only a GitHub App with the 'Personal access tokens' permission may); exporting none"
  echo '[]' > "$tmp/pats.json"
fi

echo "members (owners)" >&2
pages "orgs/$ORG/members?role=admin&per_page=100" | jq -s '[.[][] | {login, role: "admin"}]' > "$tmp/owners.json"
pages "orgs/$ORG/members?role=member&per_page=100" | jq -s '[.[][] | {login, role: "member"}]' > "$tmp/others.json"
jq -s 'add' "$tmp/owners.json" "$tmp/others.json" > "$tmp/members.json"

echo "organisation Actions secrets" >&2
pages "orgs/$ORG/actions/secrets?per_page=100" | jq -s '[.[].secrets[]]' > "$tmp/org-secrets.json"

echo "repositories: deploy keys and Actions secrets" >&2
echo '{}' > "$tmp/keys.json"
echo '{}' > "$tmp/secrets.json"
for repo in $(pages "orgs/$ORG/repos?per_page=100&type=all" | jq -r '.[] | select(.archived | not) | .name'); do
  if pages "repos/$ORG/$repo/keys?per_page=100" 2>/dev/null | jq -s 'add // []' > "$tmp/k.json"; then
    jq --arg r "$repo" --slurpfile k "$tmp/k.json" '. + {($r): $k[0]}' "$tmp/keys.json" > "$tmp/k2.json" && mv "$tmp/k2.json" "$tmp/keys.json"
  else
    warn "cannot list deploy keys of $repo (needs admin on the repository)"
  fi
  if pages "repos/$ORG/$repo/actions/secrets?per_page=100" 2>/dev/null | jq -s '[.[].secrets[]]' > "$tmp/s.json"; then
    jq --arg r "$repo" --slurpfile s "$tmp/s.json" 'if ($s[0] | length) > 0 then . + {($r): $s[0]} else . end' "$tmp/secrets.json" > "$tmp/s2.json" && mv "$tmp/s2.json" "$tmp/secrets.json"
  else
    warn "cannot list Actions secrets of $repo"
  fi
done
jq --slurpfile o "$tmp/org-secrets.json" '{org: $o[0]} + .' "$tmp/secrets.json" > "$tmp/all-secrets.json"

echo "audit log (Enterprise Cloud only)" >&2
since=$(date -u -d '90 days ago' +%Y-%m-%d 2>/dev/null || date -u -v-90d +%Y-%m-%d)
phrase=${AUDIT_PHRASE:-"created:>=$since action:personal_access_token action:deploy_key action:integration_installation action:org.create_actions_secret action:org.update_actions_secret action:org.remove_actions_secret action:repo.create_actions_secret action:repo.update_actions_secret action:repo.remove_actions_secret"}
if ! pages -X GET "orgs/$ORG/audit-log" -f per_page=100 -f include=all -f phrase="$phrase" 2>/dev/null | jq -s 'add // []' > "$tmp/audit.json"; then
  warn "no audit log (needs GitHub Enterprise Cloud and read:audit_log); exporting none"
  echo '[]' > "$tmp/audit.json"
fi

jq -n \
  --arg org "$ORG" \
  --arg at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --slurpfile installations "$tmp/installations.json" \
  --slurpfile apps "$tmp/apps.json" \
  --slurpfile pats "$tmp/pats.json" \
  --slurpfile keys "$tmp/keys.json" \
  --slurpfile secrets "$tmp/all-secrets.json" \
  --slurpfile members "$tmp/members.json" \
  --slurpfile audit "$tmp/audit.json" \
  '{github_org: $org, exported_at: $at,
    installations: $installations[0], apps: $apps[0],
    personal_access_tokens: $pats[0], deploy_keys: $keys[0],
    actions_secrets: $secrets[0], members: $members[0], audit_log: $audit[0]}'
