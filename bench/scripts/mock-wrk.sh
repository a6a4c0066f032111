#!/bin/bash
# mock-wrk.sh [-r ROUNDS] [-s SECONDS] [-b SLUICE_BINARY] [NAME=BINARY ...]
#
# Non-streamed throughput of `sluice mock` beside nginx returning a static body of the same
# size: starts a private static upstream (bench/static-upstream, PORT 9110 by default, so
# a shared one on 9100 is left alone) and a fresh mock on 127.0.0.1:9310, then runs
# bench/scripts/cpu-compare.sh with nginx FIRST (the baseline) and the mock second: wrk -t1
# -c64 with the shared post-chat.lua (a small chat completion), rounds alternating in
# order. Prints cpu-compare's table (median RPS, median CPU µs/request, ratios to nginx)
# and the RPS ratio mock ÷ nginx of the medians. Both servers are stopped on exit.
#
#   -r ROUNDS   rounds (default 5)
#   -s SECONDS  seconds per measurement (default 4)
#   -b BINARY   the sluice binary to measure (default: build ./cmd/sluice into a temp dir)
#   NAME=BINARY further sluice binaries to measure in the same run (e.g. before=/tmp/old),
#               each as one more mock on the next port
set -euo pipefail

rounds=5 secs=4 bin=""
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2; }
while getopts "r:s:b:h" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	s) secs=$OPTARG ;;
	b) bin=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))

here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel)
export PORT=${PORT:-9110}
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	"$root/bench/static-upstream/run.sh" stop >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

if [[ -z $bin ]]; then
	bin=$tmp/sluice
	(cd "$root" && go build -o "$bin" ./cmd/sluice)
fi
"$root/bench/static-upstream/run.sh" start
targets=("nginx=$("$root/bench/static-upstream/run.sh" pid)=http://127.0.0.1:$PORT/v1/chat/completions")

port=9310
start_mock() { # name binary
	"$2" mock --listen "127.0.0.1:$port" --log-level warn &
	pids+=($!)
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
		sleep 0.05
	done
	targets+=("$1=$!=http://127.0.0.1:$port/v1/chat/completions")
	port=$((port + 1))
}
start_mock mock "$bin"
for nb in "$@"; do start_mock "${nb%%=*}" "${nb#*=}"; done

# What each answers to the wrk request, for the record: status and body size.
lua_body='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello there, how are you?"}]}'
for t in "${targets[@]}"; do
	url=${t#*=*=}
	curl -sS -o "$tmp/body" -D "$tmp/head" -X POST -H 'Content-Type: application/json' \
		-H 'Authorization: Bearer sk-bench-0001' -d "$lua_body" "$url"
	echo "# ${t%%=*}: $(head -n1 "$tmp/head" | tr -d '\r'), body $(wc -c <"$tmp/body") bytes, response $(($(wc -c <"$tmp/head") + $(wc -c <"$tmp/body"))) bytes"
done

"$here/cpu-compare.sh" -r "$rounds" -s "$secs" "${targets[@]}" | tee "$tmp/out"
echo
# cpu-compare's table gives CPU ratios; the RPS ratio of the medians is added here.
awk '/^\| nginx \|/ { split($0, f, "|"); base = f[3] + 0; next }
     /^\| / && !/^\| (target|---)/ { split($0, f, "|"); n = f[2]; gsub(/ /, "", n); if (base > 0) printf "median RPS %s ÷ nginx: %.2f\n", n, (f[3] + 0) / base }' "$tmp/out"
