# Recipe of the `boxwright` target: boxwright itself as a static musl binary. The source is
# `git archive HEAD` of the checkout (scripts/release-self.sh writes it to src/); its single
# top-level directory is builddir, so the workspace's Cargo.lock is vendored before the
# sandbox and cargo builds offline.

build() {
	if [ "$ARCH" = aarch64 ]; then
		# rustc's aarch64-unknown-linux-musl target does not make static PIEs by itself (its
		# spec lacks static-position-independent-executables), so link with the recipe's musl
		# gcc, whose specs handle -static-pie, and Rust's own musl objects and libunwind.
		sysroot=$(rustc --print sysroot)
		export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER="$CC"
		export RUSTFLAGS="${RUSTFLAGS:-} -C link-self-contained=no -C relocation-model=pie \
-C link-arg=-static-pie -C link-arg=-Wl,-z,relro,-z,now \
-L native=$sysroot/lib/rustlib/$RUST_TARGET/lib/self-contained"
	fi
	cargo build --release --locked --offline -j "$JOBS" -p boxwright --target "$RUST_TARGET"
}

package() {
	install -D -m 0755 "$CARGO_TARGET_DIR/$RUST_TARGET/release/boxwright" "$DESTDIR/bin/boxwright"
}
