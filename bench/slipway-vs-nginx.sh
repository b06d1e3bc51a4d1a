#!/usr/bin/env bash
# slipway-vs-nginx.sh: the real `slipway serve` with a pushed app against
# nginx in front of the same app instances, side by side in one run.
#
#   bash bench/slipway-vs-nginx.sh                     # every suite, ROUNDS=3 DURATION=8
#   SUITES="http cookie" ROUNDS=5 bash bench/slipway-vs-nginx.sh
#   PROFILE=/tmp/slipway.pprof SUITES=http bash bench/slipway-vs-nginx.sh
#
# Suites (SUITES, space-separated; default all of them):
#   http       wrk -t$THREADS -c$CONNECTIONS, HTTP/1.1 keep-alive
#   cookie     the same, every request carrying slipway's affinity cookie
#   https      TLS 1.3 keep-alive, the same self-signed certificate for both
#   https-cookie  the same with the cookie
#   handshake  TLS 1.3 without keep-alive: a new connection and handshake per request
#   openloop   bench/loadgen at half of nginx's peak rate (wrk just before
#              each round), latency counted from when each request was
#              due; the two proxies loaded in turn, $SLICE at a time, in
#              one run
#   idle       bench/loadgen holds $IDLE idle keep-alive connections open:
#              the proxy's RSS before and after, and wrk's p99 on other
#              connections meanwhile against without them
#   idle-https the same over TLS
#   floor      (not in the default SUITES) the http suite with bench/floor,
#              the least a goroutine-per-connection Go proxy does, in
#              slipway's place
#   floor-openloop  (not in the default SUITES) the openloop suite with
#              bench/floor in slipway's place
#   hold       (not in the default SUITES) keeps everything running and
#              prints the addresses and pids, for measuring by hand
#
# What runs, all on 127.0.0.1:
#   slipway    `slipway serve` on a fresh data dir (built from this tree),
#              with app "bench" pushed over ssh: bench/backend as a
#              prebuilt binary, $INSTANCES web instances, its own
#              certificate added with certs:add.
#   nginx      the distribution's nginx with a generated config: the same
#              instances (the ports `slipway serve` gave them) as upstreams,
#              round robin, keepalive 64, HTTP/1.1, the headers slipway sets;
#              TLS 1.3 with the same certificate; worker_processes auto.
#   wrk        against each proxy in turn, slipway then nginx, ROUNDS
#              times per suite, after a warm-up of each.
#
# Fairness: everything shares the machine's cores (2 on the project's
# machines), so absolute numbers are low and noisy; read the ratios. The
# CPU time per request is each proxy's own processes' (slipway's one
# process, not its apps; nginx's master and workers), from /proc. nginx
# runs one worker per core and slipway one P per core. Neither caps
# requests per connection.
#
# Knobs: SUITES, DURATION, ROUNDS, CONNECTIONS, THREADS, INSTANCES, WARMUP,
# IDLE, SLICE (the open loop's turns), PEAK (seconds of wrk that measure
# nginx's peak before each open-loop round), PROFILE (a CPU profile of slipway over the whole run), KEEP=1
# (keep the work dir), SLIPWAY_ARGS (more `slipway serve` flags, such as
# --http-server net/http). Installs nginx, wrk, curl and openssl with apt-get
# when missing. Everything it starts is stopped on exit.
set -euo pipefail

SUITES=${SUITES:-http cookie https https-cookie handshake openloop idle idle-https}
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
INSTANCES=${INSTANCES:-2}
WARMUP=${WARMUP:-3}
IDLE=${IDLE:-10000}
SLICE=${SLICE:-20ms}
PEAK=${PEAK:-3}
PROFILE=${PROFILE:-}
KEEP=${KEEP:-}
read -r -a extra_args <<<"${SLIPWAY_ARGS:-}"
APP=bench
DOMAIN=bench.test
HOST=$APP.$DOMAIN
[ "$ROUNDS" -ge 1 ] || { echo "bench: ROUNDS must be at least 1" >&2; exit 2; }
[ -z "$PROFILE" ] || PROFILE=$(realpath -m "$PROFILE")

cd "$(dirname "$0")/.."

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

# --- tools -----------------------------------------------------------------

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
for t in wrk curl openssl ssh-keygen git python3; do
	command -v "$t" >/dev/null || need+=("$t")
done
need=("${need[@]/ssh-keygen/openssh-client}")
need=("${need[@]/python3/python3-minimal}")
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
# 10,000 idle connections need as many descriptors in wrk's, loadgen's and
# nginx's processes (Go raises its own soft limit).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# --- processes -------------------------------------------------------------

tmp=$(mktemp -d)
chmod 711 "$tmp"
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "$KEEP" ]; then
		log "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for WHAT SECONDS COMMAND... runs COMMAND until it succeeds.
wait_for() {
	local what=$1 n=$(($2 * 10))
	shift 2
	for _ in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && return
		sleep 0.1
	done
	die "timed out waiting for $what"
}

log "building slipway, bench/backend, bench/loadgen and bench/floor"
go build -o "$tmp/slipway" ./cmd/slipway
go build -o "$tmp/backend" ./bench/backend
go build -o "$tmp/loadgen" ./bench/loadgen
go build -o "$tmp/floor" ./bench/floor

# slipway, with a key to push with and limits that let the idle suite in.
data=$tmp/data home=$tmp/home
mkdir -p "$data" "$home"
chmod 700 "$data"
ssh-keygen -q -t ed25519 -N "" -C bench -f "$home/key"
cp "$home/key.pub" "$data/authorized_keys"
max=$((IDLE + 4 * CONNECTIONS + 1000))
HOME=$home SLIPWAY_CPUPROFILE=$PROFILE "$tmp/slipway" serve --data "$data" --domain "$DOMAIN" \
	--ssh-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --https-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 \
	--max-conns "$max" --max-conns-per-address "$max" "${extra_args[@]}" >"$tmp/slipway.log" 2>&1 &
slipway_pid=$!
pids+=("$slipway_pid")
wait_for "slipway to start" 60 grep -q "slipway ready" "$tmp/slipway.log"
addr() { sed -n "s/.*msg=listening service=$1 addr=\([^ ]*\).*/\1/p" "$tmp/slipway.log" | tail -n1; }
ssh_addr=$(addr ssh) http_addr=$(addr http) https_addr=$(addr https) admin_addr=$(addr admin)
[ -n "$http_addr" ] && [ -n "$https_addr" ] || die "slipway did not say where it listens: $(cat "$tmp/slipway.log")"
token=$(cat "$data/admin_token")
cli() { SLIPWAY_ADMIN_ADDR=$admin_addr SLIPWAY_ADMIN_TOKEN=$token "$tmp/slipway" "$@"; }

# The app: the prebuilt backend, pushed like any app.
repo=$tmp/repo
mkdir -p "$repo"
cp "$tmp/backend" "$repo/backend"
echo "web: ./backend" >"$repo/Procfile"
echo "{\"formation\": {\"web\": {\"quantity\": $INSTANCES}}}" >"$repo/app.json"
export GIT_SSH_COMMAND="ssh -i $home/key -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes"
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@bench.test GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@bench.test
(cd "$repo" && HOME=$home git init -q -b main && HOME=$home git add -A && HOME=$home git commit -qm bench &&
	HOME=$home git push -q "ssh://git@$ssh_addr/$APP" main >"$tmp/push.log" 2>&1) || die "push failed: $(cat "$tmp/push.log")"

# One certificate for both: slipway gets it with certs:add. It also names
# 127.0.0.1, the SNI wrk sends for a URL with an address.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$HOST" \
	-addext "subjectAltName=DNS:$HOST,IP:127.0.0.1" -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
cat "$tmp/cert.pem" "$tmp/key.pem" | cli certs:add "$APP" >/dev/null || die "certs:add failed"
cli certs:redirect "$APP" off >/dev/null # plain HTTP is served, as nginx serves it

upstreams=$(curl -fsS -H "Authorization: Bearer $token" "http://$admin_addr/api/apps/$APP" |
	python3 -c 'import json, sys; print(" ".join("127.0.0.1:%d" % p["port"] for p in json.load(sys.stdin)["processes"] if p["live"] and p["port"]))')
[ "$(wc -w <<<"$upstreams")" -eq "$INSTANCES" ] || die "want $INSTANCES instances, slipway runs: $upstreams"

# nginx, in front of the same instances.
free_port() {
	local p used low
	low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	used=$(ss -Htan | awk '{n = split($4, a, ":"); print a[n]}')
	while :; do
		p=$((10000 + RANDOM % (low - 10000)))
		grep -qx "$p" <<<"$used" || { echo "$p"; return; }
	done
}
nginx_http=$(free_port)
nginx_https=$(free_port)
{
	cat <<EOF
daemon off;
master_process on;
worker_processes auto;
worker_rlimit_nofile $((2 * max));
pid $tmp/nginx.pid;
error_log $tmp/nginx.err warn;
events { worker_connections $max; }
http {
	access_log off;
	keepalive_timeout 120s;
	keepalive_requests 1000000;
	ssl_protocols TLSv1.3;
	ssl_certificate $tmp/cert.pem;
	ssl_certificate_key $tmp/key.pem;
	upstream app {
EOF
	for u in $upstreams; do
		echo "		server $u;"
	done
	cat <<EOF
		keepalive 64;
		keepalive_requests 1000000;
	}
	server {
		listen 127.0.0.1:$nginx_http;
		listen 127.0.0.1:$nginx_https ssl;
		server_name $HOST;
		location / {
			proxy_pass http://app;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host \$host;
			proxy_set_header X-Forwarded-For \$remote_addr;
			proxy_set_header X-Forwarded-Host \$host;
			proxy_set_header X-Forwarded-Proto \$scheme;
			proxy_set_header X-Real-IP \$remote_addr;
		}
	}
}
EOF
} >"$tmp/nginx.conf"
"$NGINX" -e "$tmp/nginx.err" -p "$tmp" -c "$tmp/nginx.conf" >"$tmp/nginx.out" 2>&1 &
nginx_pid=$!
pids+=("$nginx_pid")

check() {
	local got
	got=$(curl -ksS --max-time 5 -H "Host: $HOST" "$1/" 2>&1) || die "$1 does not answer: $got"
	[ "$got" = "hello world" ] || die "$1 answered '$got', not the app's body"
}
wait_for "nginx to start" 10 curl -fs --max-time 1 -H "Host: $HOST" "http://127.0.0.1:$nginx_http/"
for u in "http://$http_addr" "https://$https_addr" "http://127.0.0.1:$nginx_http" "https://127.0.0.1:$nginx_https"; do
	check "$u"
done
cookie=$(curl -sS -D - -o /dev/null -H "Host: $HOST" "http://$http_addr/" | sed -n 's/^[Ss]et-[Cc]ookie: \(slipway_affinity=[^;]*\).*/\1/p' | tr -d '\r')
[ -n "$cookie" ] || die "slipway set no affinity cookie"
log "slipway http://$http_addr https://$https_addr (pid $slipway_pid); nginx :$nginx_http :$nginx_https; app instances $upstreams; $(nproc) cores"

# --- measuring -------------------------------------------------------------

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

# tree PID prints PID and its children (nginx's workers).
tree() {
	echo "$1"
	awk -v pp="$1" '$4 == pp {print $1}' /proc/[0-9]*/stat 2>/dev/null
}

# cpu_ticks PID prints the CPU time (user + system, clock ticks) of PID
# and its children so far.
cpu_ticks() {
	local p
	for p in $(tree "$1"); do
		cat /proc/"$p"/task/*/stat 2>/dev/null
	done | awk '{t += $14 + $15} END {print t + 0}'
}
hz=$(getconf CLK_TCK)

# rss_kb PID prints the resident memory of PID and its children, in KiB.
rss_kb() {
	local p
	for p in $(tree "$1"); do
		awk '/^VmRSS:/ {print $2}' /proc/"$p"/status 2>/dev/null
	done | awk '{t += $1} END {print t + 0}'
}

# wrk_run NAME URL SECONDS PID [WRK ARGS...] runs wrk against the proxy at
# URL, whose process is PID, and prints "REQ_PER_SEC P99_MS CPU_US_PER_REQ".
wrk_run() {
	local name=$1 url=$2 secs=$3 pid=$4 out="$tmp/wrk-$1.txt" rps p99 n t0 t1
	shift 4
	t0=$(cpu_ticks "$pid")
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$secs"s --latency -H "Host: $HOST" "$@" "$url/" >"$out" 2>&1 ||
		die "wrk against $name failed: $(cat "$out")"
	t1=$(cpu_ticks "$pid")
	grep -q 'Non-2xx or 3xx' "$out" && die "$name answered with errors: $(cat "$out")"
	grep -q 'Socket errors' "$out" && log "$name: $(grep 'Socket errors' "$out")"
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	p99=$(awk '$1 == "99%" {print $2}' "$out")
	n=$(awk '/ requests in / {print $1}' "$out")
	[ -n "$rps" ] && [ -n "$p99" ] && [ -n "$n" ] && [ "$n" -gt 0 ] || die "cannot read wrk's output: $(cat "$out")"
	echo "$rps $(to_ms "$p99") $(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$n" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')"
}

# busy prints the percentage of all CPUs in use over one second.
busy() {
	local a b
	a=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " "); u = y[1] - x[1]; i = y[2] - x[2]; printf "%.0f", (u + i > 0) ? 100 * u / (u + i) : 0}'
}
idle_busy=$(busy)
[ "$idle_busy" -le 10 ] || log "warning: ${idle_busy}% of the CPUs were busy before the load: requests/s will be noisy (CPU us/req and the ratios less so)"

report=$tmp/report.txt
: >"$report"
say() { echo "$*" | tee -a "$report"; }

# closed SUITE SLIPWAY_URL NGINX_URL [WRK ARGS...]: wrk against both,
# alternating, and the ratios. With first=NAME first_pid=PID set, NAME at
# SLIPWAY_URL is measured in slipway's place (the floor suite).
closed() {
	local suite=$1 surl=$2 nurl=$3 r rows=() name=${first:-slipway} pid=${first_pid:-$slipway_pid}
	shift 3
	log "$suite: warming up"
	wrk_run "$name-$suite" "$surl" "$WARMUP" "$pid" "$@" >/dev/null
	wrk_run "nginx-$suite" "$nurl" "$WARMUP" "$nginx_pid" "$@" >/dev/null
	for r in $(seq "$ROUNDS"); do
		log "$suite: round $r/$ROUNDS"
		rows+=("$r $(wrk_run "$name-$suite" "$surl" "$DURATION" "$pid" "$@") $(wrk_run "nginx-$suite" "$nurl" "$DURATION" "$nginx_pid" "$@")")
	done
	say ""
	say "== $suite: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s $* =="
	printf '%s\n' "${rows[@]}" | awk -v name="$name" '
		BEGIN {
			f = "%-6s %10s %8s %10s %10s %8s %10s\n"
			printf f, "", name, name, name, "nginx", "nginx", "nginx"
			printf f, "round", "req/s", "p99 ms", "CPU us/req", "req/s", "p99 ms", "CPU us/req"
			f = "%-6s %10.0f %8.2f %10.1f %10.0f %8.2f %10.1f\n"
		}
		{ printf f, $1, $2, $3, $4, $5, $6, $7; for (i = 2; i <= 7; i++) s[i] += $i; n++ }
		END {
			for (i = 2; i <= 7; i++) m[i] = s[i] / n
			printf f, "mean", m[2], m[3], m[4], m[5], m[6], m[7]
			printf "ratios %s/nginx: throughput %.2f (target >= 0.8), CPU/req %.2f (<= 1.5), p99 %.2f (<= 1.2)\n", name, m[2] / m[5], m[4] / m[7], m[3] / m[6]
		}' | tee -a "$report"
}

# openloop NAME URL: loadgen's open loop against NAME at URL and nginx,
# ROUNDS times, each round at half of nginx's peak as wrk measures it just
# before (the machine's neighbours change what it can do from minute to
# minute; a rate from an earlier suite overloaded both once). Within a
# round one loadgen loads the two in turn, SLICE at a time.
openloop() {
	local name=$1 url=$2 rate rows r out
	rows=()
	for r in $(seq "$ROUNDS"); do
		rate=$(wrk_run nginx-peak "http://127.0.0.1:$nginx_http" "$PEAK" "$nginx_pid" | awk '{printf "%.0f", $1 / 2}')
		log "openloop: round $r/$ROUNDS at $rate req/s"
		# Which one goes first changes from round to round; each gets
		# $DURATION at $rate, and a busy neighbour's seconds land on both
		# alike.
		if [ $((r % 2)) -eq 1 ]; then
			out=$("$tmp/loadgen" openloop -url "$url" -versus "http://127.0.0.1:$nginx_http/" -slice "$SLICE" \
				-host "$HOST" -rate "$rate" -duration "${DURATION}s" -conns "$CONNECTIONS")
		else
			out=$("$tmp/loadgen" openloop -url "http://127.0.0.1:$nginx_http/" -versus "$url" -slice "$SLICE" \
				-host "$HOST" -rate "$rate" -duration "${DURATION}s" -conns "$CONNECTIONS" |
				awk '{print $6, $7, $8, $9, $10, $1, $2, $3, $4, $5}')
		fi
		rows+=("$r $rate $out")
	done
	say ""
	say "== $name openloop: at half of nginx's peak (wrk ${PEAK}s before each round), ${DURATION}s each, in turn $SLICE at a time, at most $CONNECTIONS connections =="
	printf '%s\n' "${rows[@]}" | awk -v name="$name" '
		BEGIN {
			f = "%-6s %7s %9s %8s %9s %9s %8s %9s %9s\n"
			printf f, "", "", name, name, name, "nginx", "nginx", "nginx", "p99"
			printf f, "round", "req/s", "errors", "p50 ms", "p99 ms", "errors", "p50 ms", "p99 ms", "ratio"
		}
		function median(v, k,   i, j, t) {
			for (i = 2; i <= k; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
		}
		{
			printf "%-6s %7d %9d %8.2f %9.2f %9d %8.2f %9.2f %9.2f\n", $1, $2, $4, $5, $6, $9, $10, $11, $6 / $11
			a += $6; b += $11; n++; sa[n] = $6; sb[n] = $11; sr[n] = $6 / $11
		}
		END {
			printf "mean p99: %s %.2f ms, nginx %.2f ms, ratio %.2f\n", name, a / n, b / n, a / b
			# One round that a busy neighbour hit moves the mean most.
			ma = median(sa, n); mb = median(sb, n)
			printf "median p99 of the rounds: %s %.2f ms, nginx %.2f ms, ratio %.2f\n", name, ma, mb, ma / mb
			# Both ran on the same machine in a round: its ratio is the fair one.
			printf "median of the p99 ratios by round: %.2f (target <= 1)\n", median(sr, n)
		}' | tee -a "$report"
}

# start_floor starts bench/floor on the same instances, once: the least a
# Go proxy with a goroutine a connection does. What it costs beyond nginx is
# Go's runtime and poller; what slipway costs beyond it is its own.
start_floor() {
	[ -z "${floor_pid:-}" ] || return 0
	local upstream_list=${upstreams// /,}
	"$tmp/floor" -upstreams "$upstream_list" >"$tmp/floor.out" 2>&1 &
	floor_pid=$!
	pids+=("$floor_pid")
	wait_for "floor to start" 10 grep -q . "$tmp/floor.out"
}

for suite in $SUITES; do
	case $suite in
	http) closed http "http://$http_addr" "http://127.0.0.1:$nginx_http" ;;
	cookie) closed cookie "http://$http_addr" "http://127.0.0.1:$nginx_http" -H "Cookie: $cookie" ;;
	https) closed https "https://$https_addr" "https://127.0.0.1:$nginx_https" ;;
	https-cookie) closed https-cookie "https://$https_addr" "https://127.0.0.1:$nginx_https" -H "Cookie: $cookie" ;;
	handshake) closed handshake "https://$https_addr" "https://127.0.0.1:$nginx_https" -H "Connection: close" ;;
	openloop) openloop slipway "http://$http_addr/" ;;
	floor-openloop)
		start_floor
		openloop floor "http://$(head -n1 "$tmp/floor.out")/"
		;;
	idle | idle-https)
		scheme=http saddr=$http_addr nport=$nginx_http
		[ "$suite" = idle ] || scheme=https saddr=$https_addr nport=$nginx_https
		say ""
		say "== $suite: $IDLE idle keep-alive connections over $scheme; wrk -c$CONNECTIONS on others meanwhile =="
		for proxy in slipway nginx; do
			if [ "$proxy" = slipway ]; then url="$scheme://$saddr" pid=$slipway_pid; else url="$scheme://127.0.0.1:$nport" pid=$nginx_pid; fi
			base=$(wrk_run "$proxy-$suite-base" "$url" "$DURATION" "$pid")
			before=$(rss_kb "$pid")
			fifo=$tmp/$suite-$proxy
			mkfifo "$fifo"
			"$tmp/loadgen" idle -url "$url/" -host "$HOST" -conns "$IDLE" <"$fifo" >"$tmp/$suite-$proxy.out" 2>&1 &
			lg=$!
			exec {hold}>"$fifo"
			wait_for "$IDLE idle connections to $proxy" 120 grep -q ready "$tmp/$suite-$proxy.out"
			sleep 2 # let the proxy settle (a GC, nginx freeing buffers, slipway parking the last ones)
			after=$(rss_kb "$pid")
			if [ "$proxy" = slipway ]; then
				# Where it is, from the Go runtime: live heap, heap spans
				# in use (live and garbage), goroutine stacks.
				curl -fsS "http://$admin_addr/metrics" | awk '
					/^go_memstats_heap_alloc_bytes / {a = $2} /^go_memstats_heap_inuse_bytes / {i = $2}
					/^go_memstats_stack_inuse_bytes / {s = $2} /^go_goroutines / {g = $2}
					END {printf "slipway  Go runtime meanwhile: heap allocated %.1f MiB (in use %.1f MiB), stacks %.1f MiB, %d goroutines\n", a / 1048576, i / 1048576, s / 1048576, g}' | tee -a "$report"
			fi
			loaded=$(wrk_run "$proxy-$suite" "$url" "$DURATION" "$pid")
			exec {hold}>&-
			wait "$lg" || die "loadgen idle against $proxy: $(cat "$tmp/$suite-$proxy.out")"
			rm -f "$fifo"
			say "$(awk -v p="$proxy" -v b="$before" -v a="$after" -v n="$IDLE" -v base="$base" -v l="$loaded" 'BEGIN {
				split(base, x, " "); split(l, y, " ")
				printf "%-8s RSS %.1f MiB -> %.1f MiB: +%.1f MiB (%.2f KiB a connection); p99 on other connections %.2f ms -> %.2f ms\n",
					p, b / 1024, a / 1024, (a - b) / 1024, (a - b) / n, x[2], y[2]
			}')"
		done
		if [ "$suite" = idle ]; then
			say "target: slipway's RSS grows by at most 64 MiB"
		else
			say "(over HTTPS each connection also keeps its TLS state: compare with nginx's)"
		fi
		;;
	floor)
		start_floor
		first=floor first_pid=$floor_pid closed floor "http://$(head -n1 "$tmp/floor.out")" "http://127.0.0.1:$nginx_http"
		;;
	hold)
		# Everything stays up for measuring by hand until interrupted.
		{
			echo "slipway_pid=$slipway_pid http=$http_addr https=$https_addr admin=$admin_addr"
			echo "nginx_pid=$nginx_pid http=127.0.0.1:$nginx_http https=127.0.0.1:$nginx_https"
			echo "host=$HOST cookie=$cookie loadgen=$tmp/loadgen"
		} | tee "$tmp/hold.txt"
		log "holding (addresses in $tmp/hold.txt); interrupt to stop"
		while :; do
			sleep 3600 &
			wait $! # (a trap runs only once a foreground command returns)
		done
		;;
	*) die "unknown suite $suite (http cookie https https-cookie handshake openloop idle idle-https floor floor-openloop hold)" ;;
	esac
done

if [ -n "$PROFILE" ]; then
	kill -TERM "$slipway_pid"
	wait "$slipway_pid" 2>/dev/null || true
	echo
	echo "slipway CPU profile (whole run): $PROFILE"
	go tool pprof -top -nodecount=35 "$tmp/slipway" "$PROFILE" 2>/dev/null || log "cannot read $PROFILE"
fi
