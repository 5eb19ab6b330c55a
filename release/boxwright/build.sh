# Recipe of the `boxwright` target: boxwright itself as a static musl binary. The source is
# `git archive HEAD` of the checkout (scripts/release-self.sh writes it to src/); its single
# top-level directory is builddir, so the workspace's Cargo.lock is vendored before the
# sandbox and cargo builds offline.

build() {
	cargo build --release --locked --offline -j "$JOBS" -p boxwright --target "$RUST_TARGET"
}

package() {
	install -D -m 0755 "$CARGO_TARGET_DIR/$RUST_TARGET/release/boxwright" "$DESTDIR/bin/boxwright"
}
