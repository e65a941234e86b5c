#!/bin/sh
# Initialises an empty data directory once (database and user from MARIADB_* or MYSQL_* variables), then
# runs the command (mariadbd as the mysql user).
set -eu
: "${MARIADB_ROOT_PASSWORD:=${MYSQL_ROOT_PASSWORD:-}}"
: "${MARIADB_DATABASE:=${MYSQL_DATABASE:-}}"
: "${MARIADB_USER:=${MYSQL_USER:-}}"
: "${MARIADB_PASSWORD:=${MYSQL_PASSWORD:-}}"
datadir=/var/lib/mysql
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld "$datadir"

if [ "${1:-}" = mariadbd ] && [ ! -d "$datadir/mysql" ]; then
    echo "entrypoint: initialising $datadir"
    mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db --auth-root-authentication-method=socket >/dev/null
    mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket=/run/mysqld/init.sock &
    pid=$!
    i=0
    until mariadb-admin --socket=/run/mysqld/init.sock ping >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 60 ] || { echo "entrypoint: the server did not start" >&2; exit 1; }
        sleep 0.5
    done
    sql() { mariadb --socket=/run/mysqld/init.sock -uroot "$@"; }
    esc() { printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g"; }
    {
        echo "DELETE FROM mysql.global_priv WHERE User = '';"
        if [ -n "$MARIADB_ROOT_PASSWORD" ]; then
            echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('$(esc "$MARIADB_ROOT_PASSWORD")');"
            echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$(esc "$MARIADB_ROOT_PASSWORD")';"
            echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
        fi
        if [ -n "$MARIADB_DATABASE" ]; then
            echo "CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"
        fi
        if [ -n "$MARIADB_USER" ] && [ -n "$MARIADB_PASSWORD" ]; then
            echo "CREATE USER IF NOT EXISTS '$(esc "$MARIADB_USER")'@'%' IDENTIFIED BY '$(esc "$MARIADB_PASSWORD")';"
            [ -z "$MARIADB_DATABASE" ] || echo "GRANT ALL ON \`$MARIADB_DATABASE\`.* TO '$(esc "$MARIADB_USER")'@'%';"
        fi
        echo "FLUSH PRIVILEGES;"
    } | sql
    mariadb-admin --socket=/run/mysqld/init.sock shutdown
    wait "$pid" || true
    echo "entrypoint: initialised"
fi

if [ "${1:-}" = mariadbd ]; then
    shift
    exec mariadbd --user=mysql --datadir="$datadir" "$@"
fi
exec "$@"
