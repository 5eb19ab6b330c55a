#!/bin/sh
# Starts the distribution's services: the TCP proxy in front of the local web server.
set -eu
version=$(cat /opt/404/distro-version)
echo "404 distro ${version}"
exec /opt/404/static "${LISTEN:-0.0.0.0:8080}" "${UPSTREAM:-127.0.0.1:80}"
