#!/bin/bash
# make-bench.sh — the standard comparison behind `make bench`: the mock addressed directly
# (direct, the baseline) vs every Sluice tier whose config exists (bench/configs/l0.yaml ...
# l3.yaml) vs nginx proxy_pass, all in front of one mock, measured side by side with
# `sluice bench` at a scale that fits a 2-core machine. Writes the report to
# bench/results/<UTC date>-<host>/ (report.html, report.md, results.json, SVG charts).
#
# It builds sluice into a temp dir, starts the mock, one `sluice serve` per tier and the
# nginx peer on 127.0.0.1, charges each target's CPU and memory to its own process (--pid),
# and stops everything it started on exit (also on Ctrl-C or an error). The run is bounded
# by BENCH_TIMEOUT; when it fires, the steps measured so far are still written.
#
# Environment (all optional):
#   RATES           requests per second per step (default 500,1000,2000,4000,8000)
#   STEP            measured window per target and step (default 5s)
#   WARMUP          warm-up before each window (default 2s)
#   PROFILE         backend profile (default throughput); STREAM=1 for streamed replies
#   OUT             output directory (default bench/results/<UTC date-time>-<host>)
#   MOCK_PORT       the mock's port (default 9000)
#   SLUICE_PORT     the first tier's port; tier lN listens on SLUICE_PORT+N (default 8080)
#   NGINX_PORT      the nginx peer's port (default 9300)
#   BENCH_TIMEOUT   seconds the bench may run at most (default 1200)
#   SLUICE_POSTGRES_URL  needed by l3; without it l3 is skipped
#   BENCH_ARGS      more `sluice bench` flags, e.g. "--slo 20ms"
#   SLUICE_BIN      a sluice binary to use instead of building ./cmd/sluice
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

rates=${RATES:-500,1000,2000,4000,8000}
step=${STEP:-5s}
warmup=${WARMUP:-2s}
profile=${PROFILE:-throughput}
mock_port=${MOCK_PORT:-9000}
sluice_port=${SLUICE_PORT:-8080}
nginx_port=${NGINX_PORT:-9300}
limit=${BENCH_TIMEOUT:-1200}
host=$(hostname -s 2>/dev/null || hostname)
out=${OUT:-bench/results/$(date -u +%Y%m%d-%H%M)-$host}

die() { echo "make-bench: $*" >&2; exit 1; }

tmp=$(mktemp -d /tmp/sluice-make-bench.XXXXXX)
pids=()
nginx_started=""
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ -n $nginx_started ]]; then PORT=$nginx_port bench/peers/nginx-proxy/run.sh stop >/dev/null 2>&1 || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/scripts/lib.sh
. bench/scripts/lib.sh

for p in "$mock_port" "$nginx_port"; do port_free "$p" || die "port $p on 127.0.0.1 is taken (set MOCK_PORT / NGINX_PORT)"; done

if [[ -n ${SLUICE_BIN:-} ]]; then
	[[ -x $SLUICE_BIN ]] || die "SLUICE_BIN=$SLUICE_BIN is not executable"
	cp "$SLUICE_BIN" "$tmp/sluice"
else
	echo "make-bench: building sluice" >&2
	go build -o "$tmp/sluice" ./cmd/sluice
fi

"$tmp/sluice" mock --listen "127.0.0.1:$mock_port" --log-level warn 2>"$tmp/mock.log" &
mock_pid=$!
pids+=("$mock_pid")
wait_ready "http://127.0.0.1:$mock_port/v1/models" 10 "$mock_pid" || die "the mock did not start; $(cat "$tmp/mock.log")"

targets=()
pidflags=(--pid "direct=$mock_pid")
for n in 0 1 2 3; do
	tier=l$n
	cfg=bench/configs/$tier.yaml
	if [[ ! -f $cfg ]]; then
		echo "make-bench: tier $tier not built yet ($cfg does not exist); skipped" >&2
		continue
	fi
	if [[ $tier == l3 && -z ${SLUICE_POSTGRES_URL:-} ]]; then
		echo "make-bench: tier l3 needs SLUICE_POSTGRES_URL; skipped" >&2
		continue
	fi
	port=$((sluice_port + n))
	port_free "$port" || die "port $port for tier $tier is taken (set SLUICE_PORT)"
	mkdir -p "$tmp/data-$tier"
	SLUICE_LISTEN=127.0.0.1:$port SLUICE_UPSTREAM=http://127.0.0.1:$mock_port SLUICE_DATA_DIR=$tmp/data-$tier \
		"$tmp/sluice" serve --config "$cfg" 2>"$tmp/$tier.log" &
	pid=$!
	pids+=("$pid")
	wait_ready "http://127.0.0.1:$port/readyz" 30 "$pid" || die "sluice $tier did not become ready: $(tail -5 "$tmp/$tier.log")"
	targets+=(--target "sluice-$tier=http://127.0.0.1:$port")
	if ((n >= 1)); then
		targets+=(--header "sluice-$tier=Authorization:Bearer sk-bench-0001")
	fi
	pidflags+=(--pid "sluice-$tier=$pid")
	echo "make-bench: sluice $tier on 127.0.0.1:$port (pid $pid)" >&2
done

if command -v "${NGINX:-nginx}" >/dev/null || [[ -x /usr/sbin/nginx ]]; then
	PORT=$nginx_port UPSTREAM=127.0.0.1:$mock_port bench/peers/nginx-proxy/run.sh start >&2
	nginx_started=1
	targets+=(--target "nginx=http://127.0.0.1:$nginx_port")
	pidflags+=(--pid "nginx=$(PORT=$nginx_port bench/peers/nginx-proxy/run.sh pid)")
else
	echo "make-bench: nginx not installed (apt-get install nginx-light); the nginx peer is skipped" >&2
fi

stream=()
[[ ${STREAM:-} == 1 ]] && stream=(--stream)
# shellcheck disable=SC2206 # BENCH_ARGS is split on purpose
extra=(${BENCH_ARGS:-})
set +e
timeout --foreground -s INT "$limit" "$tmp/sluice" bench --direct "http://127.0.0.1:$mock_port" "${targets[@]}" "${pidflags[@]}" \
	--rates "$rates" --step "$step" --warmup "$warmup" --profile "$profile" "${stream[@]}" "${extra[@]}" --out "$out"
status=$?
set -e
[[ -f $out/report.html ]] && echo "make-bench: open $out/report.html" >&2
exit "$status"
