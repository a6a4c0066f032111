#!/bin/bash
# gen-ceiling.sh [-r ROUNDS] [-s SECONDS] [-b SLUICE_BINARY] — the load generator's ceiling.
#
# Is `sluice bench` ever the bottleneck? Compares its throughput with wrk's on the same
# target, both on one core and 64 connections: wrk -t1 -c64 (closed loop, the shared
# post-chat.lua request) against `GOMAXPROCS=1 sluice bench --max-conns 64` scheduled far
# above what one core can send (so it sends as fast as it can; the step's achieved_rps is
# its ceiling). The target is a private nginx static upstream (bench/static-upstream on
# PORT, default 9120, so a shared one on 9100 is left alone). Rounds alternate the order
# (wrk first, then sluice; then sluice first ...) and the medians are compared: the ratio
# sluice ÷ wrk should be at least 0.7 (docs/benchmarks.md). Everything started is stopped
# on exit.
#
#   -r ROUNDS   rounds (default 5)
#   -s SECONDS  seconds per measurement (default 5)
#   -b BINARY   the sluice binary (default: build ./cmd/sluice into a temp dir)
#   -o RATE     the overload rate sluice is asked for (default 400000)
set -euo pipefail

rounds=5 secs=5 bin="" over=400000
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2; }
while getopts "r:s:b:o:h" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	s) secs=$OPTARG ;;
	b) bin=$OPTARG ;;
	o) over=$OPTARG ;;
	*) usage ;;
	esac
done
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
port=${PORT:-9120}
lua=${SLUICE_SHARED_TOOLS:-$root/../shared/tools}/post-chat.lua
[[ -r $lua ]] || { echo "gen-ceiling: $lua not found (set SLUICE_SHARED_TOOLS)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "gen-ceiling: wrk not found (apt-get install wrk)" >&2; exit 2; }

tmp=$(mktemp -d /tmp/sluice-gen-ceiling.XXXXXX)
started=""
cleanup() {
	[[ -n $started ]] && PORT=$port bench/static-upstream/run.sh stop >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z $bin ]]; then
	go build -o "$tmp/sluice" ./cmd/sluice
	bin=$tmp/sluice
fi
PORT=$port bench/static-upstream/run.sh start >&2
started=1
url=http://127.0.0.1:$port

run_wrk() { wrk -t1 -c64 -d"${secs}s" -s "$lua" "$url/v1/chat/completions" | awk '/Requests\/sec/ { printf "%.0f\n", $2 }'; }
run_sluice() {
	GOMAXPROCS=1 timeout 120 "$bin" bench --direct "$url" --rates "$over" --step "${secs}s" --warmup 1s \
		--max-conns 64 --no-preflight --out "$tmp/out" >/dev/null 2>&1 || true
	awk -F': ' '/"achieved_rps"/ { sub(/,/, "", $2); printf "%.0f\n", $2; exit }' "$tmp/out/results.json"
}

w=() s=()
for ((i = 1; i <= rounds; i++)); do
	if ((i % 2)); then
		a=$(run_wrk) b=$(run_sluice)
	else
		b=$(run_sluice) a=$(run_wrk)
	fi
	w+=("$a") s+=("$b")
	echo "round $i: wrk $a req/s, sluice bench $b req/s, ratio $(echo "scale=2; $b / $a" | bc)"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mw=$(median "${w[@]}") ms=$(median "${s[@]}")
echo
echo "| generator (1 core, 64 connections) | median req/s | min–max |"
echo "|---|---:|---:|"
echo "| wrk -t1 -c64 | $mw | $(printf '%s\n' "${w[@]}" | sort -n | head -1)–$(printf '%s\n' "${w[@]}" | sort -n | tail -1) |"
echo "| GOMAXPROCS=1 sluice bench --max-conns 64 | $ms | $(printf '%s\n' "${s[@]}" | sort -n | head -1)–$(printf '%s\n' "${s[@]}" | sort -n | tail -1) |"
echo
echo "ratio of medians sluice ÷ wrk: $(echo "scale=2; $ms / $mw" | bc)"
