#!/usr/bin/env bash
# Records real nginx and Apache log lines for tests/filters/{nginx-http-auth,
# nginx-botsearch,apache-auth,apache-botsearch,wordpress}.
#
#   tests/filters/record/web.sh OUTDIR
#
# Runs as root. Starts nginx (port 2880) and Apache (port 2881) with their
# own configs under a temporary directory, both on 127.0.0.1 and ::1, with a
# basic-auth protected /private/ and a static site. curl then makes failed
# and successful logins and probes the usual scanner paths from a
# different 127.0.x.y per client. Writes OUTDIR/nginx-access.log,
# nginx-error.log, apache-access.log, apache-error.log. Leaves no process
# behind. Needs: nginx-light apache2 apache2-utils curl.
set -euo pipefail
REC_OUT=$(realpath -m "${1:?usage: web.sh OUTDIR}")
REC=$(mktemp -d /tmp/warden-rec-web.XXXXXX)
chmod 0755 "$REC"
NGX_PID= APA_PID=
cleanup() {
	set +e
	[ -n "$NGX_PID" ] && kill "$NGX_PID" && wait "$NGX_PID" 2>/dev/null
	[ -f "$REC/apache.pid" ] && kill "$(cat "$REC/apache.pid")" && sleep 1
	mkdir -p "$REC_OUT"
	for f in nginx-access nginx-error apache-access apache-error; do
		cp "$REC/$f.log" "$REC_OUT/$f.log" 2>/dev/null
	done
	rm -rf "$REC"
}
trap cleanup EXIT

mkdir -p "$REC/www/private" "$REC/www/wordpress"
echo hello >"$REC/www/index.html"
echo secret >"$REC/www/private/index.html"
htpasswd -bc "$REC/htpasswd" alice 'Web-pw-0k' 2>/dev/null
chmod 0644 "$REC/htpasswd"

cat >"$REC/nginx.conf" <<CF
daemon off;
pid $REC/nginx.pid;
error_log $REC/nginx-error.log info;
events {}
http {
  access_log $REC/nginx-access.log combined;
  client_body_temp_path $REC/ngx-body;
  proxy_temp_path $REC/ngx-proxy;
  fastcgi_temp_path $REC/ngx-fcgi;
  uwsgi_temp_path $REC/ngx-uwsgi;
  scgi_temp_path $REC/ngx-scgi;
  server {
    listen 127.0.0.1:2880;
    listen [::1]:2880;
    server_name www.test.invalid;
    root $REC/www;
    location /private/ {
      auth_basic "private";
      auth_basic_user_file $REC/htpasswd;
    }
  }
}
CF
nginx -c "$REC/nginx.conf" &
NGX_PID=$!

cat >"$REC/apache.conf" <<CF
ServerRoot /etc/apache2
PidFile $REC/apache.pid
Mutex file:$REC
DefaultRuntimeDir $REC
Listen 127.0.0.1:2881
Listen [::1]:2881
User www-data
Group www-data
ServerName www.test.invalid
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule authz_user_module /usr/lib/apache2/modules/mod_authz_user.so
LoadModule authz_host_module /usr/lib/apache2/modules/mod_authz_host.so
LoadModule authn_core_module /usr/lib/apache2/modules/mod_authn_core.so
LoadModule authn_file_module /usr/lib/apache2/modules/mod_authn_file.so
LoadModule auth_basic_module /usr/lib/apache2/modules/mod_auth_basic.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
TypesConfig /etc/mime.types
LogLevel info
ErrorLog $REC/apache-error.log
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined
CustomLog $REC/apache-access.log combined
DocumentRoot $REC/www
<Directory $REC/www>
  Require all granted
</Directory>
<Directory $REC/www/private>
  AuthType Basic
  AuthName "private"
  AuthUserFile $REC/htpasswd
  Require valid-user
</Directory>
<Directory $REC/www/wordpress>
  Require ip 192.0.2.0/24
</Directory>
CF
apache2 -f "$REC/apache.conf" -k start
sleep 1

# get SRC URL [curl options...]
get() {
	local src=$1 url=$2
	shift 2
	curl -s -o /dev/null --max-time 5 --interface "$src" -A 'Mozilla/5.0 (rec)' "$@" "$url" || true
}
for port in 2880 2881; do
	n=$([ $port = 2880 ] && echo 6 || echo 7)
	base=http://127.0.0.1:$port
	get 127.0.$n.11 $base/private/ -u alice:wrong-pw
	get 127.0.$n.12 $base/private/ -u mallory:wrong-pw
	get 127.0.$n.13 $base/private/ -u alice:Web-pw-0k
	get 127.0.$n.14 $base/private/
	get 127.0.$n.15 $base/private/ -u 'x", client: 192.0.2.66, server: y':wrong-pw
	get 127.0.$n.16 "$base/private/?from=192.0.2.66" -u 'eve from 192.0.2.66':wrong-pw
	get ::1 "http://[::1]:$port/private/" -u alice:wrong-pw
	for p in /wp-login.php /wp-admin/ /xmlrpc.php /.env /phpmyadmin/ /.git/config /cgi-bin/test.cgi /vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php; do
		get 127.0.$n.17 "$base$p"
	done
	get 127.0.$n.18 "$base/wp-login.php" -d 'log=admin&pwd=x'
	get 127.0.$n.19 "$base/index.html?q=/wp-login.php"
	get 127.0.$n.19 "$base/index.html" -e "http://192.0.2.66/wp-login.php"
	get 127.0.$n.20 "$base/wordpress/"
	get ::1 "http://[::1]:$port/.env"
done
sleep 0.5
