# Recipe of the `openssl` target: libssl.a and libcrypto.a with their headers and .pc files,
# installed with prefix / so the output is include/, lib/ and lib/pkgconfig/. Only the libraries
# are built (make build_libs): no openssl program, no tests, no manuals.
#
# Everything a static binary cannot load at run time is left out, and its code with it:
# no-shared (no .so), no-dso/no-module (providers built into libcrypto, no dlopen),
# no-engine (nginx compiles its ssl_engine support out under OPENSSL_NO_ENGINE),
# no-legacy (the legacy provider: MD2, RC4-in-provider form and friends).

build() {
	local os
	case "$ARCH" in
	x86_64) os=linux-x86_64 ;;
	aarch64) os=linux-aarch64 ;;
	*) echo "openssl: no Configure target for $ARCH" >&2; return 1 ;;
	esac
	# Configure takes CC, CFLAGS and LDFLAGS from the environment (CFLAGS replaces its -O3).
	./Configure "$os" \
		--prefix=/ \
		--libdir=lib \
		--openssldir=/etc/ssl \
		no-shared \
		no-dso \
		no-module \
		no-engine \
		no-legacy \
		no-tests
	make -j"$JOBS" build_libs
}

package() {
	make install_dev DESTDIR="$DESTDIR"
}
