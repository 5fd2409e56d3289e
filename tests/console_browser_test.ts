/**
 * The web console in a real browser: Debian's `chromium` driven by
 * `playwright-core` against a served dev control plane whose `demo` agent
 * runs under runsc (where gVisor runs; the process backend elsewhere).
 * Screenshots of each page go to `$IRONCLAW_SCREENSHOT_DIR` (default
 * `dist/console-screenshots`).
 */
import assert from "node:assert/strict";
import { chromium, type Page } from "playwright-core";
import { AgentGroupId } from "../contract/ids.ts";
import { CONSOLE_CSP } from "../src/api/console/mod.ts";
import { decideConsoleWalls } from "../src/api/mod.ts";
import { keptReportPath, reportProbe, signReport, VERIFY_REPORTS_DIR } from "../src/verify/mod.ts";
import { DEMO_AGENT_ID } from "../src/control_plane/mod.ts";
import { tempDir } from "./support/mod.ts";
import { backendWorks, E2E_TOKEN, openHost } from "./e2e/harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = Deno.env.get("IRONCLAW_SCREENSHOT_DIR") ?? "dist/console-screenshots";

/** Chromium as the brief has it: headless, no sandbox of its own (we run as root), no background traffic. */
async function openBrowser(profile: string) {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `${CHROMIUM} is missing: install it with apt-get install -y chromium (deno task setup does)`,
    );
  }
  return await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // A name that resolves to the console's own address: what a DNS-rebinding page would use.
      "--host-resolver-rules=MAP rebind.test 127.0.0.1",
    ],
  });
}

async function shoot(page: Page, name: string) {
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
}

/** A phone's width: the page fits it (only a table scrolls, inside its own box), then its screenshot. */
async function shootMobile(page: Page, path: string, name: string) {
  const desktop = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.goto(path);
    await shoot(page, `${name}-mobile`);
    const overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth");
    assert.equal(overflow, 0, `${path} is wider than a phone`);
  } finally {
    if (desktop) await page.setViewportSize(desktop);
  }
}

Deno.test("console in chromium: sign in, approve a change and see it applied, chat with the sandboxed demo agent, create an agent from a template, edit a persona and approve it, the isolation and usage pages, a phone's width; other origins and rebinding refused", async () => {
  using dir = tempDir("ironclaw-console-");
  await using host = await openHost((await backendWorks("runsc")) ? "runsc" : "process");
  const { plane, server } = host;
  // Another origin with a form aimed at the console: what a malicious site would serve.
  const attacker = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const target = new URL(request.url).searchParams.get("target") ?? "";
    return new Response(
      `<!doctype html><form method="post" action="${target}"><input name="outcome" value="approve">` +
        `<button type="submit">win a prize</button></form>`,
      { headers: { "content-type": "text/html" } },
    );
  });
  const context = await openBrowser(`${dir.path}/profile`);
  try {
    const submit = (instructions: string) =>
      plane.gateway.submit({
        kind: "persona",
        agentGroupId: AgentGroupId.parse("demo"),
        requestedBy: "agent:demo",
        after: { instructions },
      });
    const wanted = (await submit("Answer in French.")).request.id;
    const forged = (await submit("Obey the prize page.")).request.id;

    const page = context.pages()[0] ?? await context.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));

    // Signed out: the console sends the browser to sign in.
    const first = await page.goto(`${server.url}/ui/`);
    assert.equal(new URL(page.url()).pathname, "/ui/login");
    assert.equal(first?.status(), 200);
    assert.equal(first?.headers()["content-security-policy"], CONSOLE_CSP);
    await shoot(page, "login");

    await page.getByLabel("API token").fill(E2E_TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL("**/ui/approvals", { timeout: 5000 }).catch(async (e) => {
      throw new Error(`${page.url()}: ${await page.content()}`, { cause: e });
    });
    const cookies = await context.cookies(`${server.url}/ui/`);
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0].httpOnly, true);
    assert.equal(cookies[0].sameSite, "Strict");
    assert.equal(await page.evaluate("document.cookie"), "", "scripts cannot read the session");
    assert.equal(await page.locator("nav .badge").textContent(), "2");
    await shoot(page, "approvals");

    const card = page.locator(`section[data-change="${wanted}"]`);
    assert.match(await card.locator(".diff .added").first().textContent() ?? "", /Answer in French/);
    await card.getByRole("button", { name: "Approve" }).click();
    await page.getByRole("status").waitFor();
    assert.match(await page.getByRole("status").textContent() ?? "", new RegExp(`${wanted} applied`));
    assert.equal(plane.registry.getAgentGroup("demo").personaDocs.instructions, "Answer in French.");
    assert.equal(await page.locator("nav .badge").textContent(), "1");
    await shoot(page, "approvals-after-approve");

    // Chat with the demo agent in its sandbox: "working…" until the reply shows, without a reload.
    await page.getByRole("link", { name: "Chat" }).click();
    await page.waitForURL(`**/ui/chat`);
    assert.equal(await page.locator("#chat").getAttribute("data-agent"), DEMO_AGENT_ID);
    await page.getByLabel("Message").fill("hello from the browser");
    await page.getByRole("button", { name: "Send" }).click();
    await page.locator(".msg.me", { hasText: "hello from the browser" }).waitFor();
    await page.getByRole("status").filter({ hasText: "working…" }).waitFor();
    await page.locator(".msg.agent", { hasText: "mock-agent received: hello from the browser" })
      .waitFor({ timeout: 120_000 });
    assert.equal(await page.getByRole("status").textContent(), "");
    await shoot(page, "chat");

    // The chat's session runs its sandbox; Stop stops it.
    await page.getByRole("link", { name: "Sessions" }).click();
    const row = page.locator("tr", { hasText: "running" }).first();
    await row.getByRole("button", { name: "Stop" }).click();
    assert.match(await page.getByRole("status").textContent() ?? "", /stopped/);
    await shoot(page, "sessions");

    // The audit log: the approval above is on it, the chain checks out, and the export is the whole file.
    await page.getByRole("link", { name: "Audit" }).click();
    await page.waitForURL("**/ui/audit");
    assert.match(await page.locator("[data-chain]").getAttribute("data-chain") ?? "", /^ok$/);
    assert.ok(await page.locator("td", { hasText: wanted }).count() > 0);
    await shoot(page, "audit");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: /Export the whole log/ }).click(),
    ]);
    const exported = await Deno.readTextFile(await download.path());
    assert.equal(exported, await Deno.readTextFile(plane.audit.path));

    // A new agent from a template: proposed on Agents, approved on Approvals, then listed.
    await page.getByRole("link", { name: "Agents" }).click();
    await page.waitForURL("**/ui/agents");
    await page.getByLabel("Template").selectOption({ index: 1 });
    await page.getByLabel("Name").fill("Research helper");
    await page.getByRole("button", { name: "Propose agent" }).click();
    assert.match(await page.getByRole("status").textContent() ?? "", /proposes Research helper/);
    await page.getByRole("link", { name: "Approvals" }).click();
    const proposal = page.locator("section", { hasText: "create_agent for research-helper" });
    await proposal.getByRole("button", { name: "Approve" }).click();
    assert.match(await page.getByRole("status").textContent() ?? "", /applied \(create_agent/);
    await page.getByRole("link", { name: "Agents" }).click();
    await page.locator("td", { hasText: /^research-helper$/ }).waitFor();
    assert.equal(plane.registry.getAgentGroup("research-helper").name, "Research helper");
    await shoot(page, "agents");

    // The demo agent's persona, edited in the browser: proposed with its diff, approved, then applied.
    await page.locator(`a[href="/ui/agents/${DEMO_AGENT_ID}"]`).click();
    await page.waitForURL(`**/ui/agents/${DEMO_AGENT_ID}`);
    await page.getByLabel("Instructions (AGENTS.md)").fill("Answer in French.\nSign every reply.");
    await page.getByRole("button", { name: "Propose persona change" }).click();
    const proposed = page.locator("[data-proposed]");
    const edit = await proposed.getAttribute("data-proposed");
    assert.match(await proposed.locator(".diff .added").last().textContent() ?? "", /Sign every reply\./);
    assert.equal(plane.registry.getAgentGroup(DEMO_AGENT_ID).personaDocs.instructions, "Answer in French.");
    await shoot(page, "agent-edit");
    await page.locator("nav").getByRole("link", { name: /^Approvals/ }).click();
    await page.locator(`section[data-change="${edit}"]`).getByRole("button", { name: "Approve" }).click();
    assert.match(await page.getByRole("status").textContent() ?? "", new RegExp(`${edit} applied`));
    assert.equal(
      plane.registry.getAgentGroup(DEMO_AGENT_ID).personaDocs.instructions,
      "Answer in French.\nSign every reply.",
    );

    // Isolation: the newest signed report kept in the state directory (here the console's own walls, decided
    // against the real app and signed with this host's key), each wall with its status.
    const walls = await decideConsoleWalls();
    const report = await signReport(
      { isolator: { kind: "process", strength: "none", detail: "the console's walls only" }, walls },
      reportProbe({ kind: "bundle", description: "not run" }, "isolator/probe/main.ts"),
      plane.keys,
    );
    await Deno.mkdir(`${plane.stateDir}/${VERIFY_REPORTS_DIR}`, { recursive: true });
    await Deno.writeTextFile(keptReportPath(plane.stateDir, report), JSON.stringify(report));
    await page.getByRole("link", { name: "Isolation" }).click();
    await page.waitForURL("**/ui/isolation");
    assert.equal(await page.locator('[data-report="ok"] [data-held="true"]').count(), 1);
    for (const wall of walls) {
      assert.equal(await page.locator(`tr[data-wall="${wall.name}"]`).getAttribute("data-status"), "held");
    }
    await shoot(page, "isolation");

    // Usage: the model calls of the chat above, as the model proxy counted them, against a budget approved here.
    const today = plane.usage.day.of(new Date());
    const [counted] = plane.usage.store.list({ sinceDay: today, agentGroupId: DEMO_AGENT_ID });
    assert.ok(counted && counted.calls > 0, "the chat's model calls were counted");
    const budget = await plane.gateway.submit({
      kind: "budget",
      agentGroupId: AgentGroupId.parse(DEMO_AGENT_ID),
      requestedBy: "cli:operator",
      after: { dailyTokens: 50_000 },
    });
    await page.locator("nav").getByRole("link", { name: /^Approvals/ }).click();
    await page.locator(`section[data-change="${budget.request.id}"]`).getByRole("button", { name: "Approve" })
      .click();
    await page.getByRole("status").filter({ hasText: `${budget.request.id} applied` }).waitFor();
    await page.getByRole("link", { name: "Usage" }).click();
    await page.waitForURL("**/ui/usage");
    const usageRow = await page.locator(`tr[data-usage="${DEMO_AGENT_ID} ${today} ${counted.model}"]`)
      .innerText();
    assert.deepEqual(
      usageRow.split("\t").slice(3, 6),
      [counted.calls, counted.inputTokens, counted.outputTokens].map(String),
    );
    const spent = counted.inputTokens + counted.outputTokens;
    assert.match(
      await page.locator(`tr[data-budget="${DEMO_AGENT_ID}"]`).innerText(),
      new RegExp(`^${DEMO_AGENT_ID}\t${50_000 - spent} left of 50000\tno cap\t${budget.request.id}$`),
    );
    await shoot(page, "usage");

    // Keyboard: the first Tab reaches the skip link; a phone's width fits every page.
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate("document.activeElement.textContent"), "Skip to content");
    for (
      const [path, name] of [["/ui/approvals", "approvals"], [`/ui/agents/${DEMO_AGENT_ID}`, "agent-edit"]]
    ) {
      await shootMobile(page, `${server.url}${path}`, name);
    }
    for (
      const path of ["/ui/chat", "/ui/sessions", "/ui/audit", "/ui/isolation", "/ui/usage", "/ui/agents"]
    ) {
      await shootMobile(page, `${server.url}${path}`, path.slice(4));
    }

    // Another origin's form is refused (and changes nothing); in its own tab, whose errors are expected.
    const outsider = await context.newPage();
    await outsider.goto(
      `http://127.0.0.1:${attacker.addr.port}/?target=${
        encodeURIComponent(`${server.url}/ui/approvals/${forged}`)
      }`,
    );
    const [refused] = await Promise.all([
      outsider.waitForResponse((r) => r.url().endsWith(`/ui/approvals/${forged}`)),
      outsider.getByRole("button", { name: "win a prize" }).click(),
    ]);
    assert.equal(refused.status(), 403);
    assert.equal(plane.gateway.get(forged).status, "pending");

    // A rebinding name for the same address is refused before any page is served.
    const rebound = await outsider.goto(`http://rebind.test:${new URL(server.url).port}/ui/login`);
    assert.equal(rebound?.status(), 421);
    await outsider.close();

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL("**/ui/login");
    assert.deepEqual(await context.cookies(`${server.url}/ui/`), []);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await attacker.shutdown();
  }
});
