#!/bin/bash
# run.sh [start|fg|stop|pid|status] — the static upstream for proxy measurements.
#
#   start   (default) run nginx-light as a daemon on 127.0.0.1:$PORT and wait until it answers
#   fg      run it in the foreground (Ctrl-C stops it)
#   stop    stop the daemon started by "start"
#   pid     print the PID of its single worker process (the one to measure)
#   status  print master and worker PIDs, exit 1 when not running
#
# PORT defaults to 9100. Everything nginx writes lives in /tmp/sluice-static-upstream-$PORT;
# the answer is a fixed OpenAI chat.completion JSON (see nginx.conf beside this script).
set -euo pipefail

port=${PORT:-9100}
here=$(cd "$(dirname "$0")" && pwd)
prefix=/tmp/sluice-static-upstream-$port
nginx_bin=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
cmd=${1:-start}

die() { echo "run.sh: $*" >&2; exit 1; }

master_pid() {
	[[ -s $prefix/nginx.pid ]] || return 1
	local p
	p=$(<"$prefix/nginx.pid")
	kill -0 "$p" 2>/dev/null || return 1
	echo "$p"
}

worker_pid() {
	local m w
	m=$(master_pid) || return 1
	w=$(pgrep -P "$m" | head -n1) || return 1
	[[ -n $w ]] || return 1
	echo "$w"
}

render() { # $1 = on|off (daemon)
	[[ -x $nginx_bin ]] || die "nginx not found (apt-get install nginx-light, or set NGINX)"
	mkdir -p "$prefix"
	sed -e "s|__PORT__|$port|g" -e "s|__PREFIX__|$prefix|g" -e "s|__DAEMON__|$1|g" \
		"$here/nginx.conf" >"$prefix/nginx.conf"
	cp "$here/stream.sse" "$prefix/stream.sse"
	"$nginx_bin" -t -q -p "$prefix" -e "$prefix/error.log" -c "$prefix/nginx.conf"
}

case $cmd in
start)
	if m=$(master_pid); then die "already running (master $m) on 127.0.0.1:$port"; fi
	render on
	"$nginx_bin" -p "$prefix" -e "$prefix/error.log" -c "$prefix/nginx.conf"
	for _ in $(seq 50); do
		if curl -fsS -o /dev/null -X POST "http://127.0.0.1:$port/v1/chat/completions" 2>/dev/null; then
			echo "static upstream on http://127.0.0.1:$port (master $(master_pid), worker $(worker_pid))"
			exit 0
		fi
		sleep 0.1
	done
	die "nginx did not answer on 127.0.0.1:$port; see $prefix/error.log"
	;;
fg)
	if m=$(master_pid); then die "already running (master $m) on 127.0.0.1:$port"; fi
	render off
	echo "static upstream on http://127.0.0.1:$port (foreground; Ctrl-C to stop)" >&2
	exec "$nginx_bin" -p "$prefix" -e "$prefix/error.log" -c "$prefix/nginx.conf"
	;;
stop)
	m=$(master_pid) || { echo "not running"; exit 0; }
	kill -QUIT "$m"
	for _ in $(seq 50); do kill -0 "$m" 2>/dev/null || { echo "stopped"; exit 0; }; sleep 0.1; done
	kill -TERM "$m"
	;;
pid)
	worker_pid || die "not running on port $port"
	;;
status)
	m=$(master_pid) || { echo "not running"; exit 1; }
	echo "master $m worker $(worker_pid) port $port prefix $prefix"
	;;
*)
	die "usage: run.sh [start|fg|stop|pid|status]   (env PORT, default 9100)"
	;;
esac
