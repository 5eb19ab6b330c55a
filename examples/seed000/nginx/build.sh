# Recipe of the `nginx` target: nginx as a hardened static PIE against musl, linked with the
# static libraries of its build_depends (zlib, pcre2, openssl, crypt), found through SYSROOT:
# CPPFLAGS has -I$SYSROOT/include and LDFLAGS -L$SYSROOT/lib.
#
# Every compiled-in path except the prefix is nginx's relative default (conf/nginx.conf,
# logs/error.log, logs/nginx.pid, logs/access.log, *_temp/), so `sbin/nginx -p PREFIX -c CONF`
# runs from any directory. nginx's configure uses CFLAGS from the environment as they are
# (instead of its own -O -W -Wall -Werror -g); nginx -V shows only --with-cc-opt/--with-ld-opt.

build() {
	./configure \
		--prefix=/var/lib/nginx \
		--with-cc-opt="$CPPFLAGS" \
		--with-ld-opt="$LDFLAGS" \
		--with-threads \
		--with-file-aio \
		--with-pcre \
		--with-http_ssl_module \
		--with-http_v2_module \
		--with-http_realip_module \
		--with-http_sub_module \
		--with-http_gunzip_module \
		--with-http_gzip_static_module \
		--with-http_auth_request_module \
		--with-http_secure_link_module \
		--with-http_stub_status_module \
		--with-stream \
		--with-stream_ssl_module \
		--with-stream_realip_module \
		--with-stream_ssl_preread_module
	# configure fails without OpenSSL, PCRE2 or zlib, but only skips crypt(): insist on it
	# (Linux builds include <crypt.h> unconditionally and use crypt_r() from -lcrypt).
	grep -q '^#define NGX_HAVE_GNU_CRYPT_R  1' objs/ngx_auto_config.h
	grep -q -- '-lcrypt' objs/Makefile
	make -j"$JOBS"
}

check() {
	# Serve a file on a loopback port (the sandbox has its own network namespace).
	local prefix="$TMPDIR/nginx" port=18080 reply
	mkdir -p "$prefix/logs" "$prefix/html"
	echo "boxwright nginx $VERSION" >"$prefix/html/index.html"
	# As root (uid 0 in the sandbox's user namespace) nginx chowns its temp directories to the
	# worker user, and nobody (65534) is not mapped there: stay root. Not as root, nginx only
	# warns that the directive is ignored.
	cat >"$prefix/nginx.conf" <<EOC
user root root;
daemon off;
master_process off;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
	access_log off;
	server {
		listen 127.0.0.1:$port;
		root html;
	}
}
EOC
	objs/nginx -t -p "$prefix/" -c nginx.conf
	objs/nginx -p "$prefix/" -c nginx.conf &
	local pid=$! i
	for i in $(seq 50); do
		if reply=$(exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$port" &&
			printf 'GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 &&
			cat <&3); then
			break
		fi
		sleep 0.1
	done
	kill "$pid"
	wait "$pid" || true
	printf '%s\n' "$reply" | grep -q "^boxwright nginx $VERSION" || {
		printf 'no file served: %s\n' "$reply" >&2
		cat "$prefix/logs/error.log" >&2
		return 1
	}
}

package() {
	install -D -m 0755 objs/nginx "$DESTDIR/sbin/nginx"
	"${STRIP:-strip}" "$DESTDIR/sbin/nginx"
}
