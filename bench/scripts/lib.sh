# shellcheck shell=bash
# lib.sh — helpers the bench scripts source (make-bench.sh, overload.sh).

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_ready URL SECONDS PID: until URL answers 2xx, while PID lives.
wait_ready() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
