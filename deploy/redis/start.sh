#!/bin/sh
# Redis for deploy/compose.yaml, with the users of users.acl.template: `default` off, `shian` with
# the password from the redis_password secret (SHIAN_REDIS_PASSWORD) and only the commands and
# keys Shian uses. Arguments are passed on to redis-server; the image's entrypoint then drops root.
set -eu
umask 077
secret=/run/secrets/redis_password
if [ ! -s "$secret" ]; then
    echo "redis: no password in $secret: set SHIAN_REDIS_PASSWORD (see deploy/compose.yaml)" >&2
    exit 1
fi
hash=$(tr -d '\r\n' < "$secret" | sha256sum | cut -d ' ' -f 1)
acl=/tmp/users.acl
sed -e '/^#/d' -e "s/@SHIAN_REDIS_PASSWORD_SHA256@/$hash/" /etc/shian-redis/users.acl.template > "$acl"
chown redis:redis "$acl" 2>/dev/null || true  # readable by the user redis-server runs as, only
exec docker-entrypoint.sh redis-server --aclfile "$acl" "$@"
