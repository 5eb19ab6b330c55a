# Recipe of the `crypt` target: musl's own crypt(3) as a static library, libcrypt.a + crypt.h.
# Debian's musl-dev leaves crypt out of libc.a and ships no crypt.h (Debian bug 947193), so
# programs that call crypt() (nginx's auth_basic) need this. builddir is musl-$MUSL_VERSION.
#
# musl compiles src/crypt/ against its internal headers (src/include/features.h for `hidden`
# and `weak_alias`, src/include/crypt.h for the __crypt_* prototypes); rather than putting all
# of src/include/ (wrappers of every libc header) in front of the installed musl headers, the
# few lines the crypt sources use are force-included from build/internal.h.

build() {
	mkdir -p build/include build/obj
	install -m 0644 include/crypt.h build/include/crypt.h
	cat >build/internal.h <<'EOH'
/* What musl's src/include/features.h and src/include/crypt.h give src/crypt/. */
#include <crypt.h>
#define hidden __attribute__((__visibility__("hidden")))
#define weak_alias(old, new) \
	extern __typeof(old) new __attribute__((__weak__, __alias__(#old)))
hidden char *__crypt_r(const char *, const char *, struct crypt_data *);
hidden char *__crypt_des(const char *, const char *, char *);
hidden char *__crypt_md5(const char *, const char *, char *);
hidden char *__crypt_blowfish(const char *, const char *, char *);
hidden char *__crypt_sha256(const char *, const char *, char *);
hidden char *__crypt_sha512(const char *, const char *, char *);
EOH
	local src
	for src in src/crypt/*.c; do
		"$CC" $CFLAGS -std=c99 -D_XOPEN_SOURCE=700 -Ibuild/include -include build/internal.h \
			-c "$src" -o "build/obj/$(basename "$src" .c).o"
	done
	rm -f build/libcrypt.a
	ar rcD build/libcrypt.a build/obj/*.o
	ranlib -D build/libcrypt.a
}

check() {
	# Known answers (from glibc's libxcrypt) for each hash method musl implements.
	cat >build/t.c <<'EOT'
#include <crypt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static const char *const cases[][2] = {
	{"ab", "abIJ16Id/Pkxc"},
	{"$1$saltsalt$", "$1$saltsalt$iXT562H4z/Age.w7OYLRZ0"},
	{"$2b$05$abcdefghijklmnopqrstuu", "$2b$05$abcdefghijklmnopqrstuuNzZVVCP.r1XpLzg2VztMX0a0ESeqK0q"},
	{"$5$saltsalt$", "$5$saltsalt$rHACbXBHK4oQw.i23j7yJgKCe5hPa2Uas/h9pR4cyH0"},
	{"$6$saltsalt$", "$6$saltsalt$uwRMh7BYO2a1cHv/sA.UqI1UPJnf8UOpYaU0TGED4ithH6vtWKZllTUzqbv9yPnrfnOmXchvJeLZhmTRNj/pY."},
};
int main(void)
{
	int bad = 0;
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct crypt_data data = {0};
		const char *a = crypt("boxwright", cases[i][0]);
		const char *b = crypt_r("boxwright", cases[i][0], &data);
		if (!a || !b || strcmp(a, cases[i][1]) || strcmp(b, cases[i][1])) {
			printf("FAIL %s: %s\n", cases[i][0], a ? a : "(null)");
			bad = 1;
		}
	}
	return bad;
}
EOT
	"$CC" $CFLAGS -Ibuild/include build/t.c -o build/t $LDFLAGS -Lbuild -lcrypt
	./build/t
}

package() {
	install -D -m 0644 build/libcrypt.a "$DESTDIR/lib/libcrypt.a"
	install -D -m 0644 build/include/crypt.h "$DESTDIR/include/crypt.h"
}
