#!/usr/bin/env bash
# Reference solution of the amp-stack scenario, run as root on the node `web`.
# Parameters: SITE_NAME, DB_NAME, DB_USER, DB_PASSWORD. Idempotent: safe to run twice.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

: "${SITE_NAME:?}" "${DB_NAME:?}" "${DB_USER:?}" "${DB_PASSWORD:?}"
DOCROOT="/var/www/${SITE_NAME}"
PRIVATE_DIR=/var/www/private              # outside every DocumentRoot
DB_CONFIG="${PRIVATE_DIR}/${SITE_NAME}.php"
PHP_INI=/etc/php/8.2/apache2/php.ini

# Quote a value as a single-quoted literal, valid for both SQL (MariaDB) and PHP.
quote() {
    local s=${1//\\/\\\\}
    s=${s//\'/\\\'}
    printf "'%s'" "$s"
}

# Make `line` the active setting of `key` in a config file: replace it, or append it.
set_line() {  # file key line
    local file=$1 key=$2 line=$3
    if grep -Eq "^[[:space:]]*${key}([[:space:]]|=)" "$file"; then
        sed -Ei "s#^[[:space:]]*${key}([[:space:]]|=).*#${line}#" "$file"
    else
        printf '%s\n' "$line" >>"$file"
    fi
}

# 1. Packages, services enabled at boot.
apt-get update -q
apt-get install -y -q apache2 mariadb-server php libapache2-mod-php php-mysql
systemctl enable --now mariadb apache2

# 2. MariaDB: local only (the Debian default, enforced), database, table, rows, user.
MARIADB_CNF=/etc/mysql/mariadb.conf.d/50-server.cnf
before=$(md5sum "$MARIADB_CNF")
set_line "$MARIADB_CNF" bind-address 'bind-address = 127.0.0.1'
restart_db=no
[[ $(md5sum "$MARIADB_CNF") == "$before" ]] || restart_db=yes
# The package also enables mariadb.socket (ListenStream=3306, i.e. [::]:3306): once systemd
# starts it, at the next boot, MariaDB takes that socket and bind-address no longer applies.
if systemctl is-enabled -q mariadb.socket || systemctl is-active -q mariadb.socket; then
    if systemctl is-active -q mariadb.socket; then restart_db=yes; fi
    systemctl disable -q --now mariadb.socket
fi
if [[ $restart_db == yes ]]; then systemctl restart mariadb; fi

mysql --default-character-set=utf8mb4 <<SQL
CREATE DATABASE IF NOT EXISTS \`${DB_NAME}\`
    CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE \`${DB_NAME}\`;
CREATE TABLE IF NOT EXISTS livres (
    id     INT AUTO_INCREMENT PRIMARY KEY,
    titre  VARCHAR(200) NOT NULL,
    auteur VARCHAR(120) NOT NULL,
    annee  SMALLINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO livres (titre, auteur, annee)
    SELECT * FROM (
        SELECT 'Les Misérables' AS titre, 'Victor Hugo' AS auteur, 1862 AS annee
        UNION ALL SELECT 'Madame Bovary', 'Gustave Flaubert', 1857
        UNION ALL SELECT 'Germinal', 'Émile Zola', 1885
    ) AS ref
    WHERE NOT EXISTS (SELECT 1 FROM livres l WHERE l.titre = ref.titre);
CREATE USER IF NOT EXISTS $(quote "$DB_USER")@'localhost' IDENTIFIED BY $(quote "$DB_PASSWORD");
ALTER USER $(quote "$DB_USER")@'localhost' IDENTIFIED BY $(quote "$DB_PASSWORD");
REVOKE ALL PRIVILEGES, GRANT OPTION FROM $(quote "$DB_USER")@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${DB_NAME}\`.* TO $(quote "$DB_USER")@'localhost';
SQL

# 3. Site files: credentials outside the DocumentRoot, readable by Apache only.
install -d -m 0755 "$DOCROOT" "$DOCROOT/documents"
install -d -m 0750 -o root -g www-data "$PRIVATE_DIR"
umask 027
cat >"$DB_CONFIG" <<PHP
<?php
return [
    'dsn' => 'mysql:host=localhost;dbname=${DB_NAME};charset=utf8mb4',
    'user' => $(quote "$DB_USER"),
    'password' => $(quote "$DB_PASSWORD"),
];
PHP
chown root:www-data "$DB_CONFIG"
chmod 0640 "$DB_CONFIG"
umask 022

cat >"$DOCROOT/index.php" <<PHP
<?php
declare(strict_types=1);

function h(mixed \$s): string
{
    return htmlspecialchars((string) \$s, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}

\$cfg = require $(quote "$DB_CONFIG");
try {
    \$pdo = new PDO(\$cfg['dsn'], \$cfg['user'], \$cfg['password'], [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
    ]);
    \$livres = \$pdo->query('SELECT titre, auteur, annee FROM livres ORDER BY titre')->fetchAll();
} catch (PDOException \$e) {
    error_log('intranet: ' . \$e->getMessage());
    http_response_code(500);
    exit('Service momentanément indisponible.');
}
?>
<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>Librairie Colibri — catalogue</title></head>
<body>
<h1>Catalogue de la librairie</h1>
<table>
  <thead><tr><th>Titre</th><th>Auteur</th><th>Année</th></tr></thead>
  <tbody>
<?php foreach (\$livres as \$l): ?>
    <tr>
      <td><?= h(\$l['titre']) ?></td>
      <td><?= h(\$l['auteur']) ?></td>
      <td><?= h(\$l['annee']) ?></td>
    </tr>
<?php endforeach; ?>
  </tbody>
</table>
</body>
</html>
PHP
chmod 0644 "$DOCROOT/index.php"

# 4. Virtual host; default site off.
cat >"/etc/apache2/sites-available/${SITE_NAME}.conf" <<CONF
<VirtualHost *:80>
    ServerName ${SITE_NAME}
    DocumentRoot ${DOCROOT}
    DirectoryIndex index.php

    <Directory ${DOCROOT}>
        Options -Indexes +FollowSymLinks
        AllowOverride None
        Require all granted
    </Directory>

    ErrorLog \${APACHE_LOG_DIR}/${SITE_NAME}-error.log
    CustomLog \${APACHE_LOG_DIR}/${SITE_NAME}-access.log combined
</VirtualHost>
CONF
a2ensite -q "$SITE_NAME"
a2dissite -q 000-default

# 5. Hardening: Apache banner and signature, PHP version header, upload size.
set_line /etc/apache2/conf-available/security.conf ServerTokens 'ServerTokens Prod'
set_line /etc/apache2/conf-available/security.conf ServerSignature 'ServerSignature Off'
a2enconf -q security
set_line "$PHP_INI" expose_php 'expose_php = Off'
set_line "$PHP_INI" upload_max_filesize 'upload_max_filesize = 8M'

apache2ctl configtest
systemctl restart apache2
systemctl is-active --quiet apache2 mariadb
