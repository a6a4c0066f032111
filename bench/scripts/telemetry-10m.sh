#!/bin/bash
# telemetry-10m.sh [-n ROWS] [-d DAYS] [-w WRITERS] [-r RUNS] [-D] [-q]
#
# Loads ROWS request-log rows (default 10,000,000, over the last DAYS days, default 30) into
# the PostgreSQL database at $SLUICE_BENCH_POSTGRES through Sluice's own telemetry sink
# (binary COPY in batches of 1000, WRITERS concurrent writers, default 2; the schema and
# day partitions are created as sluice serve would), rolls up every day before today into
# the usage rollups (as the sink does once each day ends), runs ANALYZE, then times the admin
# API's logs and usage queries (RUNS runs each, default 5) and prints a Markdown table:
# rows answered, median and slowest time. The loader is bench/telemetry-load.
#
# Use a database of its own: the load refuses one whose request_logs already holds rows
# (run with -q to time the queries again on what is there). For example:
#
#   createdb -h 127.0.0.1 -U postgres sluice_bench
#   SLUICE_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/sluice_bench?sslmode=disable \
#       bench/scripts/telemetry-10m.sh
#   dropdb -h 127.0.0.1 -U postgres sluice_bench
#
# 10 million rows take about 4.5 GB on disk (table and indexes; 455 MB per million measured).
#
#   -n ROWS     rows to load (default 10000000)
#   -d DAYS     days the rows span, ending now (default 30)
#   -w WRITERS  concurrent writers (default 2)
#   -r RUNS     runs of each query (default 5)
#   -D          write through the de-duplicating path (staging table + ON CONFLICT)
#   -q          skip loading; time the queries on the rows already there
set -euo pipefail

rows=10000000 days=30 writers=2 runs=5 extra=()
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2; }
while getopts "n:d:w:r:Dqh" opt; do
	case $opt in
	n) rows=$OPTARG ;;
	d) days=$OPTARG ;;
	w) writers=$OPTARG ;;
	r) runs=$OPTARG ;;
	D) extra+=(-dedup) ;;
	q) extra+=(-queries-only) ;;
	*) usage ;;
	esac
done
if [ -z "${SLUICE_BENCH_POSTGRES:-}" ]; then
	echo "telemetry-10m.sh: set SLUICE_BENCH_POSTGRES to the postgres:// URL of a database of its own" >&2
	exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd "$root" && go build -o "$bin/telemetry-load" ./bench/telemetry-load)

echo "# telemetry query times, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -srm), $(nproc) cores"
"$bin/telemetry-load" -rows "$rows" -days "$days" -workers "$writers" -runs "$runs" "${extra[@]}"
