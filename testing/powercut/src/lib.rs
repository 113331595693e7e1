//! Power cuts, simulated for tests. Loaded into a server with `LD_PRELOAD`, this library
//! keeps, beside every file under `POWERCUT_WATCH`, a copy in `POWERCUT_SHADOW` holding only
//! what an `fsync` or `fdatasync` made durable: the writes (`pwrite`) and truncations that had
//! finished before the sync began, in order. Kill the server and start one on the copies: it
//! finds what a power cut at that moment could have left, at worst (nothing unsynced survives).
//!
//! A process kill cannot show a missing flush (the page cache survives it); this can, without
//! root or a device mapper. Syncs are serialised while it is loaded, and each write is copied:
//! it is for tests, not for speed.

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::fs::{File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use libc::{c_int, off64_t, size_t, ssize_t};

/// A change to a watched file, not yet made durable.
enum Op {
    Write { offset: u64, data: Vec<u8> },
    Truncate(u64),
}

struct Config {
    watch: PathBuf,
    shadow: PathBuf,
}

/// None when the environment names no directories: the library then only passes calls on.
fn config() -> Option<&'static Config> {
    static CONFIG: OnceLock<Option<Config>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let watch = std::env::var_os("POWERCUT_WATCH")?;
            let shadow = std::env::var_os("POWERCUT_SHADOW")?;
            Some(Config {
                watch: std::fs::canonicalize(watch).ok()?,
                shadow: shadow.into(),
            })
        })
        .as_ref()
}

/// Changes made since the last sync, by file.
static PENDING: Mutex<BTreeMap<PathBuf, Vec<Op>>> = Mutex::new(BTreeMap::new());
/// Held from a sync's start until its changes are copied, so copies land in order.
static SYNCING: Mutex<()> = Mutex::new(());

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The watched file `fd` is open on, if any: one directly in the watched directory, as the
/// copies are kept side by side under the file's name.
fn watched(fd: c_int) -> Option<(&'static Config, PathBuf)> {
    let config = config()?;
    let path = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    (path.parent() == Some(config.watch.as_path())).then_some((config, path))
}

fn record(fd: c_int, op: impl FnOnce() -> Op) {
    if let Some((_, path)) = watched(fd) {
        lock(&PENDING).entry(path).or_default().push(op());
    }
}

/// Runs a real sync of `fd`; once it succeeds, what was pending before it began is copied.
fn sync(fd: c_int, real: impl FnOnce() -> c_int) -> c_int {
    let Some((config, path)) = watched(fd) else {
        return real();
    };
    let _syncing = lock(&SYNCING);
    let ops = lock(&PENDING).remove(&path).unwrap_or_default();
    let result = real();
    if result == 0 && path.is_file() {
        if let Err(e) = copy(config, &path, ops) {
            eprintln!("powercut: copying {} failed: {e}", path.display());
            std::process::abort();
        }
    }
    result
}

fn copy(config: &Config, path: &Path, ops: Vec<Op>) -> std::io::Result<()> {
    let name = path.file_name().unwrap_or_default();
    let shadow: File = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(config.shadow.join(name))?;
    for op in ops {
        match op {
            Op::Write { offset, data } => shadow.write_all_at(&data, offset)?,
            Op::Truncate(len) => shadow.set_len(len)?,
        }
    }
    Ok(())
}

/// # Safety
/// As `pwrite64(2)`.
#[no_mangle]
pub unsafe extern "C" fn pwrite64(
    fd: c_int,
    buf: *const c_void,
    count: size_t,
    offset: off64_t,
) -> ssize_t {
    let written = libc::syscall(libc::SYS_pwrite64, fd, buf, count, offset) as ssize_t;
    if written > 0 {
        record(fd, || Op::Write {
            offset: offset as u64,
            // SAFETY: the kernel just read `written` bytes from `buf`.
            data: unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), written as usize) }
                .to_vec(),
        });
    }
    written
}

/// # Safety
/// As `pwrite(2)`.
#[no_mangle]
pub unsafe extern "C" fn pwrite(
    fd: c_int,
    buf: *const c_void,
    count: size_t,
    offset: off64_t,
) -> ssize_t {
    pwrite64(fd, buf, count, offset)
}

/// # Safety
/// As `ftruncate64(2)`.
#[no_mangle]
pub unsafe extern "C" fn ftruncate64(fd: c_int, length: off64_t) -> c_int {
    let result = libc::syscall(libc::SYS_ftruncate, fd, length) as c_int;
    if result == 0 {
        record(fd, || Op::Truncate(length as u64));
    }
    result
}

/// # Safety
/// As `ftruncate(2)`.
#[no_mangle]
pub unsafe extern "C" fn ftruncate(fd: c_int, length: off64_t) -> c_int {
    ftruncate64(fd, length)
}

/// # Safety
/// As `fsync(2)`.
#[no_mangle]
pub unsafe extern "C" fn fsync(fd: c_int) -> c_int {
    sync(fd, || libc::syscall(libc::SYS_fsync, fd) as c_int)
}

/// # Safety
/// As `fdatasync(2)`.
#[no_mangle]
pub unsafe extern "C" fn fdatasync(fd: c_int) -> c_int {
    sync(fd, || libc::syscall(libc::SYS_fdatasync, fd) as c_int)
}

/// # Safety
/// As `unlink(2)`. Taken as durable at once: SQLite ends a rollback journal's transaction by
/// deleting the journal, and a copy left behind would undo that transaction on the next start.
#[no_mangle]
pub unsafe extern "C" fn unlink(path: *const libc::c_char) -> c_int {
    let result = libc::syscall(libc::SYS_unlink, path) as c_int;
    if result == 0 {
        // SAFETY: `unlink` takes a NUL-terminated path, as its caller promised.
        let name = unsafe { std::ffi::CStr::from_ptr(path) };
        let path = Path::new(std::ffi::OsStr::from_bytes(name.to_bytes()));
        if let (Some(config), Some(dir), Some(file)) = (config(), path.parent(), path.file_name()) {
            if std::fs::canonicalize(dir).is_ok_and(|dir| dir == config.watch) {
                let _syncing = lock(&SYNCING);
                lock(&PENDING).remove(&config.watch.join(file));
                let _ = std::fs::remove_file(config.shadow.join(file));
            }
        }
    }
    result
}
