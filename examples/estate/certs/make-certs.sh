#!/usr/bin/env bash
# Regenerates the certificates of the Nordwind example estate with the real tool (OpenSSL 3.x).
# Dates are fixed with `openssl ca -startdate/-enddate` (OpenSSL 3.0 has no `-not_before`) and
# serials with the CA's serial file. Keys are new on every run, so the SHA-256 fingerprints (the
# credential ids `x509:sha256:…`) change; the identities (`x509:subject:…`) stay the same.
#
# Only certificates are written here. Every private key (CAs included) is made in a temporary
# directory that is removed when the script ends: no key is ever committed.
#
# What it writes:
#   portal.nordwind.example-fullchain.pem  TLS server chain of the customer portal as the load
#                                          balancer serves it: leaf (EC P-256, 2026-09-14 to
#                                          2027-04-01, 199 days) + the public issuing CA.
#   edi-gateway-client.pem                 mTLS client certificate of the EDI gateway (EC P-256,
#                                          2025-10-31 to 2026-10-31: expired) + Nordwind's
#                                          internal issuing CA.
#   scanmgr-legacy.cer                     DER certificate exported from the web UI of the
#                                          parcel-scanner management appliance: self-signed,
#                                          RSA-1024, 2018-03-01 to 2028-02-28.
set -euo pipefail
cd "$(dirname "$0")"
OUT=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export WORK
mkdir -p "$WORK/newcerts"
touch "$WORK/index.txt"

cat > "$WORK/ca.cnf" <<'CNF'
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $ENV::WORK
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
preserve = yes
[ policy_any ]
countryName = optional
organizationName = optional
organizationalUnitName = optional
localityName = optional
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = placeholder
[ v3_root ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_inter ]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_portal ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:portal.nordwind.example,DNS:www.portal.nordwind.example
certificatePolicies = 2.23.140.1.2.1
[ v3_edi ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:edi-gw-01.nordwind.example,URI:spiffe://nordwind.example/tracking/edi-gateway
[ v3_legacy ]
basicConstraints = CA:false
keyUsage = digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = DNS:scanmgr.nordwind.example,IP:10.60.0.12
CNF

sign() { # serial ext start end in out [ca options…]
  local serial=$1 ext=$2 start=$3 end=$4 in=$5 out=$6
  shift 6
  echo "$serial" > "$WORK/serial"
  openssl ca -batch -notext -config "$WORK/ca.cnf" -extensions "$ext" \
    -startdate "$start" -enddate "$end" -in "$in" -out "$out" "$@" 2>/dev/null
}
key() { # file algorithm options…
  local f=$1
  shift
  openssl genpkey "$@" -out "$WORK/$f" 2>/dev/null
}
csr() { # key subject out
  openssl req -new -config "$WORK/ca.cnf" -key "$WORK/$1" -subj "$2" -out "$WORK/$3"
}

# --- The public CA that issued the portal certificate (made up: Example Trust Services). ---
key pubroot.key -algorithm RSA -pkeyopt rsa_keygen_bits:4096
csr pubroot.key "/C=DE/O=Example Trust Services GmbH/CN=Example Trust Root R1" pubroot.csr
sign 01 v3_root 20190601000000Z 20390601000000Z "$WORK/pubroot.csr" "$WORK/pubroot.pem" \
  -selfsign -keyfile "$WORK/pubroot.key"
key pubca.key -algorithm EC -pkeyopt ec_paramgen_curve:P-384
csr pubca.key "/C=DE/O=Example Trust Services GmbH/CN=Example Trust TLS ECC CA 2025" pubca.csr
sign 5E21 v3_inter 20250115000000Z 20300115000000Z "$WORK/pubca.csr" "$WORK/pubca.pem" \
  -cert "$WORK/pubroot.pem" -keyfile "$WORK/pubroot.key" -md sha384

# Portal leaf: domain-validated, 199 days (the CA/B Forum maximum from March 2026 is 200).
key portal.key -algorithm EC -pkeyopt ec_paramgen_curve:P-256
csr portal.key "/CN=portal.nordwind.example" portal.csr
sign 0A3F77C2E1B04D52 v3_portal 20260914071530Z 20270401071529Z "$WORK/portal.csr" "$WORK/portal.pem" \
  -cert "$WORK/pubca.pem" -keyfile "$WORK/pubca.key" -md sha384

# --- Nordwind's internal PKI: root (offline) and issuing CA 1. ---
key nwroot.key -algorithm RSA -pkeyopt rsa_keygen_bits:4096
csr nwroot.key "/C=DE/O=Nordwind Logistik GmbH/CN=Nordwind Logistik Root CA" nwroot.csr
sign 1000 v3_root 20210301000000Z 20360301000000Z "$WORK/nwroot.csr" "$WORK/nwroot.pem" \
  -selfsign -keyfile "$WORK/nwroot.key"
key nwca.key -algorithm EC -pkeyopt ec_paramgen_curve:P-256
csr nwca.key "/C=DE/O=Nordwind Logistik GmbH/CN=Nordwind Logistik Issuing CA 1" nwca.csr
sign 2001 v3_inter 20230301000000Z 20280301000000Z "$WORK/nwca.csr" "$WORK/nwca.pem" \
  -cert "$WORK/nwroot.pem" -keyfile "$WORK/nwroot.key"

# EDI gateway mTLS client certificate: one year, expired on 2026-10-31 and not renewed.
key edi.key -algorithm EC -pkeyopt ec_paramgen_curve:P-256
csr edi.key "/C=DE/O=Nordwind Logistik GmbH/OU=Parcel Tracking/CN=edi-gateway" edi.csr
sign 7E0019 v3_edi 20251031120000Z 20261031120000Z "$WORK/edi.csr" "$WORK/edi.pem" \
  -cert "$WORK/nwca.pem" -keyfile "$WORK/nwca.key"

# --- Legacy appliance: self-signed RSA-1024, ten years. ---
key legacy.key -algorithm RSA -pkeyopt rsa_keygen_bits:1024
csr legacy.key "/C=DE/L=Hamburg/O=Nordwind Logistik GmbH/OU=Hub Hamburg/CN=scanmgr.nordwind.example" legacy.csr
sign 5A8F3C01 v3_legacy 20180301000000Z 20280228235959Z "$WORK/legacy.csr" "$WORK/legacy.pem" \
  -selfsign -keyfile "$WORK/legacy.key"

# The files as they lie on the servers (certificates only).
cat "$WORK/portal.pem" "$WORK/pubca.pem" > "$OUT/portal.nordwind.example-fullchain.pem"
cat "$WORK/edi.pem" "$WORK/nwca.pem" > "$OUT/edi-gateway-client.pem"
openssl x509 -in "$WORK/legacy.pem" -outform DER -out "$OUT/scanmgr-legacy.cer"
for f in portal.nordwind.example-fullchain.pem edi-gateway-client.pem; do
  if grep -Eq 'PRIVATE[ ]KEY' "$OUT/$f"; then
    echo "refusing: $f holds a private key" >&2
    exit 1
  fi
done
echo "certificates written to $OUT (private keys discarded)"
