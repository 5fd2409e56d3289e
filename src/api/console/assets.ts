/**
 * The console's static files, held as strings so the compiled binary serves
 * them with no file beside it. The Content-Security-Policy allows scripts and
 * styles from these paths only: no inline code, no CDN.
 *
 * @module
 */

/** The stylesheet: one column on a phone, a top bar with the pages. */
export const CONSOLE_CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #f6f7f9; --card: #fff; --line: #d5d9de; --accent: #0b5cad;
  --add: #e6f4ea; --add-fg: #0f5223; --del: #fdecea; --del-fg: #8a1c12; --muted: #5b636d; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --bg: #14171b; --card: #1d2126; --line: #353b43;
  --accent: #6cb0ff; --add: #15321f; --add-fg: #9be3b0; --del: #3a1a17; --del-fg: #ffb4aa; --muted: #9aa3ad; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg);
  overflow-wrap: break-word; }
a { color: var(--accent); }
.skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: var(--card); padding: 4px; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; padding: 10px 16px;
  background: var(--card); border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; text-decoration: none; color: var(--fg); }
nav { display: flex; flex-wrap: wrap; gap: 4px 12px; flex: 1; }
nav a { text-decoration: none; padding: 4px 6px; border-radius: 6px; }
nav a[aria-current="page"] { background: var(--bg); font-weight: 600; }
.badge { display: inline-block; min-width: 1.4em; padding: 0 6px; margin-left: 4px; border-radius: 999px;
  background: #c62828; color: #fff; font-size: 0.8em; text-align: center; }
main { max-width: 960px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.4em; margin: 0.2em 0 0.6em; }
h2 { font-size: 1.2em; }
.card > :first-child { margin-top: 0; }
@media (max-width: 640px) {
  header nav { order: 3; flex-basis: 100%; }
  header form { margin-left: auto; }
  main { padding: 12px; }
}
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px; margin: 0 0 14px; }
.meta { color: var(--muted); font-size: 0.9em; }
.notice { padding: 10px 14px; border-radius: 8px; background: var(--add); color: var(--add-fg); margin-bottom: 14px; }
.notice.error { background: var(--del); color: var(--del-fg); }
.diff { font: 13px/1.4 ui-monospace, monospace; border: 1px solid var(--line); border-radius: 6px; overflow-x: auto;
  margin: 10px 0; padding: 6px 0; }
.diff div { white-space: pre-wrap; overflow-wrap: anywhere; padding: 0 10px; }
.diff .added { background: var(--add); color: var(--add-fg); }
.diff .removed { background: var(--del); color: var(--del-fg); }
.actions { display: flex; gap: 8px; flex-wrap: wrap; }
button, input, select, textarea { font: inherit; }
button { padding: 8px 14px; border-radius: 8px; border: 1px solid var(--line); background: var(--card); color: var(--fg);
  cursor: pointer; min-height: 40px; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button:focus-visible, a:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible {
  outline: 3px solid var(--accent); outline-offset: 2px; }
label { display: block; font-weight: 600; margin: 8px 0 4px; }
input[type="password"], input[type="text"], select, textarea { width: 100%; padding: 8px; border-radius: 8px;
  border: 1px solid var(--line); background: var(--bg); color: var(--fg); }
table { width: 100%; border-collapse: collapse; font-size: 0.92em; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
.table-wrap { overflow-x: auto; }
.login { max-width: 420px; margin: 10vh auto; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
fieldset { border: 1px solid var(--line); border-radius: 8px; margin: 10px 0; padding: 6px 12px; }
legend { font-weight: 600; padding: 0 4px; }
label.choice { display: flex; gap: 8px; align-items: flex-start; font-weight: normal; margin: 8px 0; }
label.choice input { margin-top: 4px; flex: none; }
label.choice .meta { display: block; }
.held { color: var(--add-fg); } .fallen { color: var(--del-fg); }
.tools h3 { font-size: 1em; margin: 10px 0 6px; }
.tool { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; margin: 6px 0; }
.tool summary { cursor: pointer; }
pre { font: 13px/1.4 ui-monospace, monospace; overflow-x: auto; margin: 4px 0; }
.chat .log { display: flex; flex-direction: column; gap: 8px; max-height: 60vh; overflow-y: auto; margin-bottom: 8px; }
.msg { padding: 8px 12px; border-radius: 10px; max-width: 85%; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg.me { align-self: flex-end; background: var(--accent); color: #fff; }
.msg.agent { align-self: flex-start; background: var(--bg); border: 1px solid var(--line); }
.msg.error { align-self: stretch; background: var(--del); color: var(--del-fg); }
`;

/** The tab icon (served so the browser does not ask for a missing `/favicon.ico`). */
export const CONSOLE_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">` +
  `<rect width="16" height="16" rx="3" fill="#0b5cad"/><path d="M4 11V5l4 3 4-3v6" stroke="#fff" ` +
  `stroke-width="1.6" fill="none"/></svg>`;

/**
 * The console's only script. Chat: sends with `fetch` (the form's CSRF
 * token goes along), then long-polls the drain, acknowledging each reply it
 * showed with `after=<seq>` on the next poll, so a reply is never lost.
 */
export const CONSOLE_JS = `"use strict";
(() => {
  const chat = document.getElementById("chat");
  if (!chat) return;
  const agent = chat.dataset.agent;
  const log = chat.querySelector("[data-log]");
  const status = chat.querySelector("[data-status]");
  const form = chat.querySelector("form[data-send]");
  const text = form.querySelector("textarea");
  let after = 0;
  let since = 0;
  const show = (who, content) => {
    const line = document.createElement("div");
    line.className = "msg " + who;
    line.textContent = content;
    log.append(line);
    log.scrollTop = log.scrollHeight;
  };
  const tick = () => {
    status.textContent = since ? "working… (" + Math.round((Date.now() - since) / 1000) + " s)" : "";
  };
  setInterval(tick, 1000);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = new URLSearchParams(new FormData(form));
    if (!text.value.trim()) return;
    try {
      const answer = await fetch("/ui/chat/send", { method: "POST", body });
      const sent = await answer.json();
      if (!answer.ok) return show("error", sent.error);
      show("me", text.value.trim());
      text.value = "";
      if (sent.engaged) since = since || Date.now();
      else show("error", "Not delivered: " + sent.reason);
      tick();
    } catch (err) {
      show("error", "Not sent: " + err.message);
    }
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  const poll = async () => {
    for (;;) {
      try {
        const query = "agent=" + encodeURIComponent(agent) + (after ? "&after=" + after : "");
        const answer = await fetch("/ui/chat/drain?" + query);
        if (answer.status === 401) return location.assign("/ui/login");
        if (!answer.ok) throw new Error(String(answer.status));
        for (const reply of (await answer.json()).messages) {
          show("agent", reply.content);
          after = reply.seq;
          since = 0;
        }
        tick();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  };
  poll();
})();
`;
