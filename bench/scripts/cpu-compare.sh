#!/bin/bash
# cpu-compare.sh [-r ROUNDS] [-s SECONDS] [-w WARMUP] [-l WRK_LUA] NAME=PID=URL [NAME=PID=URL ...]
#
# Compares the CPU cost per request of several processes under the same wrk load, using
# the shared tool cpu-per-request (wrk -t1 -c64; CPU from /proc/PID/stat / requests done).
# Each round measures every target once for SECONDS; the order reverses every round
# (A B C, C B A, A B C, ...) so slow drift on a shared machine hits all targets alike.
# Prints one line per measurement, then a Markdown table: median RPS, median CPU µs per
# request, min–max CPU, the ratio of each target's median CPU/request to the FIRST target's,
# and the median of the per-round ratios (each round's CPU/request ÷ the first target's in
# that round). The first target is the baseline. Before measuring, each target must answer
# the wrk script with 2xx only (a 401 or 404 path would be cheap and flatter the target).
#
#   -r ROUNDS   rounds (default 5, env ROUNDS)
#   -s SECONDS  seconds per measurement (default 4, env SECS)
#   -w WARMUP   seconds of discarded load per target before round 1 (default 2, env WARMUP; 0 = none)
#   -l WRK_LUA  wrk script (default: post-chat.lua of the shared tools)
#
# The shared tools are found at $(git rev-parse --show-toplevel)/../shared/tools, or at
# $SLUICE_SHARED_TOOLS when set. PID is the process to charge (for nginx: its worker);
# URL is what wrk drives, e.g. http://127.0.0.1:9201/v1/chat/completions.
set -euo pipefail

rounds=${ROUNDS:-5}
secs=${SECS:-4}
warmup=${WARMUP:-2}
lua=""

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2; }

while getopts "r:s:w:l:h" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	s) secs=$OPTARG ;;
	w) warmup=$OPTARG ;;
	l) lua=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
(($# >= 1)) || usage
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "cpu-compare: -r wants a positive integer" >&2; exit 2; }
[[ $secs =~ ^[1-9][0-9]*$ ]] || { echo "cpu-compare: -s wants a positive integer" >&2; exit 2; }
[[ $warmup =~ ^[0-9]+$ ]] || { echo "cpu-compare: -w wants a non-negative integer" >&2; exit 2; }

if [[ -n ${SLUICE_SHARED_TOOLS:-} ]]; then
	tools=$SLUICE_SHARED_TOOLS
else
	root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null) ||
		{ echo "cpu-compare: not inside a git checkout; set SLUICE_SHARED_TOOLS" >&2; exit 2; }
	tools=$root/../shared/tools
fi
cpr=$tools/cpu-per-request
[[ -x $cpr ]] || { echo "cpu-compare: $cpr not found or not executable (set SLUICE_SHARED_TOOLS)" >&2; exit 2; }
lua=${lua:-$tools/post-chat.lua}
[[ -r $lua ]] || { echo "cpu-compare: wrk script $lua not readable" >&2; exit 2; }

names=() pids=() urls=()
for t in "$@"; do
	IFS='=' read -r n p u <<<"$t"
	[[ -n $n && $p =~ ^[0-9]+$ && -n $u ]] || { echo "cpu-compare: bad target '$t' (want NAME=PID=URL)" >&2; exit 2; }
	[[ -r /proc/$p/stat ]] || { echo "cpu-compare: process $p ($n) is not running" >&2; exit 2; }
	names+=("$n") pids+=("$p") urls+=("$u")
done
n=${#names[@]}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() { # idx secs -> "RPS CPU_US"
	[[ -r /proc/${pids[$1]}/stat ]] || { echo "cpu-compare: process ${pids[$1]} (${names[$1]}) exited" >&2; exit 1; }
	local out
	out=$("$cpr" "${pids[$1]}" "${urls[$1]}" "$2" "$lua") && [[ $out =~ ^[0-9.]+\ [0-9.]+$ ]] ||
		{ echo "cpu-compare: cpu-per-request failed for ${names[$1]} (${urls[$1]}): $out" >&2; exit 1; }
	echo "$out"
}

# preflight: every target must answer the wrk script with 2xx only, or the cheap error path
# (a 401, a 404) would be measured instead of the real one.
command -v wrk >/dev/null || { echo "cpu-compare: wrk not installed (apt-get install wrk)" >&2; exit 2; }
for ((i = 0; i < n; i++)); do
	pf=$(wrk -t1 -c1 -d1s -s "$lua" "${urls[$i]}" 2>&1) ||
		{ echo "cpu-compare: ${names[$i]}: wrk failed on ${urls[$i]}: $(head -n2 <<<"$pf")" >&2; exit 2; }
	if ! grep -q 'requests in' <<<"$pf" || grep -qE 'Non-2xx|Socket errors' <<<"$pf"; then
		echo "cpu-compare: ${names[$i]} (${urls[$i]}) does not answer the wrk script with 2xx only:" >&2
		echo "$pf" >&2
		exit 2
	fi
done

echo "# cpu-compare: $n targets, $rounds rounds x ${secs}s, warm-up ${warmup}s, wrk script $(basename "$lua")"
echo "# $(date -u +%FT%TZ) $(uname -n) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
if ((warmup > 0)); then
	for ((i = 0; i < n; i++)); do measure "$i" "$warmup" >/dev/null; done
fi

printf '%-6s %-20s %12s %14s\n' round target rps cpu_us_per_req
for ((r = 1; r <= rounds; r++)); do
	order=()
	if ((r % 2 == 1)); then
		for ((i = 0; i < n; i++)); do order+=("$i"); done
	else
		for ((i = n - 1; i >= 0; i--)); do order+=("$i"); done
	fi
	for i in "${order[@]}"; do
		read -r rps cpu < <(measure "$i" "$secs")
		printf '%-6s %-20s %12s %14s\n' "$r" "${names[$i]}" "$rps" "$cpu"
		echo "$rps" >>"$tmp/rps.$i"
		echo "$cpu" >>"$tmp/cpu.$i"
		echo "$r $cpu" >>"$tmp/round.$i"
	done
done

median() { sort -g "$1" | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.4f\n", (v[NR/2]+v[NR/2+1])/2}'; }

# per-round ratio of target i to target 0
for ((i = 0; i < n; i++)); do
	join <(sort -k1,1 "$tmp/round.$i") <(sort -k1,1 "$tmp/round.0") |
		awk '{ if ($3 > 0) printf "%.4f\n", $2/$3 }' >"$tmp/ratio.$i"
done

base=$(median "$tmp/cpu.0")
echo
echo "| target | median RPS | median CPU µs/req | CPU µs/req min–max | CPU/req ÷ ${names[0]} | median per-round ratio |"
echo "|---|---:|---:|---:|---:|---:|"
for ((i = 0; i < n; i++)); do
	mr=$(median "$tmp/rps.$i")
	mc=$(median "$tmp/cpu.$i")
	lo=$(sort -g "$tmp/cpu.$i" | head -n1)
	hi=$(sort -g "$tmp/cpu.$i" | tail -n1)
	ratio=$(awk -v a="$mc" -v b="$base" 'BEGIN { if (b > 0) printf "%.2f", a/b; else print "n/a" }')
	rr=$(median "$tmp/ratio.$i")
	printf '| %s | %.0f | %.1f | %s–%s | %s | %.2f |\n' "${names[$i]}" "$mr" "$mc" "$lo" "$hi" "$ratio" "$rr"
done
