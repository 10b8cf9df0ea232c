/**
 * Stateless validation of raw transaction records (every check of the repository's ARCHITECTURE.md that
 * needs no state), the JSON of dead-letter records, and the routing of each parsed record: valid
 * transactions on to the engine, failures to dead-letter. The stateful checks (duplicates, lifecycle) live
 * in the engine.
 */
package io.finlake.flinkjob.validate;
