# Recipe of the `dnsmasq` target: dnsmasq as a hardened static PIE against musl, with its default
# feature set (DHCP, DHCPv6, RA, TFTP, authoritative DNS, ipset, loop detection, inotify).
# It needs the Linux UAPI headers (netlink, netfilter) the toolchain puts after musl's.

build() {
	# The Makefile's own CFLAGS (-Wall -W -O2) and LDFLAGS are replaced by the hardened ones.
	make -j"$JOBS" CC="$CC" CFLAGS="$CFLAGS -Wall -W" LDFLAGS="$LDFLAGS" PREFIX=/
}

check() {
	./src/dnsmasq --version | grep -q "^Dnsmasq version $VERSION "
	./src/dnsmasq --test --conf-file=/dev/null
}

package() {
	install -D -m 0755 src/dnsmasq "$DESTDIR/sbin/dnsmasq"
	"${STRIP:-strip}" "$DESTDIR/sbin/dnsmasq"
}
