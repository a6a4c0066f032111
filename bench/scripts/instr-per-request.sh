#!/bin/bash
# instr-per-request.sh [-t TIER] [-d SECONDS] [-c CONNS] [-k DIR] [-u] NAME=BINARY [NAME=BINARY ...]
#
# User-space instructions per request of one or more sluice binaries, counted by valgrind's
# callgrind: a count, not a time, so it repeats to within a fraction of a percent on a
# shared, noisy machine where CPU-time comparisons (cpu-compare.sh) cannot resolve a few
# percent. What it does not see: the kernel's work (system calls, loopback TCP) and the
# cycles lost to cache lines moving between cores; compare the system calls per request
# separately (docs/benchmarks.md, "Instructions per request").
#
# Each binary serves bench/configs/TIER.yaml in front of a private static upstream
# (bench/static-upstream) under callgrind, with GOMAXPROCS=2 and Go's
# asynchronous preemption off (its signals break callgrind). wrk -t1 -cCONNS sends the
# shared post-chat.lua for 3 s of warm-up, then for SECONDS; the counters are dumped at the
# end of each, and the second dump is divided by the requests the gateway answered 2xx in
# that window (its gen_ai_server_request_duration_seconds_count, read before and after).
# Prints one line per binary: NAME TIER requests instructions/request.
#
#   -t TIER     l0 (default), l1, l2 or l3 (no external service: SQLite in a temp dir), or
#               l1-translated: L1 with gpt-4o-mini served by an Anthropic-format provider, so
#               every request is translated (OpenAI chat -> Anthropic messages -> back; the
#               static upstream answers POST /v1/messages with an Anthropic message of the
#               same text and usage). Compare it with -t l1, same binary, same machine.
#               l1-governed: L1 with the bench key in a team with shared limits and a budget,
#               and end-user limits (rates and a budget) on the key and the team; sends
#               bench/scripts/post-chat-user.lua (the same request with a "user"). Compare it
#               with -t l1 -u, same binary, same machine.
#   -u          send post-chat-user.lua (with a "user" field) instead of post-chat.lua
#   -d SECONDS  measured window (default 10)
#   -c CONNS    wrk connections (default 8)
#   -k DIR      keep each binary's measured callgrind dump as DIR/NAME.TIER.callgrind
#               (default: deleted with the run's temp dir). Read self costs from it: Go's
#               goroutine switches make callgrind's inclusive costs meaningless, and
#               callgrind_annotate 3.19 overstates some self costs of these dumps
#               (docs/benchmarks.md, "Issue #16: translation and the same-format bar").
set -euo pipefail

tier=l0 secs=10 conns=8 keep="" user=""
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2; }
while getopts "t:d:c:k:uh" opt; do
	case $opt in
	t) tier=$OPTARG ;;
	d) secs=$OPTARG ;;
	c) conns=$OPTARG ;;
	k) keep=$OPTARG ;;
	u) user=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
(($# >= 1)) || usage
for cmd in valgrind callgrind_control callgrind_annotate wrk curl; do
	command -v $cmd >/dev/null || { echo "instr-per-request: $cmd not found (apt-get install valgrind wrk curl)" >&2; exit 2; }
done

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
lua=${SLUICE_SHARED_TOOLS:-$root/../shared/tools}/post-chat.lua
if [[ -n $user || $tier == l1-governed ]]; then
	lua=$root/bench/scripts/post-chat-user.lua
fi
[[ -r $lua ]] || { echo "instr-per-request: $lua not readable (set SLUICE_SHARED_TOOLS)" >&2; exit 2; }
cfg=$root/bench/configs/$tier.yaml
[[ -r $cfg ]] || { echo "instr-per-request: no tier $tier ($cfg)" >&2; exit 2; }

work=$(mktemp -d /tmp/sluice-instr.XXXXXX)

# Ports of this run only, free when chosen: two runs at once must not share the upstream.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		ss -Htln "sport = :$p" | grep -q . || { echo $p; return; }
	done
}
up_port=$(free_port)
vg=""
cleanup() {
	[[ -n $vg ]] && kill -9 "$vg" 2>/dev/null || true
	PORT=$up_port "$root/bench/static-upstream/run.sh" stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
PORT=$up_port "$root/bench/static-upstream/run.sh" start >/dev/null

answered() { # 2xx answered so far by the gateway on port $1
	curl -fsS "http://127.0.0.1:$1/metrics" |
		awk '/^gen_ai_server_request_duration_seconds_count\{/ && /status_class="2xx"/ { s += $NF } END { printf "%d\n", s }'
}

for t in "$@"; do
	name=${t%%=*} bin=${t#*=}
	[[ -x $bin ]] || { echo "instr-per-request: $bin is not an executable" >&2; exit 2; }
	port=$(free_port)
	mkdir -p "$work/$name"
	SLUICE_DATA_DIR=$work/$name SLUICE_UPSTREAM=http://127.0.0.1:$up_port SLUICE_LISTEN=127.0.0.1:$port \
		GOMAXPROCS=2 GODEBUG=asyncpreemptoff=1 \
		valgrind --tool=callgrind --callgrind-out-file="$work/$name/cg.%p" \
		"$bin" serve --config "$cfg" >"$work/$name/valgrind.log" 2>&1 &
	vg=$!
	for _ in $(seq 1 300); do
		curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
		sleep 0.2
	done
	url=http://127.0.0.1:$port/v1/chat/completions
	wrk -t1 -c"$conns" -d3s -s "$lua" "$url" >/dev/null
	n0=$(answered $port)
	callgrind_control -d "$vg" >/dev/null
	wrk -t1 -c"$conns" -d"${secs}s" -s "$lua" "$url" >/dev/null
	callgrind_control -d "$vg" >/dev/null
	n1=$(answered $port)
	kill -9 "$vg" 2>/dev/null || true
	wait "$vg" 2>/dev/null || true
	vg=""
	dump=$(ls "$work/$name"/cg.*.2)
	if [[ -n $keep ]]; then
		mkdir -p "$keep"
		cp "$dump" "$keep/$name.$tier.callgrind"
	fi
	ir=$(callgrind_annotate --auto=no "$dump" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
	n=$((n1 - n0))
	((n > 0)) || { echo "instr-per-request: $name answered no request (see $work/$name/valgrind.log)" >&2; exit 1; }
	echo "$name $tier $n $((ir / n))"
done
