#!/usr/bin/env python3
"""Makes the regression inputs in this directory: small files that expand past the fuzzers'
200 MB RSS limit in code that held them whole (issue 19). scripts/fuzz.sh runs them before
fuzzing, like the seeds.

- packages/deb-xz-gnu-long-name-300mb.deb, packages/deb-xz-pax-header-300mb.deb: a valid
  control member, then a data.tar.xz whose first entry is a GNU long name (`L`) or a pax
  extended header (`x`) of 300 MiB, about 46 KB compressed.
- metadata/env-doubling-27-levels.json: `env` entries X1 = "{X0}{X0}" ... X27 = "{X26}{X26}",
  2 GiB once resolved; metadata/template-doubling-27-levels.json: the same, used in a
  release file.

Usage: fuzz/regressions/make.py (Python 3 standard library only).
"""

import gzip
import io
import json
import lzma
import pathlib
import tarfile

HERE = pathlib.Path(__file__).resolve().parent
SIZE = 300 << 20


def ar_member(name: str, data: bytes) -> bytes:
    header = (
        name.ljust(16)
        + "0".ljust(12)
        + "0".ljust(6)
        + "0".ljust(6)
        + "100644".ljust(8)
        + str(len(data)).ljust(10)
        + "`\n"
    ).encode()
    return header + data + (b"\n" if len(data) % 2 else b"")


def tar_header(name: str, typeflag: bytes, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = typeflag
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def control_tar_gz() -> bytes:
    body = b"Package: xx\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: x <x@x>\nDescription: x\n"
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("./control")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return gzip.compress(out.getvalue(), mtime=0)


def data_tar_xz(name: str, typeflag: bytes) -> bytes:
    """A data tar whose first entry's content is SIZE bytes of `a`, compressed as it goes."""
    compressor = lzma.LZMACompressor(
        format=lzma.FORMAT_XZ, filters=[{"id": lzma.FILTER_LZMA2, "dict_size": 1 << 20}]
    )
    parts = [compressor.compress(tar_header(name, typeflag, SIZE))]
    chunk = b"a" * (1 << 20)
    for _ in range(SIZE >> 20):
        parts.append(compressor.compress(chunk))
    parts.append(compressor.compress(tar_header("./x", tarfile.REGTYPE, 0) + b"\0" * 1024))
    parts.append(compressor.flush())
    return b"".join(parts)


def deb(data: bytes) -> bytes:
    return (
        b"!<arch>\n"
        + ar_member("debian-binary", b"2.0\n")
        + ar_member("control.tar.gz", control_tar_gz())
        + ar_member("data.tar.xz", data)
    )


def doubling_env(levels: int) -> dict:
    env = {"V": "1", "X0": "abcdefghijklmnop"}
    for i in range(1, levels + 1):
        env[f"X{i}"] = f"{{X{i - 1}}}{{X{i - 1}}}"
    return env


def main() -> None:
    packages = HERE / "packages"
    packages.mkdir(exist_ok=True)
    (packages / "deb-xz-gnu-long-name-300mb.deb").write_bytes(
        deb(data_tar_xz("././@LongLink", b"L"))
    )
    (packages / "deb-xz-pax-header-300mb.deb").write_bytes(
        deb(data_tar_xz("./PaxHeader", b"x"))
    )
    metadata = HERE / "metadata"
    metadata.mkdir(exist_ok=True)
    env = doubling_env(27)
    (metadata / "env-doubling-27-levels.json").write_text(
        json.dumps({"bomb": {"version_env_var": "V", "env": env}})
    )
    (metadata / "template-doubling-27-levels.json").write_text(
        json.dumps({"bomb": {"version_env_var": "V", "env": env, "release_files": ["bin/{X27}"]}})
    )


if __name__ == "__main__":
    main()
