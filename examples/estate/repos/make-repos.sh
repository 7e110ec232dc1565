#!/bin/sh
# Rebuilds nordwind-deploy.git, the example estate's repository: a bare git repository whose
# history holds what real deployment repositories hold — CI workflows that reference managed
# secrets, a compose file with an inline password, a CI access key committed and then deleted
# (still in history), and an npm token. Every secret here is synthetic. Dates and authors are
# fixed so the object ids are stable.
set -eu
cd "$(dirname "$0")"
rm -rf nordwind-deploy.git work
git init -q -b main work
cd work
export GIT_AUTHOR_NAME="Lena Vogel" GIT_AUTHOR_EMAIL="lena.vogel@nordwind.example"
export GIT_COMMITTER_NAME="Lena Vogel" GIT_COMMITTER_EMAIL="lena.vogel@nordwind.example"
commit() {
  GIT_AUTHOR_DATE="$1" GIT_COMMITTER_DATE="$1" git -c commit.gpgsign=false commit -q -m "$2"
}
mkdir -p .github/workflows config
cat > README.md <<'MD'
# nordwind-deploy
Deployment pipelines for the payments and reporting services.
MD
cat > .github/workflows/deploy.yml <<'YML'
name: deploy-payments
on:
  push:
    branches: [main]
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Configure AWS
        env:
          AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}
          AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
        run: ./deploy.sh payments
      - name: Publish client
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
        run: npm publish
YML
cat > docker-compose.yml <<'YML'
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_USER: payments
      POSTGRES_PASSWORD: Nw-pay-Db-7fK2q9Lx
  api:
    image: nordwind/payments-api:1.4
    environment:
      DATABASE_URL: postgres://payments:${POSTGRES_PASSWORD}@db:5432/payments
YML
git add -A
commit "2025-03-01T09:00:00Z" "Pipelines for payments"
cat > config/ci.env <<'ENV'
# CI deploy user (temporary, move to secrets)
AWS_ACCESS_KEY_ID=AKIAQNWDCIDEPLF05101
AWS_SECRET_ACCESS_KEY=Qx7vN2kLp9sRt4wZ8yBc3mHd6fJg1aEo5uTi0rWs
ENV
git add -A
commit "2025-06-10T16:20:00Z" "CI: deploy credentials for the runner"
git rm -q config/ci.env
commit "2025-06-11T08:05:00Z" "Remove CI env file"
cat > .npmrc <<'NPMRC'
registry=https://registry.npmjs.org/
//registry.npmjs.org/:_authToken=npm_R4tY8uIo2pLk6jHg0fDs9aQw3eZx7cVb5nM1
NPMRC
git add -A
commit "2025-09-02T11:30:00Z" "Publish the payments client to npm"
cd ..
git clone -q --bare work nordwind-deploy.git
rm -rf work nordwind-deploy.git/hooks nordwind-deploy.git/logs nordwind-deploy.git/description nordwind-deploy.git/info
git -C nordwind-deploy.git gc -q --aggressive --prune=now
rm -rf nordwind-deploy.git/logs
# Loose refs only: a checkout of the project must hold refs/heads/main as a file (git does not
# keep empty directories, and a repository needs refs/).
sha=$(git -C nordwind-deploy.git rev-parse refs/heads/main)
rm -f nordwind-deploy.git/packed-refs nordwind-deploy.git/info/refs
mkdir -p nordwind-deploy.git/refs/heads
echo "$sha" > nordwind-deploy.git/refs/heads/main
rmdir nordwind-deploy.git/info 2>/dev/null || true
