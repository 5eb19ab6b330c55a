//! Getting a file's bytes to the parser without reading more than it needs.
//!
//! The first four bytes tell ELF from the rest. An ELF file is then read lazily: `object`
//! asks for the ranges it parses (headers, the dynamic segment, the symbol tables and their
//! strings) and only those are read, each once, with positioned reads. A stripped 100 MB
//! shared library costs a few kilobytes of I/O. Reading small files whole with one `read`
//! was measured too: slower over /usr/lib, where most files are not ELF at all.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

use object::read::{ReadCache, ReadCacheOps};

use crate::Error;
use crate::parse::{self, MAGIC};
use crate::report::FileReport;

/// Reads and reports one file, which should be a regular file (opening a FIFO blocks).
///
/// Most files in a tree are not ELF: for them this costs an `open`, one small `read` and a
/// `close`. ELF files are then read lazily, whatever their size.
pub fn inspect(path: &Path) -> Result<FileReport, Error> {
    let read_error = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    let mut magic = [0; MAGIC.len()];
    if read_up_to(&file, &mut magic).map_err(read_error)? < magic.len() || &magic != MAGIC {
        return Ok(FileReport::not_elf(path));
    }
    let metadata = file.metadata().map_err(read_error)?;
    if !metadata.is_file() {
        return Err(Error::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let cache = ReadCache::new(PositionedFile {
        file,
        len: metadata.len(),
        position: 0,
    });
    Ok(match parse::elf_report(&cache) {
        Ok(elf) => FileReport::elf(path, elf),
        Err(reason) => FileReport::malformed(path, reason),
    })
}

/// Fills `buf` from the file's current position, or as much as there is; returns the count.
fn read_up_to(mut file: &File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match Read::read(&mut file, &mut buf[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A file read with `pread`, so the cache's seeks cost no system call. Its length is fixed
/// when opened: a file that shrinks meanwhile makes reads fail, which reports it malformed.
struct PositionedFile {
    file: File,
    len: u64,
    position: u64,
}

impl ReadCacheOps for PositionedFile {
    fn len(&mut self) -> Result<u64, ()> {
        Ok(self.len)
    }

    fn seek(&mut self, position: u64) -> Result<u64, ()> {
        self.position = position;
        Ok(position)
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ()> {
        let count = self.file.read_at(buf, self.position).map_err(|_| ())?;
        self.position += count as u64;
        Ok(count)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), ()> {
        self.file
            .read_exact_at(buf, self.position)
            .map_err(|_| ())?;
        self.position += buf.len() as u64;
        Ok(())
    }
}
