# Recipe of the `pcre2` target: the 8-bit PCRE2 libraries, static only (libpcre2-8.a,
# libpcre2-posix.a, pcre2.h, pcre2posix.h and their .pc files), installed with prefix / so the
# output is include/, lib/ and lib/pkgconfig/. PCRE2 has no C++ parts; the programs (pcre2grep,
# pcre2test, pcre2-config) are neither built nor installed.

build() {
	./configure \
		--prefix=/ \
		--disable-shared \
		--enable-static \
		--disable-pcre2grep-libz \
		--disable-pcre2grep-libbz2 \
		--disable-pcre2test-libedit \
		--disable-pcre2test-libreadline
	make -j"$JOBS" libpcre2-8.la libpcre2-posix.la
}

package() {
	make install-libLTLIBRARIES install-includeHEADERS install-nodist_includeHEADERS \
		install-pkgconfigDATA DESTDIR="$DESTDIR"
	# libtool archives point at the build prefix; a static .a needs none of it.
	rm -f "$DESTDIR"/lib/*.la
}
