//! A stand-in database for the few moments while the store file is closed and reopened
//! (see [`super::Historian::reopen`]): redb refuses every write after a failed commit
//! until the file is reopened. The stand-in is created empty in memory, then fails every
//! read and write, so that nothing is ever stored in it or served from it as if it were
//! the real store.

use std::sync::atomic::{AtomicBool, Ordering};

use redb::backends::InMemoryBackend;
use redb::{Database, StorageBackend};

#[derive(Debug)]
struct Unavailable {
    inner: InMemoryBackend,
    closed: AtomicBool,
}

impl Unavailable {
    fn check(&self) -> std::io::Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(std::io::Error::other("the store file is being reopened after a write failure"))
        } else {
            Ok(())
        }
    }
}

/// Shares the switch with the backend that redb owns.
#[derive(Debug)]
struct Shared(std::sync::Arc<Unavailable>);

impl StorageBackend for Shared {
    fn len(&self) -> std::io::Result<u64> {
        self.0.check()?;
        self.0.inner.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        self.0.check()?;
        self.0.inner.read(offset, out)
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.0.check()?;
        self.0.inner.set_len(len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.0.check()?;
        self.0.inner.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.0.check()?;
        self.0.inner.write(offset, data)
    }
}

/// An empty database whose every later operation fails.
pub fn database() -> Result<Database, redb::DatabaseError> {
    let backend = std::sync::Arc::new(Unavailable { inner: InMemoryBackend::new(), closed: AtomicBool::new(false) });
    let db = Database::builder().create_with_backend(Shared(backend.clone()))?;
    backend.closed.store(true, Ordering::Release);
    Ok(db)
}
