#!/usr/bin/env bash
# run.sh up|down|status — three `sluice serve` instances on this machine,
# sharing a private Redis (limits, budgets) and a private PostgreSQL (keys,
# teams, spend, request logs), behind nginx as the load balancer.
#
#   up      start everything (building the binary unless SLUICE_BIN is set)
#           and return once every instance's /readyz says ready
#   status  print what runs where; exit 0 when everything is up, 1 otherwise
#   down    stop everything `up` started and remove the state directory
#
# Environment (all optional):
#   LB_PORT             nginx's port on 127.0.0.1            (default 8090)
#   SLUICE_ADMIN_TOKEN  admin API bearer token              (default dev-admin-token)
#   SLUICE_UPSTREAM     root of the upstream; when unset, the mock on
#                       127.0.0.1:$MOCK_PORT (default 9000), started by `up`
#                       unless something already listens there
#   MULTI_DIR           state: pids, logs, data             (default /tmp/sluice-multi)
#   SLUICE_BIN          a sluice binary to run instead of building one
#   INSTANCE_PORTS      the three instances' ports, e.g. "8091 8092 8093"
#   REDIS_PORT, PG_PORT private Redis and PostgreSQL ports
#                       (default: the first free ports above LB_PORT)
#
# Everything listens on 127.0.0.1 only and lives in MULTI_DIR; the machine's
# own Redis and PostgreSQL servers (if any) are never touched, only their
# binaries are used. nginx-light is installed with apt-get when nginx is
# missing (as root).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${MULTI_DIR:-/tmp/sluice-multi}
state=$dir/ports.env # written by up, read by status and down; marks the directory as ours
token=${SLUICE_ADMIN_TOKEN:-dev-admin-token}

say() { echo "multi-instance: $*"; }
die() {
	echo "multi-instance: $*" >&2
	exit 1
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# readpid PIDFILE: the pid in PIDFILE; fails when there is none (a process
# that exits removes its pid file at any moment: nginx on QUIT does).
readpid() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	echo "$pid"
}

# alive PIDFILE WORD: the process in PIDFILE runs and its command line holds
# WORD (so a recycled pid is never taken for ours).
alive() {
	local pid
	pid=$(readpid "$1") || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	[[ ! -r /proc/$pid/cmdline ]] || tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}

# stop PIDFILE WORD [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 10).
stop() {
	local pid i
	alive "$1" "$2" || return 0
	pid=$(readpid "$1") || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < ${3:-10} * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

http_ok() { curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null; }

redis_ping() {
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf 'PING\r\n' >&3
	IFS= read -r -t 2 line <&3 || true
	exec 3>&-
	[[ $line == +PONG* ]]
}

# pg_bin: the directory of the newest initdb under /usr/lib/postgresql, or
# of the one on PATH.
pg_bin() {
	local d
	d=$(find /usr/lib/postgresql -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n1)
	if [[ -z $d ]]; then d=$(command -v initdb || true); fi
	[[ -n $d ]] || return 1
	dirname "$(readlink -f "$d")"
}

# as_pg CMD...: PostgreSQL refuses to run as root, so as root its binaries
# run as the postgres OS user, in a directory it may enter.
as_pg() (
	cd "$dir"
	if ((EUID != 0)); then
		"$@"
	elif command -v runuser >/dev/null; then
		runuser -u postgres -- "$@"
	else
		setpriv --reuid="$(id -u postgres)" --regid="$(id -g postgres)" --init-groups "$@"
	fi
)

nginx_bin() { command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; }; }

# pick_ports: INSTANCE_PORTS, REDIS_PORT and PG_PORT from the environment,
# or the first free ports above LB_PORT.
pick_ports() {
	local want=() given v
	taken=" $lb_port " next_port=$lb_port
	read -r -a given <<<"${INSTANCE_PORTS:-}"
	if ((${#given[@]})); then
		((${#given[@]} == 3)) || die "INSTANCE_PORTS must name 3 ports, got '${INSTANCE_PORTS}'"
		want=("${given[@]}")
	fi
	for v in "${want[@]}" "${REDIS_PORT:-}" "${PG_PORT:-}"; do
		[[ -z $v ]] && continue
		port_busy "$v" && die "port $v on 127.0.0.1 is taken (INSTANCE_PORTS, REDIS_PORT, PG_PORT)"
		taken+="$v "
	done
	while ((${#want[@]} < 3)); do
		next_free
		want+=("$next_port")
	done
	instance_ports="${want[*]}"
	redis_port=${REDIS_PORT:-}
	if [[ -z $redis_port ]]; then
		next_free
		redis_port=$next_port
	fi
	pg_port=${PG_PORT:-}
	if [[ -z $pg_port ]]; then
		next_free
		pg_port=$next_port
	fi
}

# next_free sets next_port to the first port above it that is free and not
# in taken (no subshell: both must outlive the call).
next_free() {
	next_port=$((next_port + 1))
	while port_busy "$next_port" || [[ $taken == *" $next_port "* ]]; do next_port=$((next_port + 1)); done
	taken+="$next_port "
}

ensure_nginx() {
	[[ -n $(nginx_bin) ]] && return 0
	"$here/../../scripts/install-nginx.sh" || die "no nginx"
	[[ -n $(nginx_bin) ]] || die "nginx-light installed but no nginx binary found"
}

write_nginx_conf() {
	local p servers=""
	for p in $instance_ports; do
		servers+="        server 127.0.0.1:$p max_fails=2 fail_timeout=10s;"$'\n'
	done
	mkdir -p "$dir/nginx"
	cat >"$dir/nginx/nginx.conf" <<EOF
# Generated by examples/multi-instance/run.sh; rewritten on every up.
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;

events {
    worker_connections 4096;
}

http {
    log_format lb '\$remote_addr "\$request" \$status upstream=\$upstream_addr upstream_status=\$upstream_status \$request_time';
    access_log $dir/nginx/access.log lb;
    server_tokens off;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    fastcgi_temp_path $dir/nginx/fastcgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;

    # Passive health checks: an instance that fails max_fails times (a
    # refused or timed-out connection, as proxy_next_upstream defines a
    # failure) within fail_timeout is set aside for fail_timeout, then
    # tried again. Sluice's own 5xx (an upstream LLM's failure) are answers,
    # not instance failures, so they are passed on and never retried.
    upstream sluice {
$servers        keepalive 64;
    }

    server {
        listen 127.0.0.1:$lb_port;

        # Every path goes to the instances: /v1/, /admin/v1/, /readyz, /metrics.
        location / {
            proxy_pass http://sluice;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            # A request that could not reach an instance goes to the next
            # one; nginx never resends a POST once it was sent.
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
            # Streams: events are relayed as they arrive, for up to 10 min.
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 600s;
            client_max_body_size 0;
            # Which instance answered (for the test and for curious humans).
            add_header X-LB-Upstream \$upstream_addr always;
        }
    }
}
EOF
}

up() {
	if [[ -e $state ]]; then
		if status >/dev/null 2>&1; then
			say "already up"
			status
			return 0
		fi
		die "$dir holds a setup that is not fully up: run '$0 down' first"
	fi
	if [[ -e $dir ]] && [[ -n $(ls -A "$dir") ]]; then
		die "$dir exists and is not a multi-instance state directory: choose another MULTI_DIR"
	fi
	command -v curl >/dev/null || die "curl not found"
	command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
	local pgbin
	pgbin=$(pg_bin) || die "initdb not found in /usr/lib/postgresql/*/bin or on PATH (apt-get install postgresql)"
	if ((EUID == 0)); then
		id postgres >/dev/null 2>&1 || die "running as root and there is no postgres OS user to run PostgreSQL as"
	fi
	ensure_nginx
	port_busy "$lb_port" && die "port $lb_port on 127.0.0.1 is taken (set LB_PORT)"
	pick_ports

	local bin=${SLUICE_BIN:-} upstream=${SLUICE_UPSTREAM:-} mock_port=""
	if [[ -n $bin ]]; then
		[[ -x $bin ]] || die "SLUICE_BIN=$bin is not an executable"
		bin=$(readlink -f "$bin")
	fi
	if [[ -z $upstream ]]; then
		mock_port=${MOCK_PORT:-9000}
		upstream=http://127.0.0.1:$mock_port
	fi
	mkdir -p "$dir"
	chmod 755 "$dir"
	cat >"$state" <<EOF
LB_PORT=$lb_port
INSTANCE_PORTS="$instance_ports"
REDIS_PORT=$redis_port
PG_PORT=$pg_port
UPSTREAM=$upstream
PG_BIN=$pgbin
EOF
	# From here on a failure stops whatever was started.
	trap 'echo "multi-instance: up failed; stopping what was started" >&2; down >/dev/null 2>&1 || true' EXIT

	if [[ -z $bin ]]; then
		say "building sluice into $dir/sluice"
		PATH=$PATH:/usr/local/go/bin
		(cd "$root" && go build -trimpath -o "$dir/sluice" ./cmd/sluice)
		bin=$dir/sluice
	fi

	if [[ -n $mock_port ]]; then
		if port_busy "$mock_port"; then
			say "something already listens on 127.0.0.1:$mock_port: using it as the upstream"
		else
			nohup "$bin" mock --listen "127.0.0.1:$mock_port" >"$dir/mock.log" 2>&1 </dev/null &
			echo $! >"$dir/mock.pid"
		fi
	fi

	redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
		--daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" >/dev/null

	mkdir -p "$dir/pg"
	((EUID != 0)) || chown postgres: "$dir/pg"
	as_pg "$pgbin/initdb" -D "$dir/pg/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
		die "initdb failed: $(tail -n 20 "$dir/initdb.log")"
	as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 \
		-o "-p $pg_port -c listen_addresses=127.0.0.1 -k $dir/pg -c fsync=off" start >/dev/null ||
		die "PostgreSQL did not start: $(tail -n 20 "$dir/pg/server.log")"
	"$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres sluice
	for _ in $(seq 50); do redis_ping "$redis_port" && break; sleep 0.1; done
	redis_ping "$redis_port" || die "Redis did not answer: $(tail -n 20 "$dir/redis.log")"

	local i=0 p
	for p in $instance_ports; do
		i=$((i + 1))
		mkdir -p "$dir/sluice-$i"
		SLUICE_LISTEN=127.0.0.1:$p SLUICE_DATA_DIR=$dir/sluice-$i SLUICE_UPSTREAM=$upstream \
			SLUICE_ADMIN_TOKEN=$token SLUICE_REDIS_URL=redis://127.0.0.1:$redis_port/0 \
			SLUICE_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/sluice?sslmode=disable" \
			nohup "$bin" serve --config "$here/sluice.yaml" >"$dir/sluice-$i.log" 2>&1 </dev/null &
		echo $! >"$dir/sluice-$i.pid"
	done
	i=0
	for p in $instance_ports; do
		i=$((i + 1))
		for _ in $(seq 600); do
			http_ok "http://127.0.0.1:$p/readyz" && break
			alive "$dir/sluice-$i.pid" serve || die "instance $i exited: $(tail -n 20 "$dir/sluice-$i.log")"
			sleep 0.1
		done
		http_ok "http://127.0.0.1:$p/readyz" || die "instance $i not ready after 60 s: $(tail -n 20 "$dir/sluice-$i.log")"
	done

	write_nginx_conf
	local nginx
	nginx=$(nginx_bin)
	"$nginx" -t -q -p "$dir/nginx" -e "$dir/nginx/error.log" -c "$dir/nginx/nginx.conf"
	"$nginx" -p "$dir/nginx" -e "$dir/nginx/error.log" -c "$dir/nginx/nginx.conf"
	for _ in $(seq 50); do http_ok "http://127.0.0.1:$lb_port/readyz" && break; sleep 0.1; done
	http_ok "http://127.0.0.1:$lb_port/readyz" || die "no answer through nginx: $(tail -n 20 "$dir/nginx/error.log")"

	trap - EXIT
	status
	cat <<EOF

Try:
  curl -s http://127.0.0.1:$lb_port/v1/chat/completions -H 'Authorization: Bearer sk-bench-0001' \\
    -H 'Content-Type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
EOF
}

status() {
	[[ -s $state ]] || {
		say "not up ($state missing)"
		return 1
	}
	local LB_PORT INSTANCE_PORTS REDIS_PORT PG_PORT UPSTREAM PG_BIN ok=0 i=0 p
	# shellcheck disable=SC1090 # written by up
	source "$state"
	check() { # NAME DETAIL CMD...
		local name=$1 detail=$2
		shift 2
		if "$@"; then
			printf '  %-10s up    %s\n' "$name" "$detail"
		else
			printf '  %-10s DOWN  %s\n' "$name" "$detail"
			ok=1
		fi
	}
	echo "state: $dir"
	check nginx "http://127.0.0.1:$LB_PORT (load balancer)" http_ok "http://127.0.0.1:$LB_PORT/readyz"
	for p in $INSTANCE_PORTS; do
		i=$((i + 1))
		check "sluice-$i" "http://127.0.0.1:$p" http_ok "http://127.0.0.1:$p/readyz"
	done
	check redis "redis://127.0.0.1:$REDIS_PORT" redis_ping "$REDIS_PORT"
	check postgres "postgres://postgres@127.0.0.1:$PG_PORT/sluice" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"
	if [[ -e $dir/mock.pid ]]; then
		check mock "$UPSTREAM (started by up)" alive "$dir/mock.pid" mock
	fi
	return "$ok"
}

down() {
	if [[ ! -e $state ]]; then
		if [[ -e $dir ]] && [[ -n $(ls -A "$dir") ]]; then
			die "$dir is not a multi-instance state directory: leaving it alone"
		fi
		rm -rf "$dir"
		say "not up"
		return 0
	fi
	local PG_BIN="" i
	# shellcheck disable=SC1090 # written by up
	source "$state"
	local npid
	if alive "$dir/nginx/nginx.pid" nginx && npid=$(readpid "$dir/nginx/nginx.pid"); then
		kill -QUIT "$npid" || true
		for _ in $(seq 50); do alive "$dir/nginx/nginx.pid" nginx || break; sleep 0.1; done
		stop "$dir/nginx/nginx.pid" nginx 1
	fi
	# The instances first (they write spend and request logs on the way
	# out), with the mock; then Redis and PostgreSQL. Each group in parallel.
	local waits=()
	for i in 1 2 3; do
		stop "$dir/sluice-$i.pid" serve 15 &
		waits+=($!)
	done
	stop "$dir/mock.pid" mock &
	waits+=($!)
	wait "${waits[@]}"
	waits=()
	stop "$dir/redis.pid" redis-server &
	waits+=($!)
	if [[ -n $PG_BIN && -e $dir/pg/data/postmaster.pid ]]; then
		{
			as_pg "$PG_BIN/pg_ctl" -D "$dir/pg/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
				as_pg "$PG_BIN/pg_ctl" -D "$dir/pg/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
		} &
		waits+=($!)
	fi
	wait "${waits[@]}"
	rm -rf "$dir"
	say "stopped; $dir removed"
}

lb_port=${LB_PORT:-8090}
case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
*) die "usage: $0 up|down|status   (see the top of this file for the environment)" ;;
esac
