#!/bin/bash
# Reference solution, run as root on node `web`; parameters arrive as GREETING=...
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q nginx
printf '<!DOCTYPE html>\n<html lang="fr"><body><h1>%s</h1></body></html>\n' "$GREETING" \
    > /var/www/html/index.html
chmod 0644 /var/www/html/index.html
rm -f /var/www/html/index.nginx-debian.html
systemctl enable --now nginx
