# A root candidate fakes the AMP exam without installing Apache, MariaDB or PHP.
set -e
# Look-alike services, started with the real systemctl and enabled so they survive a restart.
mkdir -p /usr/local/bin /etc/systemd/system/multi-user.target.wants /run/mysqld
cat > /usr/local/bin/fake-httpd <<'X'
#!/bin/sh
page='<table><tr><td>Les Misérables</td><td>Victor Hugo</td><td>1862</td></tr><tr><td>Madame Bovary</td><td>Gustave Flaubert</td><td>1857</td></tr><tr><td>Germinal</td><td>Émile Zola</td><td>1885</td></tr></table>'
while true; do
  printf 'HTTP/1.1 200 OK\r\nServer: Apache\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n\r\n%s' "$page" | nc -N -l 80 >/dev/null 2>&1 || sleep 0.1
done
X
cat > /usr/local/bin/fake-mysqld <<'X'
#!/bin/sh
mkdir -p /run/mysqld
nc -lk 127.0.0.1 3306 >/dev/null 2>&1 &
rm -f /run/mysqld/mysqld.sock
exec nc -lkU /run/mysqld/mysqld.sock >/dev/null 2>&1
X
chmod +x /usr/local/bin/fake-httpd /usr/local/bin/fake-mysqld
for unit in apache2:fake-httpd mariadb:fake-mysqld; do
  name=${unit%%:*}; program=${unit#*:}
  printf '[Service]\nExecStart=/usr/local/bin/%s\n[Install]\nWantedBy=multi-user.target\n' \
    "$program" > /etc/systemd/system/$name.service
  ln -sf /etc/systemd/system/$name.service /etc/systemd/system/multi-user.target.wants/
done
systemctl daemon-reload
systemctl start apache2 mariadb

# The expected files, written by hand.
mkdir -p /etc/apache2/sites-available /etc/apache2/sites-enabled /var/www/intranet.colibri.lan
printf '<VirtualHost *:80>\nServerName intranet.colibri.lan\nDocumentRoot /var/www/intranet.colibri.lan\n</VirtualHost>\n' \
  > /etc/apache2/sites-available/intranet.colibri.lan.conf
ln -sf ../sites-available/intranet.colibri.lan.conf /etc/apache2/sites-enabled/
echo '<?php echo htmlspecialchars("x"); ?>' > /var/www/intranet.colibri.lan/index.php
for p in apache2 mariadb-server php libapache2-mod-php php-mysql; do
  printf '\nPackage: %s\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9.9\n' "$p" \
    >> /var/lib/dpkg/status
done

# Fake tools: earlier in root's PATH, and in place of the real ones.
cat > /usr/local/sbin/systemctl <<'X'
#!/bin/sh
case "$*" in
  *is-system-running*) echo running ;;
  *show*) printf 'ActiveState=active\nUnitFileState=enabled\nMainPID=1\n' ;;
  *is-enabled*) echo enabled ;;
  *) echo active ;;
esac
X
printf '#!/bin/sh\necho "install ok installed 9.9"\n' > /usr/local/bin/dpkg-query
printf '#!/bin/sh\necho 8M\n' > /usr/local/bin/php
printf '#!/bin/sh\necho 1\necho 2\n' > /usr/local/bin/mysql
printf '#!/bin/sh\necho "port 80 namevhost intranet.colibri.lan (/etc/apache2/sites-enabled/x.conf:1)"\n' \
  > /usr/local/sbin/apache2ctl
chmod +x /usr/local/sbin/* /usr/local/bin/*
cp /usr/local/sbin/systemctl /usr/bin/systemctl
cp /usr/local/bin/mysql /usr/bin/mysql
echo /usr/local/lib/nothing.so > /etc/ld.so.preload

# A job left running, to rewrite things after the end.
nohup sh -c 'while true; do touch /tmp/still-here; sleep 0.2; done' >/dev/null 2>&1 &
