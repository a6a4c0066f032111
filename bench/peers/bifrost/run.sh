#!/bin/bash
# run.sh start BINARY | stop | pid | status | config — Bifrost (Go) as a bench peer.
#
#   start BINARY  write a minimal passthrough config.json (one OpenAI provider whose
#                 base_url is the mock, logging and the config store off) into $BIFROST_DIR
#                 and run BINARY (Bifrost's HTTP transport, e.g. bifrost-http v1.4.19) on
#                 127.0.0.1:$PORT with -app-dir $BIFROST_DIR; wait until a chat completion
#                 for openai/gpt-4o-mini reaches the mock through it
#   stop          stop what "start" started
#   pid           print its PID (the one to measure)
#   status        print its PID and port, exit 1 when not running
#   config        print the config.json that "start" writes
#
# Bifrost is not installed by this script: build or download it yourself and pass the path.
# PORT defaults to 8400, UPSTREAM (root URL of the mock) to http://127.0.0.1:9000, BIFROST_DIR
# to /tmp/sluice-bifrost. Bench it as a target with model openai/gpt-4o-mini:
#   sluice bench ... --target bifrost=http://127.0.0.1:8400 --model bifrost=openai/gpt-4o-mini
set -euo pipefail

port=${PORT:-8400}
upstream=${UPSTREAM:-http://127.0.0.1:9000}
dir=${BIFROST_DIR:-/tmp/sluice-bifrost}
pidfile=$dir/bifrost-$port.pid
cmd=${1:-}

die() { echo "bifrost: $*" >&2; exit 1; }

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

# The same minimal setup as the seed benchmark's "pure passthrough": one provider, one
# key (the mock ignores it), no request logging, no config database, no retries.
config() {
	cat <<JSON
{
  "client": {
    "drop_excess_requests": false,
    "enable_logging": false,
    "initial_pool_size": 5000
  },
  "providers": {
    "openai": {
      "keys": [
        { "name": "mock", "value": "sk-mock", "models": ["*"], "weight": 1.0 }
      ],
      "network_config": {
        "base_url": "$upstream",
        "default_request_timeout_in_seconds": 60,
        "max_retries": 0
      },
      "concurrency_and_buffer_size": { "concurrency": 1000, "buffer_size": 5000 }
    }
  },
  "config_store": { "enabled": false },
  "logs_store": { "enabled": false }
}
JSON
}

probe() {
	curl -fsS -o /dev/null -H 'Content-Type: application/json' \
		-d '{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' \
		"http://127.0.0.1:$port/v1/chat/completions" 2>/dev/null
}

case $cmd in
start)
	bin=${2:-}
	[[ -n $bin ]] || die "usage: run.sh start BINARY (the path of a Bifrost HTTP transport binary)"
	[[ -x $bin ]] || die "$bin is not an executable file"
	if p=$(running_pid); then die "already running (pid $p) on 127.0.0.1:$port"; fi
	mkdir -p "$dir"
	config >"$dir/config.json"
	"$bin" -app-dir "$dir" -host 127.0.0.1 -port "$port" -log-level warn >"$dir/bifrost-$port.log" 2>&1 &
	echo $! >"$pidfile"
	for _ in $(seq 100); do
		if probe; then
			echo "bifrost on http://127.0.0.1:$port -> $upstream (pid $(running_pid)); model openai/gpt-4o-mini"
			exit 0
		fi
		running_pid >/dev/null || die "bifrost exited; see $dir/bifrost-$port.log"
		sleep 0.2
	done
	kill "$(running_pid)" 2>/dev/null || true
	die "no answer through 127.0.0.1:$port (is the mock up at $upstream?); see $dir/bifrost-$port.log"
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
config)
	config
	;;
*)
	die "usage: run.sh start BINARY | stop | pid | status | config   (env PORT, UPSTREAM, BIFROST_DIR)"
	;;
esac
