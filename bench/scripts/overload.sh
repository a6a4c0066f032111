#!/bin/bash
# overload.sh — Sluice at twice its capacity (docs/operations.md, "Overload
# protection"). Finds the rate where `sluice bench` puts Sluice's knee (L1
# config, in front of the mock), then offers half that rate and twice it, and
# checks that at twice its capacity every request is answered — served, or
# refused with 503 — none times out or is reset, and Sluice's memory stays
# under its ceiling. It prints the p99 of the served requests at both rates
# (the figure docs/operations.md reports; not a pass/fail bound: it depends
# on the machine) and writes OUT/summary.json and OUT/summary.md beside the
# two bench reports.
#
# Sluice runs on CPUs of its own and the load generator with the mock on CPU
# 0 (taskset), when the machine has more than one CPU and taskset exists.
#
# Environment (all optional):
#   KNEE            skip the search and use this knee (requests/s)
#   KNEE_RATES      the search's ladder (default 1000,2000,3000,4000,6000,8000,12000,16000)
#   STEP            measured window at half and twice the knee (default 10s)
#   MEMORY_LIMIT    Sluice's server.memory_limit (default 384MiB: the 4,096
#                   connections `sluice bench` may open hold 230-260 MiB)
#   MOCK_PORT       (default 9400)   SLUICE_PORT (default 9401)
#   OUT             (default bench/results/overload-<UTC date-time>-<host>)
#   SLUICE_BIN      a sluice binary instead of building ./cmd/sluice
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

knee_rates=${KNEE_RATES:-1000,2000,3000,4000,6000,8000,12000,16000}
step=${STEP:-10s}
mem=${MEMORY_LIMIT:-384MiB}
mock_port=${MOCK_PORT:-9400}
sluice_port=${SLUICE_PORT:-9401}
host=$(hostname -s 2>/dev/null || hostname)
out=${OUT:-bench/results/overload-$(date -u +%Y%m%d-%H%M)-$host}

die() { echo "overload: $*" >&2; exit 1; }

tmp=$(mktemp -d /tmp/sluice-overload.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/scripts/lib.sh
. bench/scripts/lib.sh
for p in "$mock_port" "$sluice_port"; do port_free "$p" || die "port $p on 127.0.0.1 is taken (set MOCK_PORT / SLUICE_PORT)"; done

# Pinning: Sluice on CPUs of its own (1..n-1), so that its CPU is what
# overloads; the generator and the mock on CPU 0 (the mock costs a quarter of
# what the generator does per request).
ncpu=$(nproc)
gen=() srv=() up=()
if ((ncpu > 1)) && command -v taskset >/dev/null; then
	gen=(taskset -c 0)
	up=(taskset -c 0)
	srv=(taskset -c "1-$((ncpu - 1))")
	pinning="Sluice on CPUs 1-$((ncpu - 1)), the generator and the mock on CPU 0"
else
	pinning="not pinned ($ncpu CPU(s) or no taskset)"
fi

if [[ -n ${SLUICE_BIN:-} ]]; then
	cp "$SLUICE_BIN" "$tmp/sluice"
else
	echo "overload: building sluice" >&2
	go build -trimpath -o "$tmp/sluice" ./cmd/sluice
fi

"${up[@]}" "$tmp/sluice" mock --listen "127.0.0.1:$mock_port" --log-level warn 2>"$tmp/mock.log" &
mock_pid=$!
pids+=("$mock_pid")
wait_ready "http://127.0.0.1:$mock_port/v1/models" 10 "$mock_pid" || die "the mock did not start: $(cat "$tmp/mock.log")"

# The L1 tier with the memory ceiling set.
sed "s|^  listen: \(.*\)$|  listen: \1\n  memory_limit: $mem|" bench/configs/l1.yaml >"$tmp/l1.yaml"
grep -q "memory_limit: $mem" "$tmp/l1.yaml" || die "could not set memory_limit in a copy of bench/configs/l1.yaml"
mkdir -p "$tmp/data"
SLUICE_LISTEN=127.0.0.1:$sluice_port SLUICE_UPSTREAM=http://127.0.0.1:$mock_port SLUICE_DATA_DIR=$tmp/data \
	"${srv[@]}" "$tmp/sluice" serve --config "$tmp/l1.yaml" 2>"$tmp/sluice.log" &
sluice_pid=$!
pids+=("$sluice_pid")
wait_ready "http://127.0.0.1:$sluice_port/readyz" 30 "$sluice_pid" || die "sluice did not become ready: $(tail -5 "$tmp/sluice.log")"

bench() { # OUTDIR RATES STEP
	"${gen[@]}" "$tmp/sluice" bench --direct "http://127.0.0.1:$mock_port" \
		--target "sluice=http://127.0.0.1:$sluice_port" --header "sluice=Authorization:Bearer sk-bench-0001" \
		--pid "sluice=$sluice_pid" --rates "$2" --step "$3" --warmup 2s --out "$1" >"$1.log" 2>&1 ||
		die "sluice bench failed: $(tail -5 "$1.log")"
}
shed_total() {
	curl -fsS "http://127.0.0.1:$sluice_port/metrics" | awk '/^sluice_shed_total\{/ {s += $2} END {printf "%d\n", s}'
}

mkdir -p "$out"
knee=${KNEE:-}
if [[ -z $knee ]]; then
	echo "overload: finding the knee ($knee_rates, 4s steps)" >&2
	bench "$out/knee" "$knee_rates" 4s
	knee=$(python3 -c 'import json,sys; k=json.load(open(sys.argv[1]))["knee"]["targets"].get("sluice"); print(k or "")' "$out/knee/results.json")
	[[ -n $knee ]] || die "sluice has no knee on $knee_rates (it missed the SLO at the first step)"
fi
half=$((knee / 2)) double=$((knee * 2))
echo "overload: knee $knee/s; offering $half/s and $double/s ($step each)" >&2
shed0=$(shed_total)
bench "$out/run" "$half,$double" "$step"
shed1=$(shed_total)

python3 - "$out" "$knee" "$half" "$double" "$mem" "$pinning" "$((shed1 - shed0))" <<'PY'
import json, re, sys
out, knee, half, double, mem, pinning, shed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], int(sys.argv[7])
units = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
m = re.fullmatch(r"(\d+)(KiB|MiB|GiB)", mem)
ceiling_mib = int(m.group(1)) * units[m.group(2)] / (1 << 20) if m else None
res = json.load(open(f"{out}/run/results.json"))
steps = {(s["target"], s["rate"]): s for s in res["steps"]}
h, d = steps[("sluice", half)], steps[("sluice", double)]
problems = []
kinds = dict(d["errors_by_kind"])
bad = {k: v for k, v in kinds.items() if k != "http_5xx"}
if bad:
    problems.append(f"at {double}/s some requests were not answered: {bad}")
if kinds.get("http_5xx", 0) > shed:
    problems.append(f"at {double}/s {kinds['http_5xx']} requests got 5xx but Sluice shed only {shed} (the rest are errors)")
if ceiling_mib and d["peak_rss_mb"] is not None and d["peak_rss_mb"] > ceiling_mib:
    problems.append(f"peak RSS {d['peak_rss_mb']} MiB is over the {mem} ceiling")
summary = {
    "knee_rps": knee, "pinning": pinning, "memory_limit": mem, "step_s": d["window_s"],
    "half": {k: h[k] for k in ("rate", "achieved_rps", "ok", "p50_ms", "p99_ms", "errors", "errors_by_kind", "cpu_us_per_req", "peak_rss_mb")},
    "double": {k: d[k] for k in ("rate", "achieved_rps", "ok", "p50_ms", "p99_ms", "errors", "errors_by_kind", "cpu_us_per_req", "peak_rss_mb")},
    "shed_during_run": shed,
    "p99_ratio": round(d["p99_ms"] / h["p99_ms"], 2) if h["p99_ms"] else None,
    "problems": problems,
}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
sent = d["ok"] + d["errors"]
md = [f"Knee {knee}/s (L1, in front of the mock; {pinning}); memory_limit {mem}.", "",
      "| offered | sent/s | served | shed (503) | other errors | served p50 ms | served p99 ms | peak RSS MiB |",
      "|---:|---:|---:|---:|---:|---:|---:|---:|"]
for s in (h, d):
    k = dict(s["errors_by_kind"])
    md.append(f"| {s['rate']}/s | {s['achieved_rps']:.0f} | {s['ok']} | {k.get('http_5xx', 0)} | {s['errors'] - k.get('http_5xx', 0)} | {s['p50_ms']} | {s['p99_ms']} | {s['peak_rss_mb']} |")
md += ["", f"p99 of served requests at twice the knee / at half: {summary['p99_ratio']}×."]
md += [""] + [f"PROBLEM: {p}" for p in problems]
open(f"{out}/summary.md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
sys.exit(1 if problems else 0)
PY
