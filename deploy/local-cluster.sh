#!/usr/bin/env bash
# A throwaway two-hub schakel deployment on loopback, with a smoke flow.
#
# Starts a PostgreSQL cluster on 127.0.0.1 (as the `postgres` OS user when run
# as root), applies deploy/postgres/roles.sql, registers the hub operator and
# migrates the schema as schakel_owner, starts TWO hubs as schakel_hub on the
# same database (same pseudonym key, same audit signing key, same log origin,
# different ports), registers the demo region with `schakel admin`, and runs:
#
#   hub 1  the mbo school records consent and pushes an overgangsdocument
#   hub 2  the gemeente's werkcoach lists the inbox, fetches and opens it
#   hub 2  the gemeente's privacy officer verifies the audit log against the
#          pinned verifier key (computed from the signing key file)
#   db     the operator verifies the whole stored log (audit verify --database)
#
# Then it stops everything (also on failure or Ctrl-C) and removes its
# temporary directory. Exit status 0 only when every step succeeded.
#
# The steps are the ones docs/operations.md describes for a real two-hub
# deployment; only the certificates come from the development PKI
# (`schakel-hub --dev`) instead of PKIoverheid.
#
# Usage: deploy/local-cluster.sh [--keep]
#   --keep              leave the cluster running after the smoke flow until
#                       Ctrl-C (prints how to reach it)
# Environment:
#   SCHAKEL_BIN_DIR     directory holding schakel-hub and schakel; when
#                       unset they are built
#                       with cargo (into CARGO_TARGET_DIR, default target/)
#   SCHAKEL_PG_BIN      PostgreSQL server binaries (default: the newest
#                       /usr/lib/postgresql/*/bin)
#   SCHAKEL_KEEP_TMP=1  keep the temporary directory (logs, configs)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
keep=0
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

bin_dir="${SCHAKEL_BIN_DIR:-}"
pg_bin="${SCHAKEL_PG_BIN:-}"
keep_tmp="${SCHAKEL_KEEP_TMP:-0}"
# Nothing from the caller's environment may redirect the hubs or the CLI
# (profiles, hub addresses, pinned keys, configuration overrides).
while read -r var; do unset "$var"; done < <(compgen -e | grep '^SCHAKEL_' || true)

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'local-cluster: FAILED: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- clean-up

tmp=""
pg_data=""
pg_run=()
pids=()
watchdog=""

stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "process $pid did not stop within 10 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  if [ -n "$watchdog" ]; then
    kill "$watchdog" 2>/dev/null
    wait "$watchdog" 2>/dev/null
  fi
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  if [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
    "${pg_run[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || "${pg_run[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1
  fi
  if [ -n "$tmp" ] && [ -d "$tmp" ]; then
    if [ "$status" -ne 0 ]; then
      for log in "$tmp"/logs/*.log; do
        [ -f "$log" ] || continue
        printf '\n--- %s (last 40 lines)\n' "$log" >&2
        tail -n 40 "$log" >&2
      done
    fi
    if [ "$keep_tmp" = 1 ]; then
      echo "kept $tmp" >&2
    else
      rm -rf "$tmp"
    fi
  fi
  if [ "$status" -eq 0 ]; then
    echo "local-cluster: OK" >&2
  else
    echo "local-cluster: exit status $status" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Stops what was started even if this script is killed with SIGKILL (no trap
# runs then): a small process that waits for this one to disappear.
start_watchdog() {
  local me=$$
  (
    trap '' INT
    while kill -0 "$me" 2>/dev/null; do sleep 0.5; done
    while read -r pid; do kill -KILL "$pid" 2>/dev/null; done <"$tmp/pids"
    "${pg_run[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1
    [ "$keep_tmp" = 1 ] || rm -rf "$tmp"
  ) </dev/null >/dev/null 2>&1 &
  watchdog=$!
}

# Remembers a process to stop at the end (also for the watchdog).
started() { pids+=("$1"); echo "$1" >>"$tmp/pids"; }

# Waits until FILE contains the line "schakel hub listening on ADDR" and
# prints ADDR; fails if PID exits first or after 60 s.
wait_listening() {
  local pid=$1 file=$2 addr
  for _ in $(seq 1 600); do
    addr=$(sed -n 's/^schakel hub listening on \([0-9.]*:[0-9]*\)$/\1/p' "$file" 2>/dev/null | head -n 1)
    if [ -n "$addr" ]; then
      echo "$addr"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || die "hub (pid $pid) exited before listening; see $file"
    sleep 0.1
  done
  die "hub (pid $pid) not listening after 60 s; see $file"
}

# A 32-byte secret as 64 hex digits.
random_hex() {
  if command -v openssl >/dev/null; then
    openssl rand -hex 32
  else
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
    echo
  fi
}

# Hex on stdin to bytes on stdout (no xxd needed).
# shellcheck disable=SC2001 # sed's back-reference does what ${h//…} cannot
unhex() { local h; h=$(tr -d ' \n'); printf '%b' "$(sed 's/../\\x&/g' <<<"$h")"; }

# The note verifier key (NAME+HASH+KEY) of the Ed25519 seed in FILE under
# log origin NAME: what privacy officers pin. Needs openssl.
verifier_key() {
  local name=$1 file=$2 pub hash
  pub=$( { printf '302e020100300506032b657004220420'; tr -d ' \n' <"$file"; } | unhex \
    | openssl pkey -inform DER -pubout -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n')
  [ ${#pub} -eq 64 ] || return 1
  hash=$( { printf '%s\n' "$name"; printf '01%s' "$pub" | unhex; } | openssl dgst -sha256 -binary \
    | head -c 4 | od -An -tx1 | tr -d ' \n')
  printf '%s+%s+%s\n' "$name" "$hash" "$(printf '01%s' "$pub" | unhex | base64 | tr -d '\n')"
}

# The first "KEY": "VALUE" string value in JSON on stdin (the CLI's --json
# output; keeps this script free of jq).
json_str() { tr -d '\n' | grep -o "\"$1\": *\"[^\"]*\"" | head -n 1 | sed 's/.*: *"\(.*\)"/\1/'; }

# ---------------------------------------------------------------- binaries

if [ -z "$bin_dir" ]; then
  say "building schakel-hub and schakel"
  (cd "$repo" && "${CARGO:-cargo}" build -p schakel-hub -p schakel-cli --bins)
  target="${CARGO_TARGET_DIR:-$repo/target}"
  case "$target" in /*) ;; *) target="$repo/$target" ;; esac
  bin_dir="$target/debug"
fi
for b in schakel-hub schakel; do
  [ -x "$bin_dir/$b" ] || die "$bin_dir/$b is missing (set SCHAKEL_BIN_DIR or unset it to build)"
done
hub_bin="$bin_dir/schakel-hub"
cli_bin="$bin_dir/schakel"

if [ -z "$pg_bin" ]; then
  pg_bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ] || [ ! -x "$pg_bin/pg_ctl" ]; then
  die "no PostgreSQL server binaries (install postgresql or set SCHAKEL_PG_BIN)"
fi
# Client tools: the server's own, or the ones on PATH.
psql_bin="$pg_bin/psql"; [ -x "$psql_bin" ] || psql_bin=psql
createdb_bin="$pg_bin/createdb"; [ -x "$createdb_bin" ] || createdb_bin=createdb

# ---------------------------------------------------------------- layout

tmp=$(mktemp -d "${TMPDIR:-/tmp}/schakel-cluster.XXXXXX")
chmod 711 "$tmp"
mkdir -p "$tmp/logs" "$tmp/hub" "$tmp/work"
: >"$tmp/pids"
chmod 700 "$tmp/hub" "$tmp/work"
log="$tmp/logs"
pg_data="$tmp/pg/data"
mkdir -p "$tmp/pg"
# initdb refuses to run as root: the server runs as the postgres OS user.
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root, but there is no postgres OS user to run PostgreSQL"
  chown postgres: "$tmp/pg"
  pg_run=(runuser -u postgres --)
else
  pg_run=(env)
fi
start_watchdog

# ---------------------------------------------------------------- 1. PostgreSQL

say "PostgreSQL ($pg_bin) in $tmp/pg"
"${pg_run[@]}" "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 --no-sync \
  >"$log/initdb.log" 2>&1 || die "initdb failed; see $log/initdb.log"
pg_port=""
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  # Taken if something answers on it.
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
  if "${pg_run[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -l "$tmp/pg/server.log" -w -t 60 \
       -o "-p $port -k $tmp/pg -c listen_addresses=127.0.0.1 -c max_connections=100" start \
       >"$log/pg_ctl.log" 2>&1; then
    pg_port=$port
    break
  fi
done
[ -n "$pg_port" ] || { cp "$tmp/pg/server.log" "$log/postgres.log" 2>/dev/null; die "PostgreSQL did not start"; }
echo "PostgreSQL listening on 127.0.0.1:$pg_port" >&2

db=schakel
su_url="postgres://postgres@127.0.0.1:$pg_port/$db"
owner_url="postgres://schakel_owner@127.0.0.1:$pg_port/$db"
hub_url="postgres://schakel_hub@127.0.0.1:$pg_port/$db"
psql_su() { "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$su_url" "$@"; }

"$createdb_bin" -h 127.0.0.1 -p "$pg_port" -U postgres "$db"
say "roles and grants (deploy/postgres/roles.sql)"
psql_su -f "$repo/deploy/postgres/roles.sql" >"$log/roles.log" 2>&1 || die "roles.sql failed; see $log/roles.log"

# ---------------------------------------------------------------- 2. certificates and secrets

say "development PKI (schakel-hub --dev, stopped once it has written its files)"
pki="$tmp/pki"
"$hub_bin" --dev --data-dir "$pki" --listen 127.0.0.1:0 >"$log/dev-pki.log" 2>&1 &
dev_pid=$!
started "$dev_pid"
wait_listening "$dev_pid" "$log/dev-pki.log" >/dev/null || exit 1
stop_pid "$dev_pid"
for f in ca/ca.pem hub/cert.pem hub/key.pem parties/admin/cert.pem parties/mbo-school/age-recipient.txt; do
  [ -s "$pki/$f" ] || die "the development PKI has no $f"
done
party() { echo "$pki/parties/$1"; }

say "pseudonym key and audit signing key (shared by both hubs)"
( umask 077
  random_hex >"$tmp/hub/pseudonym.key"
  random_hex >"$tmp/hub/audit-signing.key" )
log_origin="schakel.local-cluster/audit"

# ---------------------------------------------------------------- 3. operator and schema

admin_oin=00000009999999990000
say "register the operator and migrate the schema as schakel_owner"
"$hub_bin" --register-operator "$(party admin)/cert.pem" --database "$owner_url" \
  --operator-oin "$admin_oin" --operator-name "schakel hub operator (local cluster)" \
  >"$log/bootstrap.log" 2>&1 || die "registering the operator failed; see $log/bootstrap.log"
# Again, now that the tables exist: the audit tables become append-only for
# schakel_hub.
psql_su -f "$repo/deploy/postgres/roles.sql" >>"$log/roles.log" 2>&1 || die "roles.sql failed; see $log/roles.log"

# ---------------------------------------------------------------- 4. two hubs

for n in 1 2; do
  cat >"$tmp/hub/hub$n.toml" <<EOF
# hub $n of the local cluster (written by deploy/local-cluster.sh)
listen = "127.0.0.1:0"
database_url = "$hub_url"
max_connections = 4
ca_bundle = "$pki/ca/ca.pem"
server_cert = "$pki/hub/cert.pem"
server_key = "$pki/hub/key.pem"
pseudonym_key_file = "$tmp/hub/pseudonym.key"
audit_signing_key_file = "$tmp/hub/audit-signing.key"
log_origin = "$log_origin"
checkpoint_interval_secs = 5
checkpoint_file = "$tmp/hub/hub$n.checkpoints"
EOF
done

say "two hubs as schakel_hub on one database"
hub_addr=()
for n in 1 2; do
  "$hub_bin" --config "$tmp/hub/hub$n.toml" >"$log/hub$n.log" 2>&1 &
  pid=$!
  started "$pid"
  hub_addr[n]=$(wait_listening "$pid" "$log/hub$n.log") || exit 1
  echo "hub $n listening on ${hub_addr[n]}" >&2
done
hub1="https://${hub_addr[1]}"
hub2="https://${hub_addr[2]}"

# schakel AS HUB ROLE ARGS…: the CLI as demo party AS (a profile of the dev
# PKI) against HUB, for end user u-4711 in ROLE. Output goes to stdout;
# stderr to the CLI log.
schakel() {
  local as=$1 hub=$2 role=$3
  shift 3
  echo "+ schakel [$as @ $hub] $*" >>"$log/cli.log"
  "$cli_bin" --profile "$(party "$as")" --hub "$hub" --user-id u-4711 --user-role "$role" "$@" \
    2>>"$log/cli.log" </dev/null
}

# ---------------------------------------------------------------- 5. directory

say "register the demo region with schakel admin (hub 1)"
admin() { schakel admin "$hub1" beheerder admin "$@" >>"$log/cli.log" || die "schakel admin $1 failed; see $log/cli.log"; }
# register ORG_KEY OIN KIND NAME EXTRA… -- FUNCTION…
register() {
  local key=$1 oin=$2 kind=$3 name=$4 fn profile
  shift 4
  local extra=()
  while [ "$1" != -- ]; do extra+=("$1"); shift; done
  shift
  admin register-org --oin "$oin" --kind "$kind" --name "$name" "${extra[@]}"
  for fn in "$@"; do
    profile="$key-${fn//_/-}"
    admin add-function --oin "$oin" --function "${fn//_/-}"
    admin bind-cert --oin "$oin" --function "${fn//_/-}" --cert "$(party "$profile")/cert.pem"
    if [ -f "$(party "$profile")/age-recipient.txt" ]; then
      admin register-key --oin "$oin" --function "${fn//_/-}" \
        --recipient "$(tr -d ' \n' <"$(party "$profile")/age-recipient.txt")"
    fi
  done
}
mbo_oin=00000003999990001000
gemeente_oin=00000001999990014000
register mbo "$mbo_oin" mbo-school "ROC Demo Groningen" \
  --brin 99XA --doorstroompunt-regio 03 --arbeidsmarktregio AM01 -- school privacy_officer
register pro 00000003999990002000 pro-school "PrO Demo Groningen" \
  --brin 99XB --doorstroompunt-regio 03 --arbeidsmarktregio AM01 -- school privacy_officer
register gemeente "$gemeente_oin" gemeente "Gemeente Groningen (demo)" \
  --gemeentecode GM0014 -- participatiewet doorstroompunt privacy_officer
schakel mbo-school "$hub2" loopbaanbegeleider orgs >"$tmp/work/orgs.txt" || die "orgs on hub 2 failed"
grep -q "Gemeente Groningen" "$tmp/work/orgs.txt" || die "hub 2 does not list the gemeente registered on hub 1"

# ---------------------------------------------------------------- 6. smoke flow

purpose=handover.school_to_gemeente
bsn=999990019 # fictitious test BSN (elfproef)
dob=$(date -u -d '19 years ago 30 days ago' +%F)
diploma=$(date -u -d '60 days ago' +%F)

say "hub 1: the mbo school records consent"
schakel mbo-school "$hub1" loopbaanbegeleider --json consent record \
  --bsn "$bsn" --birth-date "$dob" --giver youth --method written --purpose "$purpose" \
  --recipient "$gemeente_oin" --groups identity,contact.youth,school_career,wishes \
  >"$tmp/work/consent.json" || die "consent record failed; see $log/cli.log"
consent_id=$(json_str consent_id <"$tmp/work/consent.json")
[ -n "$consent_id" ] || die "no consent_id in the answer"

say "hub 1: the mbo school pushes an overgangsdocument"
cat >"$tmp/work/document.json" <<EOF
{
  "purpose": "$purpose",
  "recipient": { "oin": "$gemeente_oin", "function": "participatiewet" },
  "consent_id": "$consent_id",
  "idempotency_key": "local-cluster-0001",
  "subject": {
    "bsn": "$bsn", "date_of_birth": "$dob", "school_type": "mbo",
    "leaving_date": "$diploma", "diploma_date": "$diploma", "startkwalificatie": "achieved"
  },
  "return_to_education": "not_possible",
  "client_reference": "LOB-2026-0042",
  "groups": {
    "identity": { "bsn": "$bsn", "given_names": "Jip", "surname": "Testjongere", "date_of_birth": "$dob" },
    "contact.youth": { "postcode": "9711 AB", "city": "Groningen" },
    "school_career": { "programme_crebo": "25255", "diploma_level": "mbo_2", "diploma_date": "$diploma" },
    "wishes": { "desired_work": "Orderpicker of magazijnmedewerker" }
  }
}
EOF
schakel mbo-school "$hub1" loopbaanbegeleider --json push "$tmp/work/document.json" \
  >"$tmp/work/push.json" || die "push failed; see $log/cli.log"
transfer_id=$(json_str transfer_id <"$tmp/work/push.json")
[ -n "$transfer_id" ] || die "no transfer_id in the answer"
echo "transfer $transfer_id submitted on hub 1" >&2

say "hub 2: the gemeente's werkcoach lists the inbox, fetches and opens the document"
schakel gemeente-participatiewet "$hub2" werkcoach inbox >"$tmp/work/inbox.txt" \
  || die "inbox failed; see $log/cli.log"
grep -q "$transfer_id" "$tmp/work/inbox.txt" || die "hub 2's inbox does not list $transfer_id"
schakel gemeente-participatiewet "$hub2" werkcoach fetch "$transfer_id" --purpose "$purpose" \
  --out "$tmp/work/fetched" >>"$log/cli.log" || die "fetch failed; see $log/cli.log"
opened="$tmp/work/fetched/$transfer_id.json"
[ -s "$opened" ] || die "fetch wrote no $opened"
grep -q '"Testjongere"' "$opened" || die "the opened document lacks the identity group"
grep -q '"Orderpicker of magazijnmedewerker"' "$opened" || die "the opened document lacks the wishes group"

say "hub 2: the gemeente's privacy officer verifies the audit log"
if command -v openssl >/dev/null && vkey=$(verifier_key "$log_origin" "$tmp/hub/audit-signing.key"); then
  echo "pinned verifier key (from the signing key file): $vkey" >&2
else
  # Without openssl: trust hub 1's key on first use, then check hub 2 against it.
  vkey=$(schakel gemeente-privacy-officer "$hub1" functionaris_gegevensbescherming --json \
    audit checkpoint --fresh | json_str verifier_key)
  echo "verifier key from hub 1 (trust on first use, no openssl): $vkey" >&2
fi
[ -n "$vkey" ] || die "no verifier key"
schakel gemeente-privacy-officer "$hub2" functionaris_gegevensbescherming audit checkpoint --fresh \
  --verifier-key "$vkey" --save "$tmp/work/checkpoint.note" >"$tmp/work/checkpoint.txt" \
  || die "audit checkpoint on hub 2 failed; see $log/cli.log"
schakel gemeente-privacy-officer "$hub2" functionaris_gegevensbescherming audit verify \
  --verifier-key "$vkey" --saved "$tmp/work/checkpoint.note" >"$tmp/work/verify.txt" \
  || { cat "$tmp/work/verify.txt" >&2; die "audit verify on hub 2 failed"; }
grep -q 'verified' "$tmp/work/verify.txt" || die "audit verify on hub 2 did not say verified"
cat "$tmp/work/verify.txt" >&2

say "operator: verify the whole stored log in PostgreSQL (as schakel_hub)"
"$cli_bin" audit verify --database "$hub_url" --verifier-key "$vkey" \
  --saved "$tmp/work/checkpoint.note" >"$tmp/work/verify-db.txt" 2>>"$log/cli.log" \
  || { cat "$tmp/work/verify-db.txt" >&2; die "audit verify --database failed"; }
grep -q 'audit log verified' "$tmp/work/verify-db.txt" || die "audit verify --database did not say verified"
cat "$tmp/work/verify-db.txt" >&2

if [ "$keep" = 1 ]; then
  cat >&2 <<EOF

The cluster keeps running until Ctrl-C:
  PostgreSQL  $su_url (trust auth, loopback only)
  hub 1       $hub1    config $tmp/hub/hub1.toml
  hub 2       $hub2    config $tmp/hub/hub2.toml
  profiles    $pki/parties/*   e.g.
    $cli_bin --profile $(party gemeente-participatiewet) --hub $hub2 --user-id u-1 --user-role werkcoach inbox
EOF
  while :; do
    for pid in "${pids[@]:1}"; do kill -0 "$pid" 2>/dev/null || die "hub (pid $pid) stopped"; done
    sleep 1
  done
fi
