/**
 * Restores Node's deprecation warnings once grammY has loaded (see
 * {@link ./node_quiet.ts}).
 *
 * @module
 */
import { previousNoDeprecation, warnings } from "./node_quiet.ts";

warnings.noDeprecation = previousNoDeprecation;
