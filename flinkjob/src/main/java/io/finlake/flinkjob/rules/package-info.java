/**
 * Fraud rules and the FX table as the job understands them: parsing the alert-rules records (and the
 * YAML files for replay), the immutable rule set in force, and the deterministic alert id.
 */
package io.finlake.flinkjob.rules;
