#!/bin/sh
# Writes Debian's WordPress configuration from WORDPRESS_DB_* (the official image's variables), then runs
# the command (Apache in the foreground).
set -eu
q() { printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g"; }
cat > /etc/wordpress/config-default.php <<PHP
<?php
define('DB_NAME', '$(q "${WORDPRESS_DB_NAME:-wordpress}")');
define('DB_USER', '$(q "${WORDPRESS_DB_USER:-wordpress}")');
define('DB_PASSWORD', '$(q "${WORDPRESS_DB_PASSWORD:-}")');
define('DB_HOST', '$(q "${WORDPRESS_DB_HOST:-db}")');
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
\$table_prefix = '$(q "${WORDPRESS_TABLE_PREFIX:-wp_}")';
PHP
chown root:www-data /etc/wordpress/config-default.php
chmod 640 /etc/wordpress/config-default.php
mkdir -p /run/apache2 /var/lock/apache2
exec "$@"
