#!/bin/sh
# Start the MLflow tracking server from environment variables, so one image serves Render,
# docker compose and a laptop. Basic auth is opt-in (MLFLOW_AUTH_ENABLED=true); its user
# database goes where MLFLOW_AUTH_DATABASE_URI says (default: the backend store itself).
set -eu

# SQLAlchemy 2 only knows the "postgresql" scheme; Render and Heroku hand out "postgres://".
normalise_db_uri() {
    case "$1" in
        postgres://*) printf 'postgresql://%s' "${1#postgres://}" ;;
        *) printf '%s' "$1" ;;
    esac
}

: "${PORT:=5000}"
: "${MLFLOW_BACKEND_STORE_URI:?set MLFLOW_BACKEND_STORE_URI (postgresql://... on Render, sqlite:///mlflow.db locally)}"
: "${MLFLOW_ARTIFACTS_DESTINATION:?set MLFLOW_ARTIFACTS_DESTINATION (s3://bucket/prefix on Render, a local path otherwise)}"
: "${MLFLOW_ALLOWED_HOSTS:=*.onrender.com,localhost,localhost:*,127.0.0.1,127.0.0.1:*}"
: "${MLFLOW_WORKERS:=1}"

backend_uri=$(normalise_db_uri "$MLFLOW_BACKEND_STORE_URI")

# The server replaces the launcher (scripts/mlflow_server_exec.py): ~180 MB less resident memory.
set -- python "$(dirname "$0")/mlflow_server_exec.py" \
    --host 0.0.0.0 \
    --port "$PORT" \
    --workers "$MLFLOW_WORKERS" \
    --backend-store-uri "$backend_uri" \
    --artifacts-destination "$MLFLOW_ARTIFACTS_DESTINATION" \
    --serve-artifacts \
    --allowed-hosts "$MLFLOW_ALLOWED_HOSTS"

if [ "${MLFLOW_AUTH_ENABLED:-false}" = "true" ]; then
    : "${MLFLOW_AUTH_ADMIN_PASSWORD:?MLFLOW_AUTH_ENABLED=true needs MLFLOW_AUTH_ADMIN_PASSWORD}"
    : "${MLFLOW_FLASK_SERVER_SECRET_KEY:?MLFLOW_AUTH_ENABLED=true needs MLFLOW_FLASK_SERVER_SECRET_KEY}"
    auth_uri=$(normalise_db_uri "${MLFLOW_AUTH_DATABASE_URI:-$backend_uri}")
    # The auth plugin reads its database from an ini file only; write one the owner alone can read.
    MLFLOW_AUTH_CONFIG_PATH="${MLFLOW_AUTH_CONFIG_PATH:-$(mktemp)}"
    export MLFLOW_AUTH_CONFIG_PATH
    umask 077
    cat > "$MLFLOW_AUTH_CONFIG_PATH" <<INI
[mlflow]
default_permission = ${MLFLOW_AUTH_DEFAULT_PERMISSION:-READ}
database_uri = ${auth_uri}
admin_username = ${MLFLOW_AUTH_ADMIN_USERNAME:-admin}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
INI
    set -- "$@" --app-name basic-auth
    # The console's and the API's own users (docs/access.md): created once the server answers, by a
    # short-lived child that outlives this shell's exec; a failure is logged and the server runs on.
    if [ -n "${MLFLOW_CONSOLE_PASSWORD:-}${MLFLOW_API_PASSWORD:-}" ]; then
        MLFLOW_TRACKING_URI="http://127.0.0.1:$PORT" \
        MLFLOW_TRACKING_USERNAME="${MLFLOW_AUTH_ADMIN_USERNAME:-admin}" \
        MLFLOW_TRACKING_PASSWORD="$MLFLOW_AUTH_ADMIN_PASSWORD" \
            python "$(dirname "$0")/mlflow_users.py" --wait 600 &
    fi
fi

exec "$@"
