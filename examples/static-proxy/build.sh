# Recipe of the `static-proxy` target: a dependency-free Rust TCP proxy built for the musl
# target (RUST_TARGET), which links a static PIE by default. The crate lives in this
# directory (TARGETDIR), so it has no download.

build() {
	cargo build --release --locked --offline \
		--manifest-path "$TARGETDIR/crate/Cargo.toml" --target "$RUST_TARGET"
}

check() {
	cargo test --release --locked --offline \
		--manifest-path "$TARGETDIR/crate/Cargo.toml" --target "$RUST_TARGET"
}

package() {
	install -D -m 0755 "$CARGO_TARGET_DIR/$RUST_TARGET/release/static_proxy" \
		"$DESTDIR/bin/static_proxy"
}
