#!/bin/bash
# run.sh [install|start|stop|pid|status|headers] — the Portkey AI gateway (Node) as a bench peer.
#
#   install  npm-install @portkey-ai/gateway@1.15.2 into $PORTKEY_DIR, with its dependency
#            @hono/node-server pinned to 1.13.8 through npm "overrides" (later versions
#            break its streaming); needs the npm registry once
#   start    (default) install if needed, run the gateway on port $PORT (NODE_ENV=production,
#            --headless), wait until a chat completion through it reaches the mock
#   stop     stop the gateway started by "start"
#   pid      print its PID (the one to measure)
#   status   print its PID and port, exit 1 when not running
#   headers  print the sluice bench flags that route a target named "portkey" to the mock
#
# PORT defaults to 8787, UPSTREAM (root URL of the mock) to http://127.0.0.1:9000, PORTKEY_DIR
# to /tmp/sluice-portkey. Portkey listens on every interface (it has no flag to bind one);
# this script and the bench only ever talk to it on 127.0.0.1.
#
# Portkey routes by headers: x-portkey-provider: openai and x-portkey-custom-host: the mock's
# /v1 root; the Authorization header is passed to the mock as the provider key.
set -euo pipefail

version=1.15.2
node_server=1.13.8
port=${PORT:-8787}
upstream=${UPSTREAM:-http://127.0.0.1:9000}
dir=${PORTKEY_DIR:-/tmp/sluice-portkey}
pidfile=$dir/gateway-$port.pid
cmd=${1:-start}

die() { echo "portkey: $*" >&2; exit 1; }

case $upstream in
http://127.* | http://localhost*) ;;
*) die "UPSTREAM must be a loopback root URL, got '$upstream'" ;;
esac

running_pid() {
	[[ -s $pidfile ]] || return 1
	local p
	p=$(<"$pidfile")
	kill -0 "$p" 2>/dev/null || return 1
	echo "$p"
}

install() {
	command -v npm >/dev/null || die "npm not found (apt-get install nodejs npm)"
	if [[ -f $dir/node_modules/@portkey-ai/gateway/build/start-server.js ]] &&
		grep -q "\"version\": \"$version\"" "$dir/node_modules/@portkey-ai/gateway/package.json"; then
		return 0
	fi
	mkdir -p "$dir"
	cat >"$dir/package.json" <<JSON
{
  "private": true,
  "dependencies": { "@portkey-ai/gateway": "$version" },
  "overrides": { "@hono/node-server": "$node_server" }
}
JSON
	echo "portkey: npm install @portkey-ai/gateway@$version into $dir" >&2
	(cd "$dir" && timeout 600 npm install --no-audit --no-fund --loglevel=error) ||
		die "npm install failed (the npm registry must be reachable once)"
	grep -q "\"version\": \"$node_server\"" "$dir/node_modules/@hono/node-server/package.json" ||
		die "@hono/node-server is not $node_server after install"
}

probe() {
	curl -fsS -o /dev/null -H 'Content-Type: application/json' -H 'x-portkey-provider: openai' \
		-H "x-portkey-custom-host: $upstream/v1" -H 'Authorization: Bearer sk-mock' \
		-d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' \
		"http://127.0.0.1:$port/v1/chat/completions" 2>/dev/null
}

case $cmd in
install)
	install
	;;
start)
	if p=$(running_pid); then die "already running (pid $p) on 127.0.0.1:$port"; fi
	install
	(cd "$dir" && NODE_ENV=production exec node node_modules/@portkey-ai/gateway/build/start-server.js \
		--port="$port" --headless >"$dir/gateway-$port.log" 2>&1) &
	echo $! >"$pidfile"
	for _ in $(seq 100); do
		if probe; then
			echo "portkey $version on http://127.0.0.1:$port -> $upstream/v1 (pid $(running_pid))"
			exit 0
		fi
		running_pid >/dev/null || die "the gateway exited; see $dir/gateway-$port.log"
		sleep 0.2
	done
	kill "$(running_pid)" 2>/dev/null || true
	die "no answer through 127.0.0.1:$port (is the mock up at $upstream?); see $dir/gateway-$port.log"
	;;
stop)
	p=$(running_pid) || { echo "not running"; exit 0; }
	kill "$p"
	for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || { rm -f "$pidfile"; echo "stopped"; exit 0; }; sleep 0.1; done
	kill -KILL "$p"
	rm -f "$pidfile"
	;;
pid)
	running_pid || die "not running on port $port"
	;;
status)
	p=$(running_pid) || { echo "not running"; exit 1; }
	echo "pid $p port $port upstream $upstream dir $dir"
	;;
headers)
	printf '%s\n' "--header portkey=x-portkey-provider:openai" \
		"--header portkey=x-portkey-custom-host:$upstream/v1" \
		"--header 'portkey=Authorization:Bearer sk-mock'"
	;;
*)
	die "usage: run.sh [install|start|stop|pid|status|headers]   (env PORT, UPSTREAM, PORTKEY_DIR)"
	;;
esac
