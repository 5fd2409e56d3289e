/*
 * SQLCipher's random bytes without a syscall per encrypted page.
 *
 * SQLCipher (OpenSSL provider) calls RAND_bytes for every page it encrypts
 * (the page's IV and reserve, 80 bytes), and OpenSSL 3's DRBG calls getpid()
 * at every call (its fork check): one syscall per page, 0.1-0.2 ms of CPU
 * each under gVisor's ptrace platform. The amalgamation is compiled with
 * -DRAND_bytes=ironclaw_rand_bytes, so its one call site lands here; nothing
 * else in the process is redirected.
 *
 * The bytes handed out are OpenSSL's own DRBG output, unchanged: a pool is
 * filled by one RAND_bytes call and served in order, so the randomness is
 * exactly today's, fetched in larger requests (one getpid per refill, not per
 * page). No new generator is built here.
 *   - A refill failure is a hard error (0, as RAND_bytes reports it; SQLCipher
 *     then fails the write), never a weaker fallback.
 *   - Served bytes are wiped from the pool, so a later memory read cannot
 *     recover earlier IVs.
 *   - A forked child never serves the parent's pool: a pthread_atfork child
 *     handler empties it, and the pool's pages are MADV_WIPEONFORK where the
 *     kernel allows it, so even a raw clone() child (no atfork handlers) finds
 *     it empty. The child's refill then goes through OpenSSL's own fork check,
 *     which reseeds the child's DRBG.
 *   - One mutex serialises it (SQLITE_THREADSAFE=1); the fork handlers take
 *     it, so a fork never catches a half-served pool.
 */
#undef RAND_bytes /* this file calls the real one */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

/* One mapping: the count of unserved bytes lives in the same wipe-on-fork
   pages as the bytes, so a child sees 0 left without any handler running. */
#define POOL_MAP_SIZE 16384
typedef struct {
  size_t left; /* unserved bytes, at the end of bytes[] */
  unsigned char bytes[POOL_MAP_SIZE - 64];
} rand_pool;

static rand_pool *pool;
static pthread_mutex_t pool_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void pool_lock(void) { pthread_mutex_lock(&pool_mutex); }
static void pool_unlock(void) { pthread_mutex_unlock(&pool_mutex); }

static void pool_forget(void) {
  if (pool != NULL) {
    OPENSSL_cleanse(pool, sizeof(*pool));
  }
}

static void pool_fork_child(void) {
  pool_forget();
  pool_unlock();
}

static void pool_init(void) {
  void *map = mmap(NULL, POOL_MAP_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) return; /* pool stays NULL: every call fails */
#ifdef MADV_WIPEONFORK
  (void)madvise(map, POOL_MAP_SIZE, MADV_WIPEONFORK); /* best effort: the atfork handler covers fork() */
#endif
  if (pthread_atfork(pool_lock, pool_unlock, pool_fork_child) != 0) {
    munmap(map, POOL_MAP_SIZE);
    return;
  }
  pool = map;
}

/* RAND_bytes' contract: 1 when buf holds num random bytes, 0 on failure. */
int ironclaw_rand_bytes(unsigned char *buf, int num) {
  if (num < 0) return 0;
  pthread_once(&pool_once, pool_init);
  if (pool == NULL) return 0;
  pool_lock();
  while (num > 0) {
    if (pool->left == 0) {
      if (RAND_bytes(pool->bytes, (int)sizeof(pool->bytes)) != 1) {
        pool_forget();
        pool_unlock();
        return 0;
      }
      pool->left = sizeof(pool->bytes);
    }
    size_t take = (size_t)num < pool->left ? (size_t)num : pool->left;
    unsigned char *from = pool->bytes + sizeof(pool->bytes) - pool->left;
    memcpy(buf, from, take);
    OPENSSL_cleanse(from, take);
    pool->left -= take;
    buf += take;
    num -= (int)take;
  }
  pool_unlock();
  return 1;
}
