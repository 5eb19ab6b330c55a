# Recipe of the `zlib` target: zlib as a static library (libz.a, zlib.h, zconf.h, zlib.pc),
# installed with prefix / so the output is include/, lib/ and lib/pkgconfig/.
# builddir is zlib-$ZLIB_VERSION.dfsg (Debian's repack of the upstream tarball).

build() {
	# zlib's configure reads CC, CFLAGS and LDFLAGS from the environment.
	./configure --static --prefix=/
	make -j"$JOBS" libz.a
}

check() {
	# example and minigzip, linked as static PIEs against libz.a.
	make -j"$JOBS" test
}

package() {
	make install DESTDIR="$DESTDIR"
	rm -rf "$DESTDIR/share"
}
