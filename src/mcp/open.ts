/**
 * The MCP broker as the control plane opens it: over the plane's grants and
 * connections, with its call audit in the state directory and a log line
 * per call.
 *
 * @module
 */
import { EgressAuditFile } from "../egress/mod.ts";
import { logger } from "../log/mod.ts";
import { McpBroker, type McpBrokerOptions, type McpCallRecord } from "./broker.ts";

/** File name of the MCP call audit inside the state directory. */
export const MCP_AUDIT_FILE = "mcp-audit.jsonl";

/** The broker and its audit file; close both with {@link OpenMcpBroker.close}. */
export interface OpenMcpBroker {
  broker: McpBroker;
  close(): Promise<void>;
}

/** Opens the broker with its audit file (`mcp-audit.jsonl`, 0600, append-only) in `stateDir`. */
export function openMcpBroker(
  stateDir: string,
  options: Pick<McpBrokerOptions, "granted" | "connections">,
): OpenMcpBroker {
  const audit = EgressAuditFile.open<McpCallRecord>(`${stateDir}/${MCP_AUDIT_FILE}`);
  const log = logger("mcp");
  const broker = new McpBroker({
    ...options,
    onAudit: (record) => {
      log.info("call {server}/{tool} of {session}: {outcome} in {ms} ms", {
        ...record,
        outcome: record.ok ? (record.serverError ? "server error" : "ok") : record.error,
      });
      audit.append(record).catch((err) =>
        log.error("mcp audit write failed: {error}", { error: String(err) })
      );
    },
  });
  return {
    broker,
    async close() {
      await broker.close();
      await audit.close();
    },
  };
}
