/*
 * Fork check for libsqlcipher's page-IV random pool (scripts/sqlcipher/rand_pool.c).
 * Usage: rand_fork_check LIB. Draws from ironclaw_rand_bytes (filling the pool),
 * then for a fork() and for a raw clone() (which runs no atfork handler) prints
 * "<how> <parent's next 64 bytes> <child's first 64 bytes>" in hex: a child that
 * served the parent's pool would print the same bytes twice.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*rand_fn)(unsigned char *, int);

static void hex(const unsigned char *bytes, int n) {
  for (int i = 0; i < n; i++) printf("%02x", bytes[i]);
}

static int draw_across(rand_fn rand_bytes, const char *how, int raw_clone) {
  int pipe_fds[2];
  unsigned char mine[64], theirs[64];
  if (pipe(pipe_fds) != 0) return 1;
  fflush(stdout);
  pid_t pid = raw_clone ? (pid_t)syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0) : fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    int ok = rand_bytes(theirs, 64) == 1 && write(pipe_fds[1], theirs, 64) == 64;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  int ok = rand_bytes(mine, 64) == 1 && read(pipe_fds[0], theirs, 64) == 64;
  waitpid(pid, &status, 0);
  if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  printf("%s ", how);
  hex(mine, 64);
  printf(" ");
  hex(theirs, 64);
  printf("\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  void *lib = dlopen(argv[1], RTLD_NOW);
  rand_fn rand_bytes = lib ? (rand_fn)dlsym(lib, "ironclaw_rand_bytes") : NULL;
  if (rand_bytes == NULL) {
    fprintf(stderr, "no ironclaw_rand_bytes in %s\n", argv[1]);
    return 2;
  }
  unsigned char first[32];
  if (rand_bytes(first, 32) != 1) return 1;
  return draw_across(rand_bytes, "fork", 0) || draw_across(rand_bytes, "clone", 1);
}
