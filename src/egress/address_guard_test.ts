import assert from "node:assert/strict";
import {
  checkTarget,
  EgressRefused,
  isPublicAddress,
  parseAllowPrivate,
  PrivateAllowance,
  type Resolver,
} from "./address_guard.ts";

const noDns: Resolver = () => Promise.reject(new Error("a literal must not be looked up"));
const nobody = new PrivateAllowance();

Deno.test("every inward spelling is refused after parsing, without a lookup", async () => {
  const spellings = [
    "http://127.0.0.1/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://017700000001/",
    "http://127.1/",
    "http://0177.0.0.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[0:0:0:0:0:ffff:169.254.169.254]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://[fc00::1]/",
    "http://[ff02::1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "https://198.18.0.1/",
  ];
  for (const spelling of spellings) {
    await assert.rejects(
      checkTarget(new URL(spelling), { resolve: noDns, allowPrivate: nobody }),
      EgressRefused,
      spelling,
    );
  }
});

Deno.test("ipaddr reads odd spellings a URL parser would not have normalised", () => {
  for (const a of ["0x7f000001", "2130706433", "127.1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"]) {
    assert.equal(isPublicAddress(a), false, a);
  }
  assert.equal(isPublicAddress("not an address"), false);
  assert.equal(isPublicAddress("93.184.216.34"), true);
  assert.equal(isPublicAddress("2606:4700::1111"), true);
});

Deno.test("a name is checked after resolution: any inward answer refuses it, a public one passes", async () => {
  const dns: Record<string, string[]> = {
    "inward.test": ["127.0.0.1"],
    "metadata.test": ["169.254.169.254"],
    "mixed.test": ["93.184.216.34", "10.0.0.7"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "public.test": ["93.184.216.34", "2606:2800:220:1::1"],
  };
  const resolve: Resolver = (name) => Promise.resolve(dns[name] ?? []);
  for (const name of ["inward.test", "metadata.test", "mixed.test", "mapped.test"]) {
    await assert.rejects(
      checkTarget(new URL(`https://${name}/`), { resolve, allowPrivate: nobody }),
      /only public addresses/,
      name,
    );
  }
  await assert.rejects(
    checkTarget(new URL("https://nxdomain.test/"), { resolve, allowPrivate: nobody }),
    /does not resolve/,
  );
  assert.deepEqual(await checkTarget(new URL("https://Public.test/x"), { resolve, allowPrivate: nobody }), {
    hostname: "public.test",
    port: 443,
    address: "93.184.216.34",
  });
});

Deno.test("the operator's exception is exact host:port and covers nothing else", async () => {
  const allowPrivate = new PrivateAllowance(parseAllowPrivate("127.0.0.1:8080, [::1]:9000,svc.internal:81"));
  const resolve: Resolver = () => Promise.resolve(["10.1.2.3"]);
  const ok = (u: string) => checkTarget(new URL(u), { resolve, allowPrivate });
  assert.equal((await ok("http://127.0.0.1:8080/")).address, "127.0.0.1");
  // Another spelling of the same address and port is the same destination.
  assert.equal((await ok("http://0x7f000001:8080/")).address, "127.0.0.1");
  assert.equal((await ok("http://[::1]:9000/")).address, "::1");
  assert.equal((await ok("http://SVC.internal:81/")).address, "10.1.2.3");
  for (const u of ["http://127.0.0.1:8081/", "http://127.0.0.1/", "http://[::1]:8080/"]) {
    await assert.rejects(ok(u), EgressRefused, u);
  }
});

Deno.test("--egress-allow-private needs HOST:PORT, with a one-line error", () => {
  assert.deepEqual(parseAllowPrivate("LOCALHOST:80,[0:0::1]:5"), ["localhost:80", "[::1]:5"]);
  for (const bad of ["127.0.0.1", "a:b", "http://x:1", "x:1/path", "u@x:1"]) {
    assert.throws(() => parseAllowPrivate(bad), /is not HOST:PORT/, bad);
  }
});
