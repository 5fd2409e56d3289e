/**
 * libc, reached the way a compromised agent would: through the one library
 * its scoped `--allow-ffi` names. `Deno.dlopen(libsqlcipher)` resolves
 * symbols in the library's own dependency scope, which includes libc, so
 * every function here is callable without any pointer operation (those need
 * an unscoped grant): addresses travel as `usize`, and bytes are copied in
 * and out with `memcpy`.
 *
 * @module
 */

const SYMBOLS = {
  copyOut: { name: "memcpy", parameters: ["buffer", "usize", "usize"], result: "usize" },
  copyIn: { name: "memcpy", parameters: ["usize", "buffer", "usize"], result: "usize" },
  strlen: { parameters: ["usize"], result: "usize" },
  errnoLocation: { name: "__errno_location", parameters: [], result: "usize" },
  malloc: { parameters: ["usize"], result: "usize" },
  free: { parameters: ["usize"], result: "void" },
  getpid: { parameters: [], result: "i32" },
  getuid: { parameters: [], result: "u32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  unlink: { parameters: ["buffer"], result: "i32" },
  chmod: { parameters: ["buffer", "u32"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "usize" },
  readdir: { parameters: ["usize"], result: "usize" },
  closedir: { parameters: ["usize"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  ifNameindex: { name: "if_nameindex", parameters: [], result: "usize" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  ptrace: { parameters: ["i64", "i32", "usize", "usize"], result: "i64" },
  dlsym: { parameters: ["usize", "buffer"], result: "usize" },
  pthreadCreate: { name: "pthread_create", parameters: ["buffer", "usize", "usize", "usize"], result: "i32" },
  pthreadCancel: { name: "pthread_cancel", parameters: ["u64"], result: "i32" },
  pthreadJoin: { name: "pthread_join", parameters: ["u64", "usize"], result: "i32" },
  posixSpawn: {
    name: "posix_spawn",
    parameters: ["buffer", "buffer", "usize", "usize", "usize", "usize"],
    result: "i32",
  },
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  fork: { parameters: [], result: "i32" },
  execve: { parameters: ["buffer", "usize", "usize"], result: "i32" },
  exit: { name: "_exit", parameters: ["i32"], result: "void" },
} as const;

/** Linux errno names the probe meets, for readable reports. */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  17: "EEXIST",
  22: "EINVAL",
  24: "EMFILE",
  28: "ENOSPC",
  30: "EROFS",
  38: "ENOSYS",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  101: "ENETUNREACH",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  122: "EDQUOT",
};

/** The name of errno `code` (`errno N` when unnamed). */
export function errnoName(code: number): string {
  return ERRNO_NAMES[code] ?? `errno ${code}`;
}

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_CREAT = 0o100;
const O_APPEND = 0o2000;
const O_CLOEXEC = 0o2000000;

/** The result of a libc call: `ok`, or the errno name it failed with. */
export type Outcome = { ok: true } | { ok: false; error: string };

/** libc through libsqlcipher's dependency scope. */
export class Libc {
  readonly #s: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

  private constructor(symbols: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"]) {
    this.#s = symbols;
  }

  /** Opens `library` (the agent's allowed libsqlcipher) and binds libc's functions through it. */
  static open(library: string): Libc {
    return new Libc(Deno.dlopen(library, SYMBOLS).symbols);
  }

  /** The raw bound functions. */
  get raw(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
    return this.#s;
  }

  /** The current errno, by name. */
  errno(): string {
    return errnoName(this.errnoCode());
  }

  /** The current errno. */
  errnoCode(): number {
    return new Int32Array(this.copyOut(this.#s.errnoLocation(), 4).buffer)[0];
  }

  /** Copies `length` bytes at `address` into a new buffer. */
  copyOut(address: bigint, length: number): Uint8Array<ArrayBuffer> {
    const bytes = new Uint8Array(length);
    if (length > 0) this.#s.copyOut(bytes, address, BigInt(length));
    return bytes;
  }

  /** The NUL-terminated string at `address`. */
  cString(address: bigint): string {
    if (address === 0n) return "";
    return new TextDecoder().decode(this.copyOut(address, Number(this.#s.strlen(address))));
  }

  /** `bytes` copied into fresh C memory (never freed: the probe is short-lived). */
  cMemory(bytes: Uint8Array): bigint {
    const address = this.#s.malloc(BigInt(Math.max(1, bytes.length)));
    if (address === 0n) throw new Error("malloc failed");
    if (bytes.length) this.#s.copyIn(address, bytes as Uint8Array<ArrayBuffer>, BigInt(bytes.length));
    return address;
  }

  /** A NULL-terminated array of C strings in C memory (for argv/envp). */
  cStringArray(items: readonly string[]): bigint {
    const pointers = new BigUint64Array(items.length + 1);
    items.forEach((item, i) => (pointers[i] = this.cMemory(z(item))));
    return this.cMemory(new Uint8Array(pointers.buffer));
  }

  /** Reads up to `limit` bytes of `path` through libc. */
  readFile(path: string, limit = 1 << 20): { ok: true; bytes: Uint8Array } | { ok: false; error: string } {
    const fd = this.#s.open(z(path), O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return { ok: false, error: this.errno() };
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      while (total < limit) {
        const buf = new Uint8Array(Math.min(65536, limit - total));
        const n = Number(this.#s.read(fd, buf, BigInt(buf.length)));
        if (n < 0) return { ok: false, error: `read: ${this.errno()}` };
        if (n === 0) break;
        chunks.push(buf.subarray(0, n));
        total += n;
      }
    } finally {
      this.#s.close(fd);
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) (bytes.set(c, at), at += c.length);
    return { ok: true, bytes };
  }

  /** Appends `bytes` to `path` (creating it when `create`), through libc. */
  appendFile(path: string, bytes: Uint8Array, create = false): Outcome {
    const fd = this.#s.open(z(path), O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT : 0), 0o644);
    if (fd < 0) return { ok: false, error: this.errno() };
    try {
      const n = Number(this.#s.write(fd, bytes as Uint8Array<ArrayBuffer>, BigInt(bytes.length)));
      if (n === bytes.length) return { ok: true };
      return { ok: false, error: n < 0 ? `write: ${this.errno()}` : `short write of ${n} bytes (no space)` };
    } finally {
      this.#s.close(fd);
    }
  }

  /** The names in directory `path`, through libc (`d_name` sits at offset 19 of glibc's dirent64). */
  listDir(path: string): { ok: true; names: string[] } | { ok: false; error: string } {
    const dir = this.#s.opendir(z(path));
    if (dir === 0n) return { ok: false, error: this.errno() };
    const names: string[] = [];
    for (let entry = this.#s.readdir(dir); entry !== 0n; entry = this.#s.readdir(dir)) {
      const name = this.cString(entry + 19n);
      if (name !== "." && name !== "..") names.push(name);
    }
    this.#s.closedir(dir);
    return { ok: true, names };
  }

  /**
   * Connects an `AF_UNIX` stream socket to `path`, with send and receive
   * timeouts of `timeoutMs` so a silent peer cannot stall the probe. The
   * caller closes the descriptor.
   */
  connectUnix(path: string, timeoutMs = 3000): { ok: true; fd: number } | { ok: false; error: string } {
    const address = unixAddress(path);
    if (address === undefined) return { ok: false, error: "ENAMETOOLONG (longer than sun_path)" };
    const fd = this.#s.socket(1, 1, 0);
    if (fd < 0) return { ok: false, error: `socket: ${this.errno()}` };
    const timeout = new BigInt64Array([
      BigInt(Math.floor(timeoutMs / 1000)),
      BigInt((timeoutMs % 1000) * 1000),
    ]);
    const timeval = new Uint8Array(timeout.buffer);
    // SOL_SOCKET 1; SO_RCVTIMEO 20, SO_SNDTIMEO 21 (x86_64 and aarch64).
    for (const option of [20, 21]) this.#s.setsockopt(fd, 1, option, timeval, timeval.length);
    if (this.#s.connect(fd, address, address.length) < 0) {
      const error = this.errno();
      this.#s.close(fd);
      return { ok: false, error: `connect: ${error}` };
    }
    return { ok: true, fd };
  }

  /** Writes `request` to `fd`, then reads until end of stream or `limit` bytes (stops at an error). */
  exchange(fd: number, request: Uint8Array, limit = 1 << 16): Uint8Array {
    const out = request as Uint8Array<ArrayBuffer>;
    for (let sent = 0; sent < out.length;) {
      const n = Number(this.#s.write(fd, out.subarray(sent), BigInt(out.length - sent)));
      if (n <= 0) break;
      sent += n;
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    while (total < limit) {
      const buf = new Uint8Array(Math.min(65536, limit - total));
      const n = Number(this.#s.read(fd, buf, BigInt(buf.length)));
      if (n <= 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) (bytes.set(c, at), at += c.length);
    return bytes;
  }

  /** The interface names `if_nameindex` lists. */
  interfaceNames(): { ok: true; names: string[] } | { ok: false; error: string } {
    const list = this.#s.ifNameindex();
    if (list === 0n) return { ok: false, error: this.errno() };
    const names: string[] = [];
    for (let entry = list;; entry += 16n) {
      const view = new DataView(this.copyOut(entry, 16).buffer);
      if (view.getUint32(0, true) === 0) break;
      names.push(this.cString(view.getBigUint64(8, true)));
    }
    return { ok: true, names };
  }
}

/** `s` as a NUL-terminated C string. */
export function z(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${s}\0`);
}

/** A `sockaddr_in` for 127.0.0.1:`port`. */
export function loopbackAddress(port: number): Uint8Array<ArrayBuffer> {
  const addr = new Uint8Array(16);
  const view = new DataView(addr.buffer);
  view.setUint16(0, 2, true);
  view.setUint16(2, port, false);
  addr.set([127, 0, 0, 1], 4);
  return addr;
}

/**
 * A `sockaddr_un` for `path` (family, then the NUL-terminated path), or
 * undefined when the path does not fit `sun_path`'s 108 bytes.
 */
export function unixAddress(path: string): Uint8Array<ArrayBuffer> | undefined {
  const bytes = new TextEncoder().encode(path);
  if (bytes.length >= 108) return undefined;
  const addr = new Uint8Array(2 + bytes.length + 1);
  new DataView(addr.buffer).setUint16(0, 1, true);
  addr.set(bytes, 2);
  return addr;
}
