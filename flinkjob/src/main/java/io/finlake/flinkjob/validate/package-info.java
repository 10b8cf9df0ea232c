/**
 * Stateless validation of raw transaction records (every check of ARCHITECTURE.md that needs no state)
 * and the JSON of dead-letter records. The stateful checks (duplicates, lifecycle) live in the engine.
 */
package io.finlake.flinkjob.validate;
