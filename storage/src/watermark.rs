//! The watermark: how many writes the store has acknowledged, kept outside sled.
//!
//! sled 0.34 cannot tell a damaged end of its log from a write torn by a crash, so when the tail of
//! `db` is truncated or corrupt it silently recovers the intact prefix — the store would open with
//! its last changes gone. Every write transaction therefore counts itself in the `meta` tree
//! (`writes`), and after sled's fsync the same count goes to the small file
//! `switchyard-store.watermark`. At open, sled's count must be the watermark or one more (a crash
//! between the two fsyncs); less means acknowledged writes were lost, and the store is refused.
//!
//! The file holds two 24-byte slots, written alternately (count modulo 2) and each checked by a
//! hash, so a write torn by a crash leaves the other slot, one count behind, intact. Deleting the
//! file is the operator's way to accept a store as it is (after restoring a backup on purpose).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

pub(crate) const WATERMARK_FILE: &str = "switchyard-store.watermark";

const MAGIC: &[u8; 4] = b"SYWM";
const SLOT: usize = 24;

/// The open watermark file.
pub(crate) struct Watermark {
    file: File,
}

fn check(count: u64) -> [u8; 8] {
    let digest = Sha256::new().chain_update(MAGIC).chain_update(count.to_be_bytes()).finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

fn slot(count: u64) -> [u8; SLOT] {
    let mut out = [0u8; SLOT];
    out[..4].copy_from_slice(MAGIC);
    out[4..12].copy_from_slice(&count.to_be_bytes());
    out[12..20].copy_from_slice(&check(count));
    out
}

fn parse(bytes: &[u8]) -> Option<u64> {
    let count = u64::from_be_bytes(bytes.get(4..12)?.try_into().ok()?);
    (bytes.get(..4)? == MAGIC && bytes.get(12..20)? == check(count)).then_some(count)
}

impl Watermark {
    /// A new watermark file at `count`, durably.
    pub(crate) fn create(dir: &Path, count: u64) -> std::io::Result<Self> {
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(true).open(dir.join(WATERMARK_FILE))?;
        file.write_all(&[slot(count), slot(count)].concat())?;
        file.sync_all()?;
        File::open(dir)?.sync_all()?;
        Ok(Self { file })
    }

    /// The watermark file of `dir`, if there is one.
    pub(crate) fn open(dir: &Path) -> std::io::Result<Option<Self>> {
        match OpenOptions::new().read(true).write(true).open(dir.join(WATERMARK_FILE)) {
            Ok(file) => Ok(Some(Self { file })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The highest count in an intact slot; `None` if neither slot is intact.
    pub(crate) fn read(&mut self) -> std::io::Result<Option<u64>> {
        let mut bytes = Vec::with_capacity(2 * SLOT);
        self.file.seek(SeekFrom::Start(0))?;
        (&mut self.file).take(2 * SLOT as u64).read_to_end(&mut bytes)?;
        let slots = bytes.chunks(SLOT).filter_map(parse);
        Ok(slots.max())
    }

    /// Records `count`, durably, in its slot.
    pub(crate) fn write(&mut self, count: u64) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start((count % 2) * SLOT as u64))?;
        self.file.write_all(&slot(count))?;
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_highest_intact_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = Watermark::create(dir.path(), 0).expect("creates");
        assert_eq!(w.read().ok(), Some(Some(0)));
        for n in 1..=5 {
            w.write(n).expect("writes");
        }
        let mut w = Watermark::open(dir.path()).expect("opens").expect("exists");
        assert_eq!(w.read().ok(), Some(Some(5)));
    }

    #[test]
    fn a_torn_slot_leaves_the_previous_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = Watermark::create(dir.path(), 6).expect("creates");
        w.write(7).expect("writes");
        let path = dir.path().join(WATERMARK_FILE);
        let mut bytes = std::fs::read(&path).expect("reads");
        bytes[SLOT + 9] ^= 0xFF; // slot 1 holds 7
        std::fs::write(&path, &bytes).expect("writes");
        assert_eq!(w.read().ok(), Some(Some(6)));
        std::fs::write(&path, b"garbage").expect("writes");
        assert_eq!(w.read().ok(), Some(None));
    }

    #[test]
    fn a_missing_file_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(Watermark::open(dir.path()).expect("looks").is_none());
    }
}
