# Recipe of the `distro` target: the pieces of a small WSL distribution, built the way the
# 404 distro pipeline builds them: the musl Rust proxy and the eBPF TTL editor, from the
# sources of the static-proxy and ttl-editor targets. `boxwright image build distro
# --format rootfs` then packs them with rootfs/ into a flat tarball for `wsl --import`.

build() {
	cargo build --release --locked --offline \
		--manifest-path "$TARGETDIR/../static-proxy/crate/Cargo.toml" --target "$RUST_TARGET"
	clang -O2 -g0 -target bpf -c "$TARGETDIR/../ttl-editor/ttl_editor.c" -o ttl_editor.o
}

package() {
	install -D -m 0755 "$CARGO_TARGET_DIR/$RUST_TARGET/release/static_proxy" "$DESTDIR/bin/static"
	install -D -m 0644 ttl_editor.o "$DESTDIR/lib/bpf/ttl_editor.o"
}
