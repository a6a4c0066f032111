#!/bin/bash
# mock-streams.sh [-n STREAMS] [-i ITL] [-t HOLD] [-b SLUICE_BINARY] [-p PORT]
#
# Measures what held slow streams cost `sluice mock`: starts a fresh mock on 127.0.0.1:PORT,
# opens STREAMS concurrent streamed chat completions against it (X-Mock-ITL: ITL), holds them
# for HOLD while sampling the mock's VmRSS/VmHWM (/proc/PID/status) once a second, and prints
# its peak memory and CPU microseconds per token event (CPU from /proc/PID/stat, events from
# the mock's own /metrics). The client (bench/scripts/mockstreams) closes every stream and
# exits by itself; the mock is stopped on exit.
#
#   -n STREAMS  concurrent streams (default 10000)
#   -i ITL      time between tokens, a Go duration (default 1s)
#   -t HOLD     how long to hold them, a Go duration (default 30s)
#   -b BINARY   a sluice binary to measure (default: build ./cmd/sluice into a temp dir)
#   -p PORT     mock port (default 9300)
#
# Examples (docs/benchmarks.md, "Mock"):
#   bench/scripts/mock-streams.sh                       # 10,000 streams, 1 s ITL, 30 s
#   bench/scripts/mock-streams.sh -n 1000 -i 20ms       # 1,000 streams at 20 ms: CPU per event
set -euo pipefail

streams=10000 itl=1s hold=30s bin="" port=9300
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2; }
while getopts "n:i:t:b:p:h" opt; do
	case $opt in
	n) streams=$OPTARG ;;
	i) itl=$OPTARG ;;
	t) hold=$OPTARG ;;
	b) bin=$OPTARG ;;
	p) port=$OPTARG ;;
	*) usage ;;
	esac
done

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
tmp=$(mktemp -d)
mock_pid=""
cleanup() {
	if [[ -n $mock_pid ]] && kill -0 "$mock_pid" 2>/dev/null; then
		kill -TERM "$mock_pid" 2>/dev/null || true
		wait "$mock_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Every stream is one socket on each side; loopback needs the limit raised for both
# processes (children inherit it).
want=$((streams + 1024))
if (($(ulimit -n) < want)); then
	if (($(ulimit -Hn) < want)); then
		ulimit -Hn "$want" 2>/dev/null || true # only root may raise the hard limit
	fi
	ulimit -n "$want" 2>/dev/null ||
		{ echo "mock-streams: cannot raise the open-file limit to $want (ulimit -n $(ulimit -n), -Hn $(ulimit -Hn))" >&2; exit 1; }
fi

if [[ -z $bin ]]; then
	bin=$tmp/sluice
	(cd "$root" && go build -o "$bin" ./cmd/sluice)
fi
(cd "$root" && go build -o "$tmp/mockstreams" ./bench/scripts/mockstreams)

"$bin" mock --listen "127.0.0.1:$port" --log-level warn &
mock_pid=$!
for _ in $(seq 100); do
	curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
	sleep 0.05
done
curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" || { echo "mock-streams: the mock did not start" >&2; exit 1; }

echo "# $(date -u +%FT%TZ) $(uname -n) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), ulimit -n $(ulimit -n), $("$bin" version 2>/dev/null || echo sluice)"
"$tmp/mockstreams" -addr "127.0.0.1:$port" -n "$streams" -itl "$itl" -hold "$hold" -pid "$mock_pid"
