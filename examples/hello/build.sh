# Recipe of the `hello` target: a C program built as a hardened static PIE against musl.
# boxwright unpacks hello-$VERSION.tar.gz and runs these functions from its top directory.

build() {
	make CC="$CC" CFLAGS="$CFLAGS" LDFLAGS="$LDFLAGS" VERSION="$VERSION" -j"$JOBS"
}

check() {
	./hello --version | grep -qx "hello $VERSION"
}

package() {
	install -D -m 0755 hello "$DESTDIR/bin/hello"
	strip "$DESTDIR/bin/hello"
}
