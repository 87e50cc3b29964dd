#!/usr/bin/env bash
# Measures posos-token against a loopback token endpoint and against Google's Python library,
# and prints a Markdown table. Takes about a minute; not part of `cargo test` or .ci/run.
#
# Usage: bench/run.sh            (RUNS=500 PY_RUNS=30 by default; set them to change)
#
# Needs: cargo, python3 with venv, hyperfine, GNU time. On Debian or Ubuntu the script
# installs hyperfine, time and python3-venv with apt-get when they are missing (as root, or
# with sudo), and google-auth and requests with pip into target/bench/venv.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/target/bench
runs=${RUNS:-500}
py_runs=${PY_RUNS:-30}
audience=20286154155-852pf0ti456nd81ongbiecmjqgag84q3.apps.googleusercontent.com
mkdir -p "$work"

# --- Tools -------------------------------------------------------------------------------
apt_install() {
    if ! command -v apt-get >/dev/null; then
        echo "bench/run.sh: missing $*, and there is no apt-get to install it; install it and rerun" >&2
        exit 1
    fi
    local sudo=
    if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
    echo "bench/run.sh: installing $* with apt-get" >&2
    $sudo apt-get install -y "$@" >/dev/null || {
        $sudo apt-get update >/dev/null && $sudo apt-get install -y "$@" >/dev/null
    }
}
command -v hyperfine >/dev/null || apt_install hyperfine
[ -x /usr/bin/time ] || apt_install time
command -v python3 >/dev/null || apt_install python3 python3-venv
if [ ! -x "$work/venv/bin/python" ]; then
    python3 -m venv "$work/venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$work/venv"; }
fi
"$work/venv/bin/pip" install --quiet --disable-pip-version-check google-auth requests
python=$work/venv/bin/python

# --- Build ------------------------------------------------------------------------------
cargo build --release --locked --bin posos-token --example bench_endpoint
bin=$root/target/release/posos-token

# --- Loopback endpoint --------------------------------------------------------------------
rm -f "$work/endpoint.txt"
"$root/target/release/examples/bench_endpoint" >"$work/endpoint.txt.tmp" &
endpoint_pid=$!
trap 'kill $endpoint_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    if [ "$(wc -l <"$work/endpoint.txt.tmp")" -ge 3 ]; then
        mv "$work/endpoint.txt.tmp" "$work/endpoint.txt"
        break
    fi
    sleep 0.05
done
[ -s "$work/endpoint.txt" ] || { echo "bench/run.sh: the loopback endpoint did not start" >&2; exit 1; }
http_url=$(sed -n 1p "$work/endpoint.txt")
https_url=$(sed -n 2p "$work/endpoint.txt")
google_auth_url=$(sed -n 3p "$work/endpoint.txt")

write_key() {  # write_key FILE TOKEN_URI
    "$python" - "$root/tests/fixtures/service-account.json" "$1" "$2" <<'PY'
import json, os, sys
key = json.load(open(sys.argv[1]))
key["token_uri"] = sys.argv[3]
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as out:
    json.dump(key, out)
PY
}
write_key "$work/key-http.json" "$http_url"
write_key "$work/key-https.json" "$https_url"
write_key "$work/key-google-auth.json" "$google_auth_url"

# An environment that reaches only the loopback endpoint.
unset GOOGLE_APPLICATION_CREDENTIALS POSOS_CLIENT_ID HTTPS_PROXY https_proxy HTTP_PROXY http_proxy \
    ALL_PROXY all_proxy SSL_CERT_FILE GCE_METADATA_HOST
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost NO_GCE_CHECK=true
export POSOS_TOKEN_CACHE_DIR=$work/cache
ca=$root/tests/fixtures/tls/ca.pem

# Each command must print a token before it is timed.
check_token() { grep -Eq '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' || { echo "bench/run.sh: $1 printed no token" >&2; exit 1; }; }
"$bin" cache clear
"$bin" -c "$work/key-http.json" | check_token "posos-token over HTTP"
SSL_CERT_FILE=$ca "$bin" --no-cache -c "$work/key-https.json" | check_token "posos-token over TLS"
"$python" "$root/bench/google_auth_peer.py" "$work/key-google-auth.json" "$audience" | check_token "google-auth"

# --- 0. Process start-up alone, for scale -----------------------------------------------------
hyperfine -N --style basic --warmup 50 --runs "$runs" --export-json "$work/version.json" \
    "$bin --version"

# --- 1. Cache hit ---------------------------------------------------------------------------
hyperfine -N --style basic --warmup 50 --runs "$runs" --export-json "$work/hit.json" \
    "$bin -c $work/key-http.json"

# --- 2. Cache miss over HTTP: the cache is cleared before each run --------------------------
hyperfine -N --style basic --warmup 20 --runs "$runs" --export-json "$work/miss-http.json" \
    --prepare "$bin cache clear" "$bin -c $work/key-http.json"

# --- 3. Cache miss over TLS with the test CA ------------------------------------------------
SSL_CERT_FILE=$ca hyperfine -N --style basic --warmup 20 --runs "$runs" \
    --export-json "$work/miss-tls.json" \
    --prepare "$bin cache clear" "$bin -c $work/key-https.json"

# --- 4. Signing alone -------------------------------------------------------------------------
cargo bench --locked --bench signing | tee "$work/signing.txt"

# --- 5. Peak resident memory of cache misses, and the binary's size ------------------------
: >"$work/rss-http.txt"
: >"$work/rss-tls.txt"
for _ in $(seq 30); do
    /usr/bin/time -f %M -a -o "$work/rss-http.txt" "$bin" --no-cache -c "$work/key-http.json" >/dev/null
    SSL_CERT_FILE=$ca /usr/bin/time -f %M -a -o "$work/rss-tls.txt" \
        "$bin" --no-cache -c "$work/key-https.json" >/dev/null
done
/usr/bin/time -f %M -o "$work/rss-python.txt" \
    "$python" "$root/bench/google_auth_peer.py" "$work/key-google-auth.json" "$audience" >/dev/null

# --- 6. Google's Python library, the same cache miss over HTTP -----------------------------
hyperfine -N --style basic --warmup 3 --runs "$py_runs" --export-json "$work/google-auth.json" \
    "$python $root/bench/google_auth_peer.py $work/key-google-auth.json $audience"

# --- Table --------------------------------------------------------------------------------
"$python" "$root/bench/table.py" "$work" "$bin"
