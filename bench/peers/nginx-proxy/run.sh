#!/bin/bash
# run.sh [start|fg|stop|pid|status] — nginx proxy_pass in front of the mock, as a bench peer.
#
#   start   (default) run nginx as a daemon on 127.0.0.1:$PORT, proxying to $UPSTREAM,
#           and wait until it answers a chat completion
#   fg      run it in the foreground (Ctrl-C stops it)
#   stop    stop the daemon started by "start"
#   pid     print the PID of its single worker process (the one to measure)
#   status  print master and worker PIDs, exit 1 when not running
#
# PORT defaults to 9300, UPSTREAM (host:port of the mock) to 127.0.0.1:9000. Everything
# nginx writes lives in /tmp/sluice-nginx-proxy-$PORT. Loopback only.
set -euo pipefail

port=${PORT:-9300}
upstream=${UPSTREAM:-127.0.0.1:9000}
here=$(cd "$(dirname "$0")" && pwd)
prefix=/tmp/sluice-nginx-proxy-$port
nginx_bin=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
cmd=${1:-start}

die() { echo "nginx-proxy: $*" >&2; exit 1; }

case $upstream in
127.*:* | localhost:*) ;;
*) die "UPSTREAM must be a loopback host:port, got '$upstream'" ;;
esac

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
	sed -e "s|__PORT__|$port|g" -e "s|__UPSTREAM__|$upstream|g" -e "s|__PREFIX__|$prefix|g" \
		-e "s|__DAEMON__|$1|g" "$here/nginx.conf" >"$prefix/nginx.conf"
	"$nginx_bin" -t -q -p "$prefix" -e "$prefix/error.log" -c "$prefix/nginx.conf"
}

case $cmd in
start)
	if m=$(master_pid); then die "already running (master $m) on 127.0.0.1:$port"; fi
	render on
	"$nginx_bin" -p "$prefix" -e "$prefix/error.log" -c "$prefix/nginx.conf"
	for _ in $(seq 50); do
		if curl -fsS -o /dev/null -H 'Content-Type: application/json' \
			-d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' \
			"http://127.0.0.1:$port/v1/chat/completions" 2>/dev/null; then
			echo "nginx proxy on http://127.0.0.1:$port -> $upstream (master $(master_pid), worker $(worker_pid))"
			exit 0
		fi
		sleep 0.1
	done
	kill -QUIT "$(master_pid)" 2>/dev/null || true
	die "no answer through 127.0.0.1:$port (is the mock up on $upstream?); see $prefix/error.log"
	;;
fg)
	if m=$(master_pid); then die "already running (master $m) on 127.0.0.1:$port"; fi
	render off
	echo "nginx proxy on http://127.0.0.1:$port -> $upstream (foreground; Ctrl-C to stop)" >&2
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
	echo "master $m worker $(worker_pid) port $port upstream $(awk '$1 == "server" { sub(/;/, "", $2); print $2; exit }' "$prefix/nginx.conf") prefix $prefix"
	;;
*)
	die "usage: run.sh [start|fg|stop|pid|status]   (env PORT, default 9300; UPSTREAM, default 127.0.0.1:9000)"
	;;
esac
