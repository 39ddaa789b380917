//! A durable replica's write-ahead log on disk: the storage behind
//! `minlab_protocols::Output::Persist`. Records are appended as
//! `[length u32 LE][first 4 bytes of SHA-256 of the record][record]`; a step's records are
//! written and `fdatasync`ed together before the step's frames are queued (group commit); a
//! restart point rewrites the file with that record alone (write a temporary file, fsync,
//! rename, fsync the directory), which is the log's compaction.
//!
//! On open, records are read until the first one that is cut short or fails its checksum
//! (a crash in the middle of an append); the file is truncated there. What was cut off was
//! never acknowledged as durable, so no message depending on it was sent.

use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Largest record accepted when reading (a longer length field is corruption).
const RECORD_BYTES_MAX: usize = 64 << 20;

/// An open write-ahead log.
#[derive(Debug)]
pub struct WalFile {
    path: PathBuf,
    file: File,
    pending: Vec<u8>,
}

fn checksum(record: &[u8]) -> [u8; 4] {
    let d = Sha256::digest(record);
    [d[0], d[1], d[2], d[3]]
}

fn frame(out: &mut Vec<u8>, record: &[u8]) {
    out.extend_from_slice(&(record.len() as u32).to_le_bytes());
    out.extend_from_slice(&checksum(record));
    out.extend_from_slice(record);
}

/// Splits `bytes` into its valid records; returns them and the length of the valid prefix.
fn parse(bytes: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while bytes.len() - at >= 8 {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let sum = &bytes[at + 4..at + 8];
        if len > RECORD_BYTES_MAX || bytes.len() - at - 8 < len {
            break;
        }
        let record = &bytes[at + 8..at + 8 + len];
        if checksum(record) != sum {
            break;
        }
        records.push(record.to_vec());
        at += 8 + len;
    }
    (records, at)
}

impl WalFile {
    /// Opens (or creates) the log at `path`, returning it and the records it holds; a torn
    /// tail is cut off.
    pub fn open(path: &Path) -> std::io::Result<(WalFile, Vec<Vec<u8>>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let (records, valid) = parse(&bytes);
        if valid < bytes.len() {
            file.set_len(valid as u64)?;
            file.sync_data()?;
        }
        file.seek(SeekFrom::End(0))?;
        let wal = WalFile {
            path: path.to_path_buf(),
            file,
            pending: Vec::new(),
        };
        Ok((wal, records))
    }

    /// Queues `record`; a restart point first drops everything before it (in the
    /// buffer, and in the file at the next [`WalFile::sync`]).
    pub fn append(&mut self, record: &[u8], restart_point: bool) -> std::io::Result<()> {
        if restart_point {
            self.pending.clear();
            self.rewrite_with(record)?;
            return Ok(());
        }
        frame(&mut self.pending, record);
        Ok(())
    }

    /// Writes what was queued and `fdatasync`s it (one sync per step: group commit).
    pub fn sync(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file.write_all(&self.pending)?;
        self.file.sync_data()?;
        self.pending.clear();
        Ok(())
    }

    /// Replaces the file by one holding `record` alone, atomically.
    fn rewrite_with(&mut self, record: &[u8]) -> std::io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let mut bytes = Vec::with_capacity(record.len() + 8);
        frame(&mut bytes, record);
        {
            let mut f = File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopening_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.log");
        let (mut w, rs) = WalFile::open(&path).unwrap();
        assert!(rs.is_empty());
        w.append(b"one", false).unwrap();
        w.append(b"two", false).unwrap();
        w.sync().unwrap();
        drop(w);
        let (mut w, rs) = WalFile::open(&path).unwrap();
        assert_eq!(rs, vec![b"one".to_vec(), b"two".to_vec()]);
        w.append(b"three", false).unwrap();
        w.sync().unwrap();
        drop(w);
        // A crash in the middle of the last append.
        let len = std::fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 2)
            .unwrap();
        let (_, rs) = WalFile::open(&path).unwrap();
        assert_eq!(rs, vec![b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 * 11, "tail cut");
        // A flipped byte ends the log at that record.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[8 + 3 + 8] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let (_, rs) = WalFile::open(&path).unwrap();
        assert_eq!(rs, vec![b"one".to_vec()]);
    }

    #[test]
    fn a_restart_point_replaces_everything_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.log");
        let (mut w, _) = WalFile::open(&path).unwrap();
        w.append(b"old", false).unwrap();
        w.sync().unwrap();
        w.append(b"base", true).unwrap();
        w.append(b"after", false).unwrap();
        w.sync().unwrap();
        drop(w);
        let (_, rs) = WalFile::open(&path).unwrap();
        assert_eq!(rs, vec![b"base".to_vec(), b"after".to_vec()]);
    }
}
