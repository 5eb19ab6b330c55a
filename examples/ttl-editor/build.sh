# Recipe of the `ttl-editor` target: an eBPF XDP object compiled with clang for the BPF
# machine. Its source lives in this directory (TARGETDIR).

build() {
	clang -O2 -g0 -target bpf -c "$TARGETDIR/ttl_editor.c" -o ttl_editor.o
}

package() {
	install -D -m 0644 ttl_editor.o "$DESTDIR/lib/bpf/ttl_editor.o"
}
