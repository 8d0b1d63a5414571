#!/usr/bin/env bash
# Checks the deployment files with the real tools:
#   promtool check rules / test rules         (Debian package: prometheus)
#   YAML parse and shape of the Kubernetes manifest (python3-yaml)
#   systemd-analyze verify and security      (systemd; skipped when absent)
#   the config files through egresswatch's own parser, when the binary is built
# Exits non-zero on the first failure. Works from any directory.
# EGRESSWATCH=/path/to/egresswatch overrides the binary (default: the repository's ./egresswatch).
set -euo pipefail

cd "$(dirname "$0")"
deploy=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || fail "$1 not found: apt-get install -y $2"; }

# --- Prometheus rules --------------------------------------------------------------------------
need promtool prometheus
step "promtool check rules prometheus/egresswatch.rules.yml"
promtool check rules prometheus/egresswatch.rules.yml
step "promtool test rules prometheus/egresswatch.rules.test.yml"
(cd prometheus && promtool test rules egresswatch.rules.test.yml)

# --- Kubernetes manifest -----------------------------------------------------------------------
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3) || fail "python3 not found: apt-get install -y python3"
"$python" -c 'import yaml' 2>/dev/null || fail "PyYAML missing for $python: apt-get install -y python3-yaml"
step "YAML parse and shape of kubernetes/egresswatch-daemonset.yaml"
if ! "$python" - kubernetes/egresswatch-daemonset.yaml "$tmp/configmap.conf" <<'EOF'
import sys, yaml

path, conf_out = sys.argv[1], sys.argv[2]
with open(path) as f:
    docs = [d for d in yaml.safe_load_all(f) if d is not None]
kinds = {d["kind"]: d for d in docs}
want = {"Namespace", "ServiceAccount", "ConfigMap", "DaemonSet"}
assert set(kinds) == want, f"kinds {sorted(kinds)} != {sorted(want)}"
for d in docs:
    if d["kind"] != "Namespace":
        assert d["metadata"].get("namespace") == "egresswatch", f"{d['kind']} not in namespace egresswatch"
assert kinds["ServiceAccount"]["automountServiceAccountToken"] is False, "service account token mounted"
pod = kinds["DaemonSet"]["spec"]["template"]["spec"]
assert pod["hostPID"] is True, "hostPID must be true"
assert pod.get("automountServiceAccountToken") is False, "pod mounts a service account token"
(c,) = pod["containers"]
sc = c["securityContext"]
assert sc["privileged"] is False and sc["readOnlyRootFilesystem"] is True
assert sc["capabilities"]["drop"] == ["ALL"], "capabilities must drop ALL"
caps = {"BPF", "PERFMON", "NET_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH", "SYS_RESOURCE"}
assert set(sc["capabilities"]["add"]) == caps, f"capabilities {sc['capabilities']['add']}"
mounts = {m["name"]: m for m in c["volumeMounts"]}
volumes = {v["name"]: v for v in pod["volumes"]}
assert set(mounts) == set(volumes), "volumeMounts and volumes differ"
assert mounts["cgroup"]["mountPath"] == "/sys/fs/cgroup" and mounts["cgroup"]["readOnly"] is True
conf = kinds["ConfigMap"]["data"]["egresswatch.conf"]
cfg_mount = next(m["mountPath"] for m in c["volumeMounts"] if m["name"] == "config")
assert c["args"][:2] == ["--config", cfg_mount + "/egresswatch.conf"], f"args {c['args']}"
with open(conf_out, "w") as f:
    f.write(conf)
print(f"ok: {', '.join(d['kind'] for d in docs)}")
EOF
then
    fail "kubernetes/egresswatch-daemonset.yaml: see the error above"
fi

# --- The configuration files, through egresswatch's own parser --------------------------------
bin=${EGRESSWATCH:-$deploy/../egresswatch}
if [ -x "$bin" ]; then
    # The commented-out keys and [endpoint acme] example, uncommented, must parse too.
    sed -E -e 's/^; (\[endpoint [a-z]+\])/\1/' -e 's/^; ([a-z_]+ = )/\1/' \
        config/egresswatch.conf > "$tmp/uncommented.conf"
    grep -q '^\[endpoint acme\]' "$tmp/uncommented.conf" || fail "example [endpoint acme] not found"
    for f in config/egresswatch.conf "$tmp/configmap.conf" "$tmp/uncommented.conf"; do
        step "egresswatch --config $f endpoints"
        "$bin" --config "$f" endpoints > "$tmp/endpoints.out" || fail "$f does not parse"
    done
    grep -q '^acme (config)' "$tmp/endpoints.out" ||
        fail "the uncommented [endpoint acme] example is not in the catalog"
else
    step "SKIP config parse: $bin not built (make)"
fi

# --- systemd unit ------------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
    # The binary is not installed here: verify a copy whose ExecStart is /bin/true.
    sed 's#^ExecStart=.*#ExecStart=/bin/true#' systemd/egresswatch.service > "$tmp/egresswatch.service"
    step "systemd-analyze verify systemd/egresswatch.service (ExecStart=/bin/true)"
    # verify exits 0 on warnings (unknown keys, bad values): any output is a failure.
    out=$(systemd-analyze verify --man=no "$tmp/egresswatch.service" 2>&1) || fail "$out"
    [ -z "$out" ] || fail "systemd-analyze verify: $out"
    if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
        # Exposure 0.0 (best) to 10.0; the threshold is in tenths. Fails if the hardening regresses.
        step "systemd-analyze security --offline=yes --threshold=35 (exposure at most 3.5)"
        out=$(systemd-analyze security --offline=yes --threshold=35 --no-pager \
            "$tmp/egresswatch.service" 2>&1) ||
            fail "$(printf '%s\n' "$out" | grep -i 'overall exposure' || printf '%s\n' "$out")"
        printf '%s\n' "$out" | grep -i 'overall exposure'
    fi
else
    step "SKIP systemd-analyze verify: systemd-analyze not found (apt-get install -y systemd)"
fi

echo "deploy/check.sh: all checks passed"
