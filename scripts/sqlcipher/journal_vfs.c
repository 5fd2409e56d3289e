/*
** ironclaw_journal_vfs: the default VFS, a thin shim over "unix" that writes a
** rollback-journal transaction's contiguous writes as one pwrite each run.
**
** Why: SQLite writes each journaled page as three writes (page number, page,
** checksum) after a 512-byte header, then each database page as its own write.
** Under gVisor's ptrace platform every syscall costs ~0.1-0.2 ms of CPU, and a
** warm agent turn journals ~10 pages.
**
** What is buffered:
**  - a main journal's run of appends, which starts with a write of at least
**    512 bytes (a journal header: records always follow one) and goes on while
**    each write starts where the last one ended. Every other journal write (the
**    header's record count, the zero byte that voids a stale header, PERSIST's
**    zeroed header: the small writes that can make a journal hot or not) goes
**    straight out, after the buffer;
**  - while its main journal is open, a database file's run of adjacent page
**    writes (the pager writes a commit's pages in page order).
** At most one file of a database/journal pair holds bytes at a time: a write
** to either writes out the other's first.
**
** When a buffer is written (one pwrite): before any operation on the other
** file of the pair; for a journal, before its xSync, xTruncate, xClose, a
** write outside the run, a read not wholly inside the buffer (a rollback
** reading back its own records is served from memory), a state-changing file
** control; for a database, before anything but a write that continues its run
** and the pure queries (xCheckReservedLock, xSectorSize,
** xDeviceCharacteristics, a few file controls). So no write is ever reordered
** against another operation on the database or its journal; writes are only
** delayed until the next such operation. The files on disk always equal what
** the unix VFS alone would have left at an earlier instant of the same
** transaction, and every sync covers the bytes it covers without the shim. A
** crash (kill -9 or power loss) therefore leaves what it could leave without
** the shim. Nothing is buffered when a commit returns: its last steps (the
** database's sync, the journal's truncation or close) write everything first.
**
** A journal's size is known from its own truncation on (TRUNCATE mode keeps
** it open): a read wholly past it is answered as unix would (zeros,
** SQLITE_IOERR_SHORT_READ) without a pread; the pager makes one such read per
** commit, looking for a stale header after its records.
**
** See docs/contract.md (2026-12-07, the library's default VFS). Registered by
** SQLITE_EXTRA_INIT=ironclaw_journal_vfs_init as the default VFS, named
** "unix-journal"; files opened through "unix" by name are not shimmed.
*/
#include <string.h>
#include "sqlite3.h"

/* The journal header is JOURNAL_HDR_SZ = sector size, at least 512 bytes on unix (powersafe overwrite). */
#define RUN_START_MIN 512
/*
** A run longer than this is written out and a new one starts where it ended.
** It must stay below 128 KiB: unix's seekAndWriteFd() masks every write's
** length with 0x1ffff, so a longer write fails as SQLITE_FULL.
*/
#define RUN_CAP (64 * 1024)

typedef struct ShimFile ShimFile;
struct ShimFile {
  sqlite3_file base;      /* this shim's methods */
  sqlite3_file *pReal;    /* the unix file, allocated right after this struct */
  ShimFile *pDb;          /* a main journal: its database file, while both are open */
  ShimFile *pJournal;     /* a database file: its open main journal */
  int isJournal;          /* opened with SQLITE_OPEN_MAIN_JOURNAL */
  int runActive;          /* an append run is open (iRunStart + nBuf is where it continues) */
  sqlite3_int64 iRunStart;/* file offset of aBuf[0] */
  int nBuf;               /* bytes buffered */
  int nAlloc;             /* size of aBuf */
  sqlite3_int64 iDiskSize;/* a journal's size on disk, known since its own truncation; else -1 */
  unsigned char *aBuf;    /* at most RUN_CAP bytes, while a run is open */
};

static sqlite3_vfs *pUnix; /* the wrapped VFS */

/* A write through to unix; a journal's known size follows it. */
static int writeThrough(ShimFile *p, const void *z, int iAmt, sqlite3_int64 iOfst){
  int rc = p->pReal->pMethods->xWrite(p->pReal, z, iAmt, iOfst);
  if( rc!=SQLITE_OK ) p->iDiskSize = -1;
  else if( p->iDiskSize>=0 && iOfst+iAmt>p->iDiskSize ) p->iDiskSize = iOfst + iAmt;
  return rc;
}

/* Writes the file's buffered bytes (one pwrite); the run goes on at their end unless endRun. */
static int flushRun(ShimFile *p, int endRun){
  if( p->nBuf>0 ){
    int rc = writeThrough(p, p->aBuf, p->nBuf, p->iRunStart);
    /*
    ** Refused (a full disk): the bytes stay. Reads are still served from them
    ** (a rollback restores the connection's cache from its journal records),
    ** and nothing that depends on them goes ahead: this error fails it.
    */
    if( rc!=SQLITE_OK ) return rc;
    p->iRunStart += p->nBuf;
    p->nBuf = 0;
  }
  if( endRun ){
    /* Memory only while a run is open: a host holds hundreds of idle connections. */
    p->runActive = 0;
    sqlite3_free(p->aBuf);
    p->aBuf = 0;
    p->nAlloc = 0;
  }
  return SQLITE_OK;
}

/*
** Writes what the other file of the pair holds (a journal's database, a
** database's journal) before an operation on this one, so no write is
** reordered against it. A database's run ends when written; a journal's run
** goes on (its next append may follow the database operation).
*/
static int flushPartner(ShimFile *p){
  ShimFile *q = p->isJournal ? p->pDb : p->pJournal;
  return q ? flushRun(q, !q->isJournal) : SQLITE_OK;
}

/*
** Writes whatever the pair holds. At most one of the two holds bytes at a
** time (a write to either flushes the other first), so the order does not
** matter. A journal operation ends the journal's run when endRun.
*/
static int flushPair(ShimFile *p, int endRun){
  int rc = flushPartner(p);
  return rc==SQLITE_OK ? flushRun(p, !p->isJournal || endRun) : rc;
}

static int shimClose(sqlite3_file *pFile){
  ShimFile *p = (ShimFile*)pFile;
  int rc = flushPair(p, 1);
  int rc2;
  if( p->isJournal && p->pDb ) p->pDb->pJournal = 0;
  if( !p->isJournal && p->pJournal ) p->pJournal->pDb = 0;
  sqlite3_free(p->aBuf);
  p->aBuf = 0;
  rc2 = p->pReal->pMethods->xClose(p->pReal);
  return rc!=SQLITE_OK ? rc : rc2;
}

static int shimRead(sqlite3_file *pFile, void *zBuf, int iAmt, sqlite3_int64 iOfst){
  ShimFile *p = (ShimFile*)pFile;
  int rc;
  if( p->isJournal ){
    rc = flushPartner(p);
    if( rc!=SQLITE_OK ) return rc;
    /* A rollback reads back records still buffered: serve them, as the file would after a flush. */
    if( p->nBuf>0 && iOfst>=p->iRunStart && iOfst+iAmt<=p->iRunStart+p->nBuf ){
      memcpy(zBuf, p->aBuf+(iOfst-p->iRunStart), iAmt);
      return SQLITE_OK;
    }
    rc = flushRun(p, 0);
    if( rc!=SQLITE_OK ) return rc;
    /*
    ** Wholly past the end of a journal whose size we know (TRUNCATE mode,
    ** after the first commit): what unix answers, without asking. The pager
    ** looks past its records for a stale header at every commit.
    */
    if( p->iDiskSize>=0 && iOfst>=p->iDiskSize ){
      memset(zBuf, 0, iAmt);
      return SQLITE_IOERR_SHORT_READ;
    }
  }else{
    /* A database read sees no journal byte: only its own pages go out. */
    rc = flushRun(p, 1);
    if( rc!=SQLITE_OK ) return rc;
  }
  return p->pReal->pMethods->xRead(p->pReal, zBuf, iAmt, iOfst);
}

/* Appends to the open run; returns 0 when the write is not the run's continuation. */
static int appendToRun(ShimFile *p, const void *z, int iAmt, sqlite3_int64 iOfst, int *pRc){
  if( !p->runActive || iOfst!=p->iRunStart+p->nBuf ) return 0;
  if( p->nBuf+iAmt>RUN_CAP ){
    *pRc = flushRun(p, 0);
    if( *pRc!=SQLITE_OK ) return 1;
    if( iAmt>RUN_CAP ){
      p->runActive = 0;
      return 0;
    }
  }
  if( p->nBuf+iAmt>p->nAlloc ){
    int nNew = p->nAlloc ? p->nAlloc : 16 * 1024;
    unsigned char *aNew;
    while( nNew<p->nBuf+iAmt ) nNew *= 2;
    aNew = sqlite3_realloc(p->aBuf, nNew);
    if( aNew==0 ){
      *pRc = flushRun(p, 1);
      return *pRc!=SQLITE_OK;
    }
    p->aBuf = aNew;
    p->nAlloc = nNew;
  }
  memcpy(p->aBuf+p->nBuf, z, iAmt);
  p->nBuf += iAmt;
  *pRc = SQLITE_OK;
  return 1;
}

static int shimWrite(sqlite3_file *pFile, const void *z, int iAmt, sqlite3_int64 iOfst){
  ShimFile *p = (ShimFile*)pFile;
  int rc = flushPartner(p);
  if( rc!=SQLITE_OK ) return rc;
  if( p->isJournal ){
    if( appendToRun(p, z, iAmt, iOfst, &rc) ) return rc;
    /* Anywhere else: what is buffered goes first, then this write starts a run or goes straight out. */
    rc = flushRun(p, 1);
    if( rc!=SQLITE_OK ) return rc;
    if( iAmt>=RUN_START_MIN ){
      p->runActive = 1;
      p->iRunStart = iOfst;
      if( appendToRun(p, z, iAmt, iOfst, &rc) ) return rc;
    }
  }else{
    /* A rollback-journal transaction writes its pages in page order: adjacent ones go out as one write. */
    if( p->pJournal ){
      if( appendToRun(p, z, iAmt, iOfst, &rc) ) return rc;
      rc = flushRun(p, 1);
      if( rc!=SQLITE_OK ) return rc;
      p->runActive = 1;
      p->iRunStart = iOfst;
      if( appendToRun(p, z, iAmt, iOfst, &rc) ) return rc;
    }
  }
  return writeThrough(p, z, iAmt, iOfst);
}

static int shimTruncate(sqlite3_file *pFile, sqlite3_int64 size){
  ShimFile *p = (ShimFile*)pFile;
  int rc;
  /* Bytes the truncation removes are not written first (nor at all, if the disk refused them). */
  if( p->isJournal && size<=p->iRunStart ) p->nBuf = 0;
  rc = flushPair(p, 1);
  if( rc!=SQLITE_OK ) return rc;
  rc = p->pReal->pMethods->xTruncate(p->pReal, size);
  p->iDiskSize = rc==SQLITE_OK ? size : -1;
  return rc;
}

static int shimSync(sqlite3_file *pFile, int flags){
  ShimFile *p = (ShimFile*)pFile;
  int rc = flushPair(p, 1);
  if( rc!=SQLITE_OK ) return rc;
  return p->pReal->pMethods->xSync(p->pReal, flags);
}

static int shimFileSize(sqlite3_file *pFile, sqlite3_int64 *pSize){
  ShimFile *p = (ShimFile*)pFile;
  int rc = p->isJournal ? flushPartner(p) : flushRun(p, 1);
  if( rc!=SQLITE_OK ) return rc;
  rc = p->pReal->pMethods->xFileSize(p->pReal, pSize);
  /* The size the file would have after a flush (a rollback sizes the journal, then reads it back). */
  if( rc==SQLITE_OK && p->isJournal && p->nBuf>0 && *pSize<p->iRunStart+p->nBuf ){
    *pSize = p->iRunStart + p->nBuf;
  }
  return rc;
}

/*
** Locks neither change nor read file bytes, so a journal's run stays buffered
** across them (the pager takes the database's EXCLUSIVE lock between two
** journal records at commit), and the pager never gives up its RESERVED lock
** while its journal holds appends: it truncates, zeroes or closes it first.
** A database's own pages go out before any lock change of it (once a lock is
** given up, another connection may read them).
*/
static int shimLock(sqlite3_file *pFile, int eLock){
  ShimFile *p = (ShimFile*)pFile;
  int rc = p->isJournal ? SQLITE_OK : flushRun(p, 1);
  if( rc!=SQLITE_OK ) return rc;
  return p->pReal->pMethods->xLock(p->pReal, eLock);
}

static int shimUnlock(sqlite3_file *pFile, int eLock){
  ShimFile *p = (ShimFile*)pFile;
  int rc = p->isJournal ? SQLITE_OK : flushRun(p, 1);
  if( rc!=SQLITE_OK ) return rc;
  return p->pReal->pMethods->xUnlock(p->pReal, eLock);
}

static int shimCheckReservedLock(sqlite3_file *pFile, int *pResOut){
  ShimFile *p = (ShimFile*)pFile;
  return p->pReal->pMethods->xCheckReservedLock(p->pReal, pResOut);
}

static int shimSectorSize(sqlite3_file *pFile){
  ShimFile *p = (ShimFile*)pFile;
  return p->pReal->pMethods->xSectorSize(p->pReal);
}

static int shimDeviceCharacteristics(sqlite3_file *pFile){
  ShimFile *p = (ShimFile*)pFile;
  return p->pReal->pMethods->xDeviceCharacteristics(p->pReal);
}

/* File controls that only set or report connection state (a rollback sets the mmap limit mid-playback). */
static int isPureFileControl(int op){
  switch( op ){
    case SQLITE_FCNTL_MMAP_SIZE: case SQLITE_FCNTL_BUSYHANDLER: case SQLITE_FCNTL_HAS_MOVED:
    case SQLITE_FCNTL_PDB: case SQLITE_FCNTL_VFSNAME: case SQLITE_FCNTL_VFS_POINTER:
    case SQLITE_FCNTL_LOCKSTATE: case SQLITE_FCNTL_LAST_ERRNO: case SQLITE_FCNTL_DATA_VERSION:
      return 1;
  }
  return 0;
}

/* Any other file control, and the WAL's shared memory (no journal is open then), flush first: cheap, never reordered. */
static int shimFileControl(sqlite3_file *pFile, int op, void *pArg){
  ShimFile *p = (ShimFile*)pFile;
  int rc = isPureFileControl(op) ? SQLITE_OK : flushPair(p, 0);
  if( rc!=SQLITE_OK ) return rc;
  return p->pReal->pMethods->xFileControl(p->pReal, op, pArg);
}

static int shimShmMap(sqlite3_file *pFile, int iPg, int pgsz, int bExtend, void volatile **pp){
  ShimFile *p = (ShimFile*)pFile;
  int rc = flushPair(p, 0);
  if( rc!=SQLITE_OK ) return rc;
  return p->pReal->pMethods->xShmMap(p->pReal, iPg, pgsz, bExtend, pp);
}

static int shimShmLock(sqlite3_file *pFile, int offset, int n, int flags){
  ShimFile *p = (ShimFile*)pFile;
  int rc = flushPair(p, 0);
  if( rc!=SQLITE_OK ) return rc;
  return p->pReal->pMethods->xShmLock(p->pReal, offset, n, flags);
}

static void shimShmBarrier(sqlite3_file *pFile){
  ShimFile *p = (ShimFile*)pFile;
  flushPair(p, 0);
  p->pReal->pMethods->xShmBarrier(p->pReal);
}

static int shimShmUnmap(sqlite3_file *pFile, int deleteFlag){
  ShimFile *p = (ShimFile*)pFile;
  int rc = flushPair(p, 0);
  if( rc!=SQLITE_OK ) return rc;
  return p->pReal->pMethods->xShmUnmap(p->pReal, deleteFlag);
}

static int shimFetch(sqlite3_file *pFile, sqlite3_int64 iOfst, int iAmt, void **pp){
  ShimFile *p = (ShimFile*)pFile;
  int rc = flushRun(p, 1);
  if( rc!=SQLITE_OK ) return rc;
  return p->pReal->pMethods->xFetch(p->pReal, iOfst, iAmt, pp);
}

static int shimUnfetch(sqlite3_file *pFile, sqlite3_int64 iOfst, void *pPage){
  ShimFile *p = (ShimFile*)pFile;
  return p->pReal->pMethods->xUnfetch(p->pReal, iOfst, pPage);
}

static const sqlite3_io_methods shimIoMethods = {
  3,
  shimClose,
  shimRead,
  shimWrite,
  shimTruncate,
  shimSync,
  shimFileSize,
  shimLock,
  shimUnlock,
  shimCheckReservedLock,
  shimFileControl,
  shimSectorSize,
  shimDeviceCharacteristics,
  shimShmMap,
  shimShmLock,
  shimShmBarrier,
  shimShmUnmap,
  shimFetch,
  shimUnfetch,
};

static int shimOpen(sqlite3_vfs *pVfs, const char *zName, sqlite3_file *pFile, int flags, int *pOutFlags){
  ShimFile *p = (ShimFile*)pFile;
  int rc;
  (void)pVfs;
  memset(p, 0, sizeof(*p));
  p->pReal = (sqlite3_file*)&p[1];
  p->iDiskSize = -1;
  rc = pUnix->xOpen(pUnix, zName, p->pReal, flags, pOutFlags);
  if( rc!=SQLITE_OK || p->pReal->pMethods==0 ){
    /* unix leaves pMethods NULL on failure; so must we, or SQLite would call our xClose. */
    return rc;
  }
  /* Every unix io_methods is version 3; anything older is not shimmed. */
  if( p->pReal->pMethods->iVersion<3 ){
    p->pReal->pMethods->xClose(p->pReal);
    return SQLITE_CANTOPEN;
  }
  p->base.pMethods = &shimIoMethods;
  if( (flags & SQLITE_OPEN_MAIN_JOURNAL) && zName ){
    /* The pager passes its own journal name, so its database file can be found (and is one of ours). */
    ShimFile *pDb = (ShimFile*)sqlite3_database_file_object(zName);
    p->isJournal = 1;
    if( pDb && pDb->base.pMethods==&shimIoMethods && pDb->pJournal==0 ){
      p->pDb = pDb;
      pDb->pJournal = p;
    }
  }
  return SQLITE_OK;
}

static int shimDelete(sqlite3_vfs *pVfs, const char *zName, int syncDir){
  (void)pVfs;
  return pUnix->xDelete(pUnix, zName, syncDir);
}
static int shimAccess(sqlite3_vfs *pVfs, const char *zName, int flags, int *pResOut){
  (void)pVfs;
  return pUnix->xAccess(pUnix, zName, flags, pResOut);
}
static int shimFullPathname(sqlite3_vfs *pVfs, const char *zName, int nOut, char *zOut){
  (void)pVfs;
  return pUnix->xFullPathname(pUnix, zName, nOut, zOut);
}
static void *shimDlOpen(sqlite3_vfs *pVfs, const char *zPath){
  (void)pVfs;
  return pUnix->xDlOpen(pUnix, zPath);
}
static void shimDlError(sqlite3_vfs *pVfs, int nByte, char *zErrMsg){
  (void)pVfs;
  pUnix->xDlError(pUnix, nByte, zErrMsg);
}
static void (*shimDlSym(sqlite3_vfs *pVfs, void *pH, const char *zSym))(void){
  (void)pVfs;
  return pUnix->xDlSym(pUnix, pH, zSym);
}
static void shimDlClose(sqlite3_vfs *pVfs, void *pHandle){
  (void)pVfs;
  pUnix->xDlClose(pUnix, pHandle);
}
static int shimRandomness(sqlite3_vfs *pVfs, int nByte, char *zOut){
  (void)pVfs;
  return pUnix->xRandomness(pUnix, nByte, zOut);
}
static int shimSleep(sqlite3_vfs *pVfs, int microseconds){
  (void)pVfs;
  return pUnix->xSleep(pUnix, microseconds);
}
static int shimCurrentTime(sqlite3_vfs *pVfs, double *pTime){
  (void)pVfs;
  return pUnix->xCurrentTime(pUnix, pTime);
}
static int shimGetLastError(sqlite3_vfs *pVfs, int n, char *z){
  (void)pVfs;
  return pUnix->xGetLastError(pUnix, n, z);
}
static int shimCurrentTimeInt64(sqlite3_vfs *pVfs, sqlite3_int64 *pTime){
  (void)pVfs;
  return pUnix->xCurrentTimeInt64(pUnix, pTime);
}
static int shimSetSystemCall(sqlite3_vfs *pVfs, const char *zName, sqlite3_syscall_ptr pNew){
  (void)pVfs;
  return pUnix->xSetSystemCall(pUnix, zName, pNew);
}
static sqlite3_syscall_ptr shimGetSystemCall(sqlite3_vfs *pVfs, const char *zName){
  (void)pVfs;
  return pUnix->xGetSystemCall(pUnix, zName);
}
static const char *shimNextSystemCall(sqlite3_vfs *pVfs, const char *zName){
  (void)pVfs;
  return pUnix->xNextSystemCall(pUnix, zName);
}

static sqlite3_vfs shimVfs = {
  3, 0, 0, 0, "unix-journal", 0,
  shimOpen, shimDelete, shimAccess, shimFullPathname,
  shimDlOpen, shimDlError, shimDlSym, shimDlClose,
  shimRandomness, shimSleep, shimCurrentTime, shimGetLastError,
  shimCurrentTimeInt64, shimSetSystemCall, shimGetSystemCall, shimNextSystemCall,
};

/* SQLITE_EXTRA_INIT: runs once at the end of sqlite3_initialize(). */
int ironclaw_journal_vfs_init(const char *unused){
  (void)unused;
  if( pUnix ) return SQLITE_OK;
  pUnix = sqlite3_vfs_find("unix");
  if( pUnix==0 || pUnix->iVersion<3 ) return SQLITE_ERROR;
  shimVfs.szOsFile = (int)sizeof(ShimFile) + pUnix->szOsFile;
  shimVfs.mxPathname = pUnix->mxPathname;
  return sqlite3_vfs_register(&shimVfs, 1);
}
