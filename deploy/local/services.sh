# deploy/local/services.sh — start, stop and restart outdial's services on
# loopback (sourced by scripts/demo and tests/fault/chaos; bash).
#
# Before sourcing, set:
#   BUILD        the build tree with the binaries
#   LOGS         a folder for logs and pid files
#   SVC_BASE     first port: api +2, voice-sim +3, ingress +4, importer +7, notifier +8,
#                scheduler-N +10+N, dialer-N +20+N (N at most 9)
#   SIM_RULES    the simulator's rules file
# and source the stack's stack.env (and any OUTDIAL_CLOCK_* settings).
#
# Every service listens on 127.0.0.1 only. The API's admin token is the
# random one `stack up` wrote to $OUTDIAL_VAR_DIR/admin-token (or the
# caller's OUTDIAL_API_ADMIN_TOKEN, when set); it is exported as
# OUTDIAL_API_ADMIN_TOKEN for outdialctl.
#
#   svc_start NAME      voice-sim | ingress | api | importer | notifier | scheduler-N | dialer-N
#
# The simulator speaks both providers' APIs and every dialer serves both
# (an assistant's "provider" picks); Retell's webhooks go to
# /webhooks/retell, signed with the same key.
# The ingress (HAProxy) is the deployment's one webhook URL, as a load
# balancer is in production: every dialer gives it to the provider, and it
# forwards each webhook to a live dialer (health-checked; a request that
# finds a dialer gone, or gets a 503, is sent to another). Start it before
# the dialers when SVC_INGRESS=1 (the default); with SVC_INGRESS=0 each
# dialer gives its own URL.
# Two settings for the fault tests (tests/fault/chaos):
#   SVC_NETNS_PREFIX  when set, api, importer, scheduler-N and dialer-N run
#                     in the network namespace SVC_NETNS_PREFIX<name>, which
#                     the caller made and joined to the rest through
#                     tests/fault/netfault (the ingress and the simulator stay
#                     outside: the provider's side of the network)
#   SVC_ENV[name]     extra KEY=VALUE words for that one service's environment
#                     (an associative array, e.g. a dialer's clock skew)
#   svc_stop NAME [SIG] signal (default TERM) and wait for the process
#   svc_alive NAME      whether it runs
#   svc_port NAME       its HTTP port
#   svc_wait NAME       wait until its /healthz answers
#   svc_stop_all        stop everything started here

SVC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SVC_SECRET=${SVC_SECRET:-local-webhook-secret-0123456789}
SVC_SIM_KEY=${SVC_SIM_KEY:-local-provider-key}
if [ -z "${OUTDIAL_API_ADMIN_TOKEN:-}" ]; then
    if [ ! -s "${OUTDIAL_VAR_DIR:-}/admin-token" ]; then
        echo "services: no admin token in '${OUTDIAL_VAR_DIR:-}/admin-token' (run deploy/local/stack up and source its stack.env first)" >&2
        return 1
    fi
    OUTDIAL_API_ADMIN_TOKEN=$(cat "$OUTDIAL_VAR_DIR/admin-token")
fi
export OUTDIAL_API_ADMIN_TOKEN
SVC_NAMES=()
declare -p SVC_ENV >/dev/null 2>&1 || declare -gA SVC_ENV=()

svc_port() {
    case $1 in
        api) echo $((SVC_BASE + 2)) ;;
        voice-sim) echo $((SVC_BASE + 3)) ;;
        ingress) echo $((SVC_BASE + 4)) ;;
        importer) echo $((SVC_BASE + 7)) ;;
        notifier) echo $((SVC_BASE + 8)) ;;
        scheduler-*) echo $((SVC_BASE + 10 + ${1#scheduler-})) ;;
        dialer-*) echo $((SVC_BASE + 20 + ${1#dialer-})) ;;
        *) echo "svc_port: unknown service $1" >&2; return 1 ;;
    esac
}

# The URL dialer $1 gives provider $2 (default vapi) for its calls' webhooks.
svc_webhook_url() {
    local provider=${2:-vapi}
    if [ "${SVC_INGRESS:-1}" = 1 ]; then
        echo "http://127.0.0.1:$(svc_port ingress)/webhooks/$provider"
    else
        echo "http://127.0.0.1:$(svc_port "$1")/webhooks/$provider"
    fi
}

svc_alive() {
    [ -f "$LOGS/$1.pid" ] && kill -0 "$(cat "$LOGS/$1.pid")" 2>/dev/null
}

svc_start() {
    local name=$1 port
    port=$(svc_port "$name")
    case $name in
        voice-sim)
            set -- "$BUILD/tools/voice-sim/outdial-voice-sim" --host 127.0.0.1 --port "$port" \
                --webhook-url "$(svc_webhook_url dialer-1)" \
                --retell-webhook-url "$(svc_webhook_url dialer-1 retell)" \
                --webhook-secret "$SVC_SECRET" --api-key "$SVC_SIM_KEY" --rules "$SIM_RULES" \
                --log-file "$LOGS/sim-calls.jsonl"
            ;;
        ingress)
            # Every dialer slot: dialers come and go without a reload.
            "$SVC_DIR/ingress-config" "$port" $(for n in 1 2 3 4 5 6 7 8 9; do
                svc_port "dialer-$n"; done) >"$LOGS/ingress.cfg"
            set -- haproxy -db -f "$LOGS/ingress.cfg"
            ;;
        api)
            set -- env OUTDIAL_API_HTTP_HOST=127.0.0.1 OUTDIAL_API_HTTP_PORT="$port" \
                "$BUILD/services/api/outdial-api"
            ;;
        importer)
            set -- env OUTDIAL_IMPORTER_HTTP_HOST=127.0.0.1 OUTDIAL_IMPORTER_HTTP_PORT="$port" \
                "$BUILD/services/importer/outdial-importer"
            ;;
        notifier)
            # Outbound webhooks (docs/webhooks.md); OUTDIAL_NOTIFIER_CA_FILE
            # from the caller's environment trusts a local test CA.
            set -- env OUTDIAL_NOTIFIER_HTTP_HOST=127.0.0.1 OUTDIAL_NOTIFIER_HTTP_PORT="$port" \
                "$BUILD/services/notifier/outdial-notifier"
            ;;
        scheduler-*)
            set -- env OUTDIAL_SCHEDULER_HTTP_HOST=127.0.0.1 OUTDIAL_SCHEDULER_HTTP_PORT="$port" \
                "$BUILD/services/scheduler/outdial-scheduler"
            ;;
        dialer-*)
            set -- env OUTDIAL_DIALER_HTTP_HOST=127.0.0.1 OUTDIAL_DIALER_HTTP_PORT="$port" \
                OUTDIAL_DIALER_INSTANCE_ID="$name" \
                OUTDIAL_DIALER_PROVIDER_URL="http://127.0.0.1:$(svc_port voice-sim)" \
                OUTDIAL_DIALER_PROVIDER_API_KEY="$SVC_SIM_KEY" \
                OUTDIAL_DIALER_WEBHOOK_URL="$(svc_webhook_url "$name")" \
                OUTDIAL_DIALER_WEBHOOK_SECRET="$SVC_SECRET" \
                OUTDIAL_RETELL_BASE_URL="http://127.0.0.1:$(svc_port voice-sim)" \
                OUTDIAL_RETELL_API_KEY="$SVC_SIM_KEY" \
                "$BUILD/services/dialer/outdial-dialer"
            ;;
        *) echo "svc_start: unknown service $name" >&2; return 1 ;;
    esac
    if [ -n "${SVC_ENV[$name]:-}" ]; then
        # shellcheck disable=SC2206  # KEY=VALUE words, split on purpose
        set -- env ${SVC_ENV[$name]} "$@"
    fi
    case $name in
        api | importer | notifier | scheduler-* | dialer-*)
            # ip netns exec execs the command: the pid stays the service's.
            [ -n "${SVC_NETNS_PREFIX:-}" ] && set -- ip netns exec "$SVC_NETNS_PREFIX$name" "$@"
            ;;
    esac
    "$@" >>"$LOGS/$name.log" 2>&1 &
    echo $! >"$LOGS/$name.pid"
    case " ${SVC_NAMES[*]} " in *" $name "*) ;; *) SVC_NAMES+=("$name") ;; esac
}

svc_wait() {
    local port
    port=$(svc_port "$1")
    for _ in $(seq 1 150); do
        if [ "$1" = ingress ]; then
            # Any HTTP answer (503 until a dialer is up) means it listens.
            curl -sS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && return 0
        else
            curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && return 0
        fi
        svc_alive "$1" || break
        sleep 0.2
    done
    echo "services: $1 does not answer on port $port (see $LOGS/$1.log)" >&2
    return 1
}

svc_stop() {
    local name=$1 sig=${2:-TERM} pid
    [ -f "$LOGS/$name.pid" ] || return 0
    pid=$(cat "$LOGS/$name.pid")
    kill -"$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$LOGS/$name.pid"
}

svc_stop_all() {
    local name
    for name in "${SVC_NAMES[@]}"; do
        [ -f "$LOGS/$name.pid" ] && kill "$(cat "$LOGS/$name.pid")" 2>/dev/null
    done
    for name in "${SVC_NAMES[@]}"; do svc_stop "$name"; done
}
