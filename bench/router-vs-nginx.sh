#!/usr/bin/env bash
# router-vs-nginx.sh: serve one tiny backend through slipway's router and
# through nginx, side by side in one run, and compare requests/s and p99.
#
#   bash bench/router-vs-nginx.sh                       # DURATION=10 ROUNDS=2
#   DURATION=20 ROUNDS=3 CONNECTIONS=64 THREADS=2 INSTANCES=2 bash bench/router-vs-nginx.sh
#   PROFILE=/tmp/router.pprof bash bench/router-vs-nginx.sh   # also CPU-profile the router
#
# What runs, all on 127.0.0.1:
#   backend      bench/backend: INSTANCES listeners (default 2) in one Go
#                process, "hello world\n" for every request, keep-alive.
#   router       bench/routerbench: slipway's router.Router behind an
#                http.Server set up as `slipway serve` sets it up; app
#                "bench" with the backend's instances as its live pool.
#   nginx        the distribution's nginx with a generated config: the same
#                upstreams (round robin, keepalive 64), HTTP/1.1 to them, and
#                the headers the router sets (Host, X-Forwarded-For/-Host/-Proto).
#   wrk          wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency
#                -H 'Host: bench.localhost', against each proxy in turn:
#                router, nginx, router, nginx, ... (ROUNDS pairs), after a
#                warm-up of each, so that drift of the machine hits both.
#
# Fairness: wrk, both proxies and the backend share the machine's cores (2
# on the project's machines), so absolute numbers are low and noisy; the
# ratio is what to read, since both proxies face the same conditions and
# only one of them is loaded at a time. nginx runs `worker_processes auto`,
# one worker per core, which matches the router's default GOMAXPROCS (one P
# per core): each proxy may use every core, no more. Both keep connections
# to the upstreams open and neither caps requests per connection (nginx's
# keepalive_requests default of 1000 is lifted, as Go has no such cap).
# Both proxies get the same 2 upstreams, so each also does its load
# balancing; INSTANCES=1 compares plain forwarding.
#
# Installs nginx, wrk and curl with apt-get when missing (needs root or
# sudo). Everything it starts is stopped on exit; nothing is left behind.
set -euo pipefail

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
INSTANCES=${INSTANCES:-2}
WARMUP=${WARMUP:-3}
PROFILE=${PROFILE:-}
HOST=bench.localhost
[ "$ROUNDS" -ge 1 ] || { echo "bench: ROUNDS must be at least 1" >&2; exit 2; }
[ -z "$PROFILE" ] || PROFILE=$(realpath -m "$PROFILE") # routerbench runs in the repo root

cd "$(dirname "$0")/.."

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

# --- tools -----------------------------------------------------------------

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || die "need ${need[*]}: install them or run as root"
		sudo=(sudo)
	fi
	log "installing ${need[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v go >/dev/null || die "need the go toolchain"

# --- processes -------------------------------------------------------------

tmp=$(mktemp -d)
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop PID sends SIGTERM and waits, so that a program can finish its output
# (routerbench writes its CPU profile on the way out).
stop() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	local kept=() pid
	for pid in "${pids[@]}"; do
		[ "$pid" = "$1" ] || kept+=("$pid")
	done
	pids=("${kept[@]}")
}

# first_line FILE PID waits for PID to print its first line to FILE.
first_line() {
	for _ in $(seq 100); do
		if [ -s "$1" ]; then
			head -n1 "$1"
			return
		fi
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	die "$(basename "$1" .out) did not start: $(cat "${1%.out}.err" 2>/dev/null)"
}

# free_port prints a TCP port that no socket on this machine uses, below the
# kernel's ephemeral range so that no outgoing connection takes it meanwhile.
free_port() {
	local p used low
	low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	used=$(ss -Htan | awk '{n = split($4, a, ":"); print a[n]}')
	while :; do
		p=$((10000 + RANDOM % (low - 10000)))
		grep -qx "$p" <<<"$used" || { echo "$p"; return; }
	done
}

# check URL fails unless the proxy at URL answers with the backend's body.
check() {
	local got
	got=$(curl -fsS --max-time 5 -H "Host: $HOST" "$1/") || die "$1 does not answer: $got"
	[ "$got" = "hello world" ] || die "$1 answered '$got', not the backend's body"
}

log "building bench/backend and bench/routerbench"
go build -o "$tmp/backend" ./bench/backend
go build -o "$tmp/routerbench" ./bench/routerbench

"$tmp/backend" -n "$INSTANCES" >"$tmp/backend.out" 2>"$tmp/backend.err" &
pids+=("$!")
backends=$(first_line "$tmp/backend.out" $!)
log "backend instances: $backends"

rbflags=(-backend "$backends" -domain localhost)
[ -n "$PROFILE" ] && rbflags+=(-cpuprofile "$PROFILE")
"$tmp/routerbench" "${rbflags[@]}" >"$tmp/routerbench.out" 2>"$tmp/routerbench.err" &
router_pid=$!
pids+=("$router_pid")
router_url="http://$(first_line "$tmp/routerbench.out" $router_pid)"

nginx_port=$(free_port)
{
	cat <<EOF
daemon off;
master_process on;
worker_processes auto;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_timeout 120s;
	keepalive_requests 1000000;
	upstream bench {
EOF
	for b in $backends; do
		echo "		server $b;"
	done
	cat <<EOF
		keepalive 64;
		keepalive_requests 1000000;
	}
	server {
		listen 127.0.0.1:$nginx_port default_server;
		return 404;
	}
	server {
		listen 127.0.0.1:$nginx_port;
		server_name $HOST;
		location / {
			proxy_pass http://bench;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host \$host;
			proxy_set_header X-Forwarded-For \$remote_addr;
			proxy_set_header X-Forwarded-Host \$host;
			proxy_set_header X-Forwarded-Proto \$scheme;
		}
	}
}
EOF
} >"$tmp/nginx.conf"
"$NGINX" -e "$tmp/nginx.err" -p "$tmp" -c "$tmp/nginx.conf" >"$tmp/nginx.out" 2>&1 &
nginx_pid=$!
pids+=("$nginx_pid")
nginx_url="http://127.0.0.1:$nginx_port"
for _ in $(seq 50); do
	curl -fs --max-time 1 -o /dev/null -H "Host: $HOST" "$nginx_url/" && break
	kill -0 "$nginx_pid" 2>/dev/null || die "nginx did not start: $(cat "$tmp/nginx.err" "$tmp/nginx.out" 2>/dev/null)"
	sleep 0.1
done

check "$router_url"
check "$nginx_url"
log "router $router_url, nginx $nginx_url (worker_processes auto), $(nproc) cores"

# --- load ------------------------------------------------------------------

# to_ms converts wrk's latency ("850.00us", "2.20ms", "1.01s") to ms.
to_ms() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
		else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
		else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
		else { exit 1 }
	}'
}

# cpu_ticks PID... prints the CPU time (user + system, in clock ticks) that
# the processes and their children (nginx's workers) have used so far.
cpu_ticks() {
	local pids=("$@") p
	for p in "$@"; do
		mapfile -t -O "${#pids[@]}" pids < <(awk -v pp="$p" '$4 == pp {print $1}' /proc/[0-9]*/stat 2>/dev/null)
	done
	for p in "${pids[@]}"; do
		cat /proc/"$p"/task/*/stat 2>/dev/null
	done | awk '{t += $14 + $15} END {print t + 0}'
}
hz=$(getconf CLK_TCK)

# load NAME URL SECONDS PID runs wrk against the proxy at URL, whose process
# is PID, and prints "REQ_PER_SEC P99_MS CPU_US_PER_REQUEST".
load() {
	local out="$tmp/wrk-$1.txt" rps p99 n t0 t1
	t0=$(cpu_ticks "$4")
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3"s --latency -H "Host: $HOST" "$2/" >"$out" 2>&1 ||
		die "wrk against $1 failed: $(cat "$out")"
	t1=$(cpu_ticks "$4")
	if grep -q 'Non-2xx or 3xx' "$out"; then
		die "$1 answered with errors: $(cat "$out")"
	fi
	grep -q 'Socket errors' "$out" && log "$1: $(grep 'Socket errors' "$out")"
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	p99=$(awk '$1 == "99%" {print $2}' "$out")
	n=$(awk '/ requests in / {print $1}' "$out")
	if [ -z "$rps" ] || [ -z "$p99" ] || [ -z "$n" ]; then
		die "cannot read wrk's output: $(cat "$out")"
	fi
	echo "$rps $(to_ms "$p99") $(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$n" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')"
}

# busy prints the percentage of all CPUs that was in use over one second.
busy() {
	local a b
	a=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " "); u = y[1] - x[1]; i = y[2] - x[2]; printf "%.0f", (u + i > 0) ? 100 * u / (u + i) : 0}'
}

idle_busy=$(busy)
if [ "$idle_busy" -gt 10 ]; then
	log "warning: before the load, ${idle_busy}% of the CPUs were already busy with other work;"
	log "warning: requests/s will be noisy (CPU us/req and the ratios less so)"
fi
log "warming up both for ${WARMUP}s each"
load router "$router_url" "$WARMUP" "$router_pid" >/dev/null
load nginx "$nginx_url" "$WARMUP" "$nginx_pid" >/dev/null

results=()
for r in $(seq "$ROUNDS"); do
	log "round $r/$ROUNDS: router"
	rres=$(load router "$router_url" "$DURATION" "$router_pid")
	log "round $r/$ROUNDS: nginx"
	nres=$(load nginx "$nginx_url" "$DURATION" "$nginx_pid")
	results+=("$r $rres $nres")
done

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $INSTANCES upstream instance(s), $(nproc) cores shared by all"
printf '%s\n' "${results[@]}" | awk '
	BEGIN {
		f = "%-6s %12s %10s %10s %12s %10s %10s\n"
		printf f, "", "router", "router", "router", "nginx", "nginx", "nginx"
		printf f, "round", "req/s", "p99 ms", "CPU us/req", "req/s", "p99 ms", "CPU us/req"
		f = "%-6s %12.0f %10.2f %10.1f %12.0f %10.2f %10.1f\n"
	}
	{
		printf f, $1, $2, $3, $4, $5, $6, $7
		for (i = 2; i <= 7; i++) sum[i] += $i
		n++
	}
	END {
		for (i = 2; i <= 7; i++) m[i] = sum[i] / n
		printf f, "mean", m[2], m[3], m[4], m[5], m[6], m[7]
		printf "\nratio (router/nginx throughput): %.2f\n", m[2] / m[5]
		printf "ratio (router/nginx p99):        %.2f\n", m[3] / m[6]
		printf "ratio (router/nginx CPU/req):    %.2f\n", m[4] / m[7]
	}'
echo "(CPU us/req: CPU time of the proxy's own processes per request, from /proc; less"
echo " sensitive to other load on the machine than req/s.)"

if [ -n "$PROFILE" ]; then
	stop "$router_pid"
	echo
	echo "router CPU profile (whole run, warm-up included): $PROFILE"
	go tool pprof -top -nodecount=30 "$tmp/routerbench" "$PROFILE" 2>/dev/null || log "cannot read $PROFILE"
fi
